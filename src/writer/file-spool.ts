import { mkdir, open, readFile, rename, rm, writeFile, type FileHandle } from "node:fs/promises";
import { readFileSync } from "node:fs";
import path from "node:path";
import { AuditConfigError } from "../errors";
import { DEFAULT_SPOOL_MAX_BYTES, type AuditLogger, type AuditSpool, type SpoolBatch } from "./spool";
import { thrownMessage } from "../thrown-message";

/** Options of {@link fileSpool}. */
export interface FileSpoolOptions {
  /** The spool file; `<path>.head` and `<path>.lock` are kept beside it. */
  path: string;
  /** @default 1 GiB */
  maxBytes?: number;
  /**
   * Once this many bytes at the head are acknowledged (and they are at least half
   * the file), the file is rewritten without them, so disk space comes back while
   * the spool is far from full. Whatever this is, the file never grows past
   * `maxBytes` plus the batch being appended (see {@link fileSpool}).
   * @default 64 MiB
   */
  compactAfterBytes?: number;
}

const READ_CHUNK = 1024 * 1024;
/** Default `compactAfterBytes`. */
const COMPACT_AFTER_BYTES = 64 * 1024 * 1024;
const NEWLINE = 0x0a;

/** Whether process `pid` runs; a zombie (killed, not yet reaped) does not. */
function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return !/^[ZX]$/.test(stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3));
  } catch {
    // No /proc here, or no such process: ask the kernel.
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * A spool in one append-only file of checksummed lines (with `integrity`, each with an
 * HMAC too; a line refused at replay for its MAC is moved to `<path>.refused`). Appends are written and
 * `fdatasync`ed before they resolve; how far the file has been replayed is kept in
 * `<path>.head` (written to a temporary file, synced, renamed). A crash can at most
 * replay lines again, which the store skips as ids it holds already. A lock file
 * keeps a second process off the same spool.
 *
 * Acknowledged (or dropped) lines stay at the head of the file until it is
 * compacted: rewritten, a chunk at a time, without them. So that the file stays
 * within `maxBytes` plus one batch however long an outage lasts and whatever
 * `onSpoolFull` does, an append that finds the file already past `maxBytes`
 * compacts it first. Compacting writes the waiting lines (at most `maxBytes`) to
 * `<path>.compact` beside it for a moment; a full spool under `"drop-oldest"` is
 * compacted about every second batch, each time copying its waiting lines.
 *
 * @example
 * ```ts
 * configureAudit({ store: prismaStore(prisma), writeMode: "buffered", spool: fileSpool({ path: "/var/spool/myapp/audit.log" }) });
 * ```
 * @throws {AuditConfigError} for a missing path, a bad `maxBytes` or a bad `compactAfterBytes`.
 */
export function fileSpool(options: FileSpoolOptions): AuditSpool {
  if (typeof options?.path !== "string" || options.path.length === 0) {
    throw new AuditConfigError('fileSpool() needs a path, such as fileSpool({ path: "/var/spool/myapp/audit.log" }).');
  }
  const maxBytes = options.maxBytes ?? DEFAULT_SPOOL_MAX_BYTES;
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 1024) {
    throw new AuditConfigError(`fileSpool(): maxBytes must be an integer of at least 1024, got ${String(options.maxBytes)}.`);
  }
  const compactAfterBytes = options.compactAfterBytes ?? COMPACT_AFTER_BYTES;
  if (!Number.isSafeInteger(compactAfterBytes) || compactAfterBytes < 1) {
    throw new AuditConfigError(`fileSpool(): compactAfterBytes must be a positive integer (bytes), got ${String(options.compactAfterBytes)}.`);
  }
  const file = path.resolve(options.path);
  const headFile = `${file}.head`;
  const lockFile = `${file}.lock`;
  const compactFile = `${file}.compact`;
  const refusedFile = `${file}.refused`;
  let fd: FileHandle | undefined;
  let size = 0;
  let head = 0;
  let lines = 0;
  /** A failed append left bytes past `size` that could not be cut off yet. */
  let torn = false;
  let log: AuditLogger = console;
  let chain: Promise<unknown> = Promise.resolve();

  /** Runs file changes one at a time. */
  function exclusive<T>(work: () => Promise<T>): Promise<T> {
    const next = chain.then(work, work);
    chain = next.catch(() => undefined);
    return next;
  }

  function handle(): FileHandle {
    if (fd === undefined) throw new AuditConfigError(`fileSpool(${file}) is not open.`);
    return fd;
  }

  async function writeHead(offset: number): Promise<void> {
    const temp = `${headFile}.tmp`;
    const out = await open(temp, "w");
    try {
      await out.writeFile(String(offset));
      await out.sync();
    } finally {
      await out.close();
    }
    await rename(temp, headFile);
  }

  async function takeLock(): Promise<void> {
    try {
      await writeFile(lockFile, String(process.pid), { flag: "wx" });
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const holder = Number.parseInt(await readFile(lockFile, "utf8").catch(() => ""), 10);
    if (Number.isSafeInteger(holder) && holder !== process.pid && isAlive(holder)) {
      throw new AuditConfigError(`fileSpool(): ${file} is in use by process ${holder}. Give each process its own spool path.`);
    }
    await writeFile(lockFile, String(process.pid));
  }

  /** Reads `length` bytes at `position`, fewer only at the end of the file. */
  async function readAt(position: number, length: number): Promise<Buffer> {
    const buffer = Buffer.alloc(length);
    let filled = 0;
    while (filled < length) {
      const { bytesRead } = await handle().read(buffer, filled, length - filled, position + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return buffer.subarray(0, filled);
  }

  /** Writes all of `data` at the end of `out`; a write may take only part of it. */
  async function writeAll(out: FileHandle, data: Buffer): Promise<void> {
    for (let written = 0; written < data.length; ) {
      const { bytesWritten } = await out.write(data, written, data.length - written);
      written += bytesWritten;
    }
  }

  /** Where the last complete line ends (after its newline), at or after `from`. */
  async function lastLineEnd(from: number, to: number): Promise<number> {
    let end = to;
    while (end > from) {
      const start = Math.max(from, end - READ_CHUNK);
      const chunk = await readAt(start, end - start);
      const at = chunk.lastIndexOf(NEWLINE);
      if (at >= 0) return start + at + 1;
      end = start;
    }
    return from;
  }

  async function countLines(from: number, to: number): Promise<number> {
    let count = 0;
    for (let at = from; at < to; at += READ_CHUNK) {
      const chunk = await readAt(at, Math.min(READ_CHUNK, to - at));
      for (let i = chunk.indexOf(NEWLINE); i >= 0; i = chunk.indexOf(NEWLINE, i + 1)) count++;
    }
    return count;
  }

  /** Makes the renames done so far in the spool's directory durable. */
  async function syncDirectory(): Promise<void> {
    const directory = await open(path.dirname(file), "r");
    try {
      await directory.sync();
    } finally {
      await directory.close();
    }
  }

  /**
   * Rewrites the file without the head up to `from`, copying a chunk at a time:
   * the rest may be up to `maxBytes`. False when the copy failed (the disk is
   * full, say): the file is then as it was, and the failure is reported.
   */
  async function compact(from: number): Promise<boolean> {
    const temp = compactFile;
    try {
      const out = await open(temp, "w");
      try {
        for (let at = from; at < size; ) {
          const chunk = await readAt(at, Math.min(READ_CHUNK, size - at));
          if (chunk.length === 0) throw new Error(`spool ${file} ends at ${at}, before ${size}`);
          await writeAll(out, chunk);
          at += chunk.length;
        }
        await out.sync();
      } finally {
        await out.close();
      }
    } catch (error) {
      await rm(temp, { force: true }).catch(() => undefined);
      log.warn(`audit-events: spool ${file}: could not compact it (${thrownMessage(error)}); trying again later.`);
      return false;
    }
    // Head first, and durably so before the rename: with the old head and the new
    // file, a crash would skip waiting lines; this way it can only replay some again.
    await writeHead(0);
    await syncDirectory();
    await handle().close();
    fd = undefined;
    await rename(temp, file);
    fd = await open(file, "a+");
    size -= from;
    head = 0;
    return true;
  }

  /** Cuts the file back to `size`, so a failed append leaves no fragment behind. */
  async function cutBack(): Promise<void> {
    await handle().truncate(size);
    torn = false;
  }

  return {
    name: `file(${file})`,
    maxBytes,
    async open(logger: AuditLogger): Promise<void> {
      if (fd !== undefined) return;
      log = logger;
      await mkdir(path.dirname(file), { recursive: true });
      await takeLock();
      // A copy a crash interrupted: the spool file and its head are still as before it.
      await rm(compactFile, { force: true });
      fd = await open(file, "a+");
      size = (await fd.stat()).size;
      const stored = await readFile(headFile, "utf8").catch(() => "0");
      head = /^\d+$/.test(stored.trim()) ? Number(stored.trim()) : 0;
      if (head > size) {
        logger.warn(`audit-events: spool ${file}: its head (${head}) is past its end (${size}); replaying it all (stored events are skipped).`);
        head = 0;
      }
      const end = await lastLineEnd(head, size);
      if (end < size) {
        logger.warn(`audit-events: spool ${file}: cut off a half-written last line (${size - end} bytes) left by a crash; it was never acknowledged.`);
        await fd.truncate(end);
        size = end;
      }
      lines = await countLines(head, size);
    },
    usedBytes: () => size - head,
    count: () => lines,
    append(added: readonly string[]): Promise<void> {
      return exclusive(async () => {
        if (added.length === 0) return;
        const payload = Buffer.from(`${added.join("\n")}\n`);
        if (torn) await cutBack();
        // Bytes acknowledged at the head still take room in the file: drop them before
        // it grows past maxBytes plus this batch. Failing that, the batch is refused
        // (the writer keeps it in memory and retries), so the bound holds.
        if (head > 0 && size > maxBytes && !(await compact(head))) {
          throw new Error(`audit-events: spool ${file} is past its maxBytes (${maxBytes}) with ${head} acknowledged bytes it could not compact away; this batch waits.`);
        }
        try {
          await writeAll(handle(), payload);
          await handle().datasync();
        } catch (error) {
          // Part of the payload, or all of it unsynced, may be in the file: cut it off,
          // so a retried append never merges with a fragment nor repeats its lines.
          torn = true;
          await cutBack().catch(() => undefined);
          throw error;
        }
        size += payload.length;
        lines += added.length;
      });
    },
    peek(max: number): Promise<SpoolBatch> {
      return exclusive(async () => {
        const found: string[] = [];
        const sizes: number[] = [];
        let at = head;
        let pending: Buffer = Buffer.alloc(0);
        while (found.length < max && at < size) {
          const chunk = await readAt(at, Math.min(READ_CHUNK, size - at));
          if (chunk.length === 0) throw new Error(`audit-events: spool ${file} ends at ${at}, before ${size}; was it changed by another program?`);
          at += chunk.length;
          let data: Buffer = pending.length > 0 ? Buffer.concat([pending, chunk]) : chunk;
          let start = 0;
          for (let i = data.indexOf(NEWLINE); i >= 0 && found.length < max; i = data.indexOf(NEWLINE, start)) {
            found.push(data.toString("utf8", start, i));
            sizes.push(i + 1 - start);
            start = i + 1;
          }
          if (found.length >= max) {
            at -= data.length - start;
            data = Buffer.alloc(0);
            start = 0;
          }
          pending = data.subarray(start);
        }
        return { lines: found, bytes: sizes };
      });
    },
    ack(batch: SpoolBatch, count = batch.lines.length): Promise<void> {
      return exclusive(async () => {
        let next = head;
        for (let i = 0; i < count; i++) next += batch.bytes[i]!;
        if (next >= size) {
          // Head first, then truncate: a crash in between replays, never loses.
          await writeHead(0);
          await handle().truncate(0);
          size = 0;
          head = 0;
          lines = 0;
          return;
        }
        if (next >= compactAfterBytes && next * 2 >= size && (await compact(next))) {
          lines -= count;
          return;
        }
        await writeHead(next);
        head = next;
        lines -= count;
      });
    },
    asideName: refusedFile,
    setAside(refused: readonly string[]): Promise<void> {
      return exclusive(async () => {
        if (refused.length === 0) return;
        const out = await open(refusedFile, "a");
        try {
          await writeAll(out, Buffer.from(`${refused.join("\n")}\n`));
          await out.datasync();
        } finally {
          await out.close();
        }
      });
    },
    close(): Promise<void> {
      return exclusive(async () => {
        if (fd === undefined) return;
        await fd.close();
        fd = undefined;
        await rm(lockFile, { force: true });
      });
    },
  };
}
