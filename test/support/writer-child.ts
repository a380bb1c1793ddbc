/**
 * A buffered writer under steady load in a process of its own, for
 * test/writer/writer-kill.test.ts to kill with SIGKILL:
 *
 *   node_modules/.bin/tsx test/support/writer-child.ts <postgresql url> <spool file | none>
 *
 * Creates events in rounds of 50, forever. Prints `ack <n> <id>` once an event's
 * `createEvent` has resolved, and `written <total>` each time the store commits a batch.
 */
import { AuditContext, configureAudit, fileSpool, prismaStore } from "../../src";
import { createPrismaClient } from "./archive-fixtures";

async function main(): Promise<void> {
  const [url, spoolPath] = process.argv.slice(2);
  if (!url || !spoolPath) throw new Error("usage: writer-child.ts <postgresql url> <spool file | none>");
  const prisma = createPrismaClient("postgresql", url);
  let written = 0;
  configureAudit({
    store: prismaStore(prisma),
    writeMode: "buffered",
    flushIntervalMs: 50,
    maxBatchSize: 100,
    ...(spoolPath === "none" ? {} : { spool: fileSpool({ path: spoolPath }) }),
    onMetrics: (event) => {
      if (event.type === "written") process.stdout.write(`written ${(written += event.count)}\n`);
    },
    logger: { warn: (message) => process.stderr.write(`${message}\n`) },
  });
  const context = new AuditContext({ extraData: { source: "writer-child" } });
  // Rounds of 50 events at once, as concurrent requests would create them.
  for (let n = 0; ; n += 50) {
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        context.createEvent({ contentType: "Load", objectId: String(n + i) }, { n: n + i }).then((record) => {
          process.stdout.write(`ack ${n + i} ${record.id}\n`);
        }),
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
