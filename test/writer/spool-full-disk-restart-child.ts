/**
 * A file spool on a disk it fills (a 1 MiB tmpfs, as in spool-full-disk-child.ts), whose
 * process is then killed (no close: its lock stays) and started again:
 *
 *   tsx spool-full-disk-restart-child.ts fill <dir>    appends until the disk refuses, exits without closing
 *   tsx spool-full-disk-restart-child.ts drain <dir>   opens the spool again, acknowledges everything
 *
 * `drain` prints one JSON line: what each step did.
 */
import { statfsSync } from "node:fs";
import path from "node:path";
import { fileSpool } from "../../src";

const line = (i: number) => `${String(i).padStart(8, "0")} ${"x".repeat(1000)}`;

async function main(): Promise<void> {
  const [mode, dir] = [process.argv[2]!, process.argv[3]!];
  const file = path.join(dir, "audit.spool");
  const quiet = { warn: () => undefined };
  const spool = fileSpool({ path: file, maxBytes: 64 * 1024 * 1024 });
  if (mode === "fill") {
    await spool.open(quiet);
    let appended = 0;
    for (const size of [50, 1]) {
      for (let full = false; !full; ) {
        await spool.append(Array.from({ length: size }, (_, i) => line(appended + i))).then(
          () => void (appended += size),
          () => void (full = true),
        );
      }
    }
    // Killed: no close, the lock stays, naming this (soon dead) process.
    process.stdout.write(`${JSON.stringify({ appended, freeBlocksWhenFull: statfsSync(dir).bavail })}\n`);
    process.exit(0);
  }
  const openError = await spool.open(quiet).then(
    () => "",
    (error: NodeJS.ErrnoException) => error.code ?? error.message,
  );
  let acked = 0;
  let ackError = "";
  if (openError === "") {
    while (spool.count() > 0 && ackError === "") {
      const batch = await spool.peek(100);
      await spool.ack(batch).then(
        () => void (acked += batch.lines.length),
        (error: NodeJS.ErrnoException) => void (ackError = error.code ?? error.message),
      );
    }
    await spool.close();
  }
  process.stdout.write(`${JSON.stringify({ openError, acked, ackError })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
