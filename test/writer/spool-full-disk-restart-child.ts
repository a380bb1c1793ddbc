/**
 * A file spool on a disk it fills (a 1 MiB tmpfs, as in spool-full-disk-child.ts), whose
 * process is then killed (no close: its lock stays) and started again:
 *
 *   tsx spool-full-disk-restart-child.ts fill <dir>    appends until the disk refuses, exits without closing
 *   tsx spool-full-disk-restart-child.ts drain <dir>   opens the spool again, acknowledges everything
 *
 *   tsx spool-full-disk-restart-child.ts compact <dir> fills it (compactAfterBytes 100 KiB), then acknowledges all (compactions tried on the full disk)
 *   tsx spool-full-disk-restart-child.ts legacy <dir>  an earlier version's spool (head `<offset> <inode>`), the disk then filled by another file, opened and drained
 *
 * Each prints one JSON line: what each step did (`fill`: what it appended).
 */
import { closeSync, ftruncateSync, openSync, statSync, writeFileSync, writeSync } from "node:fs";
import { statfsSync } from "node:fs";
import path from "node:path";
import { fileSpool } from "../../src";

const line = (i: number) => `${String(i).padStart(8, "0")} ${"x".repeat(1000)}`;

async function main(): Promise<void> {
  const [mode, dir] = [process.argv[2]!, process.argv[3]!];
  const file = path.join(dir, "audit.spool");
  const quiet = { warn: () => undefined };
  if (mode === "legacy") {
    writeFileSync(file, Array.from({ length: 300 }, (_, i) => `${line(i)}\n`).join(""));
    writeFileSync(`${file}.compact`, "");
    // Killed in its compaction, before the rename: 100 lines acknowledged.
    writeFileSync(`${file}.head`, `${100 * Buffer.byteLength(`${line(0)}\n`)} ${statSync(`${file}.compact`, { bigint: true }).ino}`);
    const filler = openSync(path.join(dir, "filler"), "w");
    let filled = 0;
    try {
      for (;;) filled += writeSync(filler, Buffer.alloc(4096, 1));
    } catch {
      // One page back: the one the previous process's lock gave back at its close (the new lock takes it): the head's upgrade gets none.
      ftruncateSync(filler, filled - 4096);
      closeSync(filler);
    }
  }
  const spool = fileSpool({ path: file, maxBytes: 64 * 1024 * 1024, ...(mode === "compact" ? { compactAfterBytes: 100 * 1024 } : {}) });
  if (mode === "fill" || mode === "compact") {
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
    if (mode === "fill") {
      // Killed: no close, the lock stays, naming this (soon dead) process.
      process.stdout.write(`${JSON.stringify({ appended, freeBlocksWhenFull: statfsSync(dir).bavail })}\n`);
      process.exit(0);
    }
  }
  // "compact" opened it above; "drain" and "legacy" open it now (the next process).
  const opened = mode === "compact";
  const openError = opened ? "" : await spool.open(quiet).then(
    () => "",
    (error: NodeJS.ErrnoException) => error.code ?? error.message,
  );
  let acked = 0;
  let ackError = "";
  let firstAcked = "";
  if (openError === "") {
    while (spool.count() > 0 && ackError === "") {
      const batch = await spool.peek(100);
      if (acked === 0) firstAcked = batch.lines[0]?.slice(0, 8) ?? "";
      await spool.ack(batch).then(
        () => void (acked += batch.lines.length),
        (error: NodeJS.ErrnoException) => void (ackError = error.code ?? error.message),
      );
    }
    await spool.close();
  }
  const freeBlocks = statfsSync(dir).bavail;
  let reopened: readonly string[] = [];
  if (openError === "") {
    const again = fileSpool({ path: file });
    await again.open(quiet);
    reopened = (await again.peek(10)).lines;
    await again.close();
  }
  process.stdout.write(`${JSON.stringify({ openError, acked, ackError, freeBlocks, reopened, firstAcked: firstAcked.slice(0, 20) })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
