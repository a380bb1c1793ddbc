/** Opens a fileSpool as soon as `<go>` exists; prints "opened" or "refused", holds it until `<go>.stop` exists. */
import { existsSync } from "node:fs";
import { fileSpool } from "../../src";

async function main(): Promise<void> {
  const [spoolPath, go] = process.argv.slice(2);
  while (!existsSync(go!)) await new Promise((resolve) => setImmediate(resolve));
  const spool = fileSpool({ path: spoolPath! });
  try {
    await spool.open({ warn: () => undefined });
    process.stdout.write("opened\n");
  } catch {
    process.stdout.write("refused\n");
    return;
  }
  // Held (as by a live process) until every opener has answered, however slowly each started.
  while (!existsSync(`${go!}.stop`)) await new Promise((resolve) => setTimeout(resolve, 10));
}
void main();
