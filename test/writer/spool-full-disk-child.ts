/**
 * A file spool on a disk it fills (a 1 MiB tmpfs the test mounts in a namespace of its own):
 *
 *   unshare --user --map-root-user --mount sh -c 'mount -t tmpfs -o size=1m tmpfs <dir> && tsx spool-full-disk-child.ts <dir>'
 *
 * Appends until the disk refuses, then acknowledges everything, then appends again.
 * Prints one JSON line: what each step did.
 */
import { statfsSync } from "node:fs";
import path from "node:path";
import { fileSpool } from "../../src";

const line = (i: number) => `${String(i).padStart(8, "0")} ${"x".repeat(1000)}`;

async function main(): Promise<void> {
  const dir = process.argv[2]!;
  const file = path.join(dir, "audit.spool");
  const quiet = { warn: () => undefined };
  const spool = fileSpool({ path: file, maxBytes: 64 * 1024 * 1024 });
  await spool.open(quiet);
  let appended = 0;
  let appendError = "";
  // Batches of 50 lines until one does not fit, then single lines until the last page is taken.
  for (const size of [50, 1]) {
    for (appendError = ""; appendError === ""; ) {
      await spool.append(Array.from({ length: size }, (_, i) => line(appended + i))).then(
        () => void (appended += size),
        (error: NodeJS.ErrnoException) => void (appendError = error.code ?? error.message),
      );
    }
  }
  const { bavail } = statfsSync(dir);
  let acked = 0;
  let ackError = "";
  while (spool.count() > 0 && ackError === "") {
    const batch = await spool.peek(100);
    await spool.ack(batch).then(
      () => void (acked += batch.lines.length),
      (error: NodeJS.ErrnoException) => void (ackError = error.code ?? error.message),
    );
  }
  const appendedAfter = await spool.append(["after the disk was full"]).then(() => "appended", (error: NodeJS.ErrnoException) => error.code ?? error.message);
  await spool.close();
  const again = fileSpool({ path: file });
  await again.open(quiet);
  const reopened = (await again.peek(10)).lines.map((l) => l.slice(0, 30));
  await again.close();
  process.stdout.write(`${JSON.stringify({ appended, appendError, freeBlocksWhenFull: bavail, acked, ackError, appendedAfter, reopened })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
