import { link, mkdir, open, readFile, rename, rm, rmdir, stat, writeFile, type FileHandle } from "node:fs/promises";
import { constants, readFileSync } from "node:fs";
import path from "node:path";
import { AuditConfigError } from "../errors";
import { DEFAULT_SPOOL_MAX_BYTES, type AuditLogger, type AuditSpool, type SpoolBatch } from "./spool";
import { thrownMessage } from "../thrown-message";
import { openSpoolHeadFile, type SpoolHeadFile } from "./spool-head-file";

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

/**
 * Spool files (resolved paths) whose lock this process holds, and the spool that holds
 * each: a later open of the path in this process fences the earlier spool off it.
 */
const heldHere = new Map<string, symbol>();
/** How long an opener waits for another to break a stale lock, between looks, and at most. */
const BREAK_WAIT_MS = 20;
const BREAK_TIMEOUT_MS = 10_000;
/** A `.breaking` directory older than this was left by a crash while breaking a lock. */
const BREAK_STALE_MS = 5_000;

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
 * `<path>.head`, in two checksummed slots written in turn, in place, each synced (see
 * `openSpoolHeadFile`): a torn write leaves the other, and no write of the head needs
 * a new disk block, so on a full disk the spool still records what the store took and
 * empties itself once it took everything. A crash can at most
 * replay lines not yet acknowledged, which the store skips as ids it holds already. A
 * lock file (created with `wx`; a dead holder's broken by one opener only) keeps a
 * second process off the same spool; a second `fileSpool()` on one path in the same
 * process takes it over from the first, whose operations then throw.
 *
 * Acknowledged (or dropped) lines stay at the head of the file until it is
 * compacted: rewritten, a chunk at a time, without them. So that the file stays
 * within `maxBytes` plus one batch however long an outage lasts and whatever
 * `onSpoolFull` does, an append that finds the file already past `maxBytes`
 * compacts it first. Compacting writes the waiting lines (at most `maxBytes`) to
 * `<path>.compact` beside it for a moment; a full spool under `"drop-oldest"` is
 * compacted about every second batch, each time copying its waiting lines.
 *
 * As the buffered writer's write-ahead log, it takes every event, so it is appended to
 * and acknowledged all the time: appends hold only the tail of the file, acknowledgements
 * (a synced write of `<path>.head`, also when they empty the file) and the bulk of a
 * compaction's copy only the head, so neither makes an append wait; an append waits only
 * while a compaction copies the few lines appended since its last catch-up copy (no sync)
 * and renames the copy over the file (no sync): for that moment, each append is written
 * and synced to both files at once.
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
  /** This spool, as the holder of its path in {@link heldHere}. */
  const self = Symbol(file);
  let fd: FileHandle | undefined;
  /** `<path>.head`, open while the spool is. */
  let headStore: SpoolHeadFile | undefined;
  let size = 0;
  let head = 0;
  let lines = 0;
  /** A failed append left bytes past `size` that could not be cut off yet. */
  let torn = false;
  /**
   * At the end of a compaction: the other file every append also goes to, and what it
   * holds (see {@link compact}).
   */
  let mirror: { handle: FileHandle; size: number } | undefined;
  /**
   * A compaction renamed its copy over the file, and the directory's sync that makes the
   * rename durable has not succeeded yet: until it does, `mirror` is the file given up,
   * which a crash could still find under the name (see {@link settleSwap}).
   */
  let swapUnsynced = false;
  let log: AuditLogger = console;
  /** Operations on the head (peek, ack, compaction, set aside), one at a time. */
  let headChain: Promise<unknown> = Promise.resolve();
  /** Operations on the tail (append, and the moment a compaction swaps the file), one at a time. */
  let tailChain: Promise<unknown> = Promise.resolve();

  function atHead<T>(work: () => Promise<T>): Promise<T> {
    const next = headChain.then(work, work);
    headChain = next.catch(() => undefined);
    return next;
  }

  function atTail<T>(work: () => Promise<T>): Promise<T> {
    const next = tailChain.then(work, work);
    tailChain = next.catch(() => undefined);
    return next;
  }

  /** Holds both ends: the head first, then the tail (always in this order). */
  function atBoth<T>(work: () => Promise<T>): Promise<T> {
    return atHead(() => atTail(work));
  }

  function handle(): FileHandle {
    if (fd !== undefined && heldHere.get(file) !== self) {
      throw new AuditConfigError(`fileSpool(${file}): another fileSpool() on the same path was opened in this process; this one no longer touches the file. Open one spool per path.`);
    }
    if (fd === undefined) throw new AuditConfigError(`fileSpool(${file}) is not open.`);
    return fd;
  }

  /**
   * Writes `<path>.head` durably: `offset`, or during a compaction `offset` and `compactedInode`:
   * the head is `offset` in the file as it is, and 0 once the file is the compacted copy,
   * whose inode that is (a rename keeps it), so a crash on either side of the swap replays
   * no acknowledged line.
   */
  async function writeHead(offset: number, compactedInode?: bigint): Promise<void> {
    // Not once another fileSpool() on the path took it over (an operation of this one under
    // way then): its head store counts generations of its own, and a slot written now could
    // hide that one's last head behind its head before.
    handle();
    if (headStore === undefined) throw new AuditConfigError(`fileSpool(${file}) is not open.`);
    await headStore.write(compactedInode === undefined ? { offset } : { offset, compactedInode });
  }

  /**
   * Creates `<path>.lock` holding this process's pid, whole at once: written to a file of
   * its own, then hard-linked to the lock's name (a link fails when the name exists, so
   * one creator wins). A lock created with `wx` and then written is empty for a moment,
   * and an opener reading it then took it for a dead holder's and broke it: two processes
   * opened one spool. Where the file system has no hard links, `wx` it is.
   *
   * @returns false when the lock exists.
   */
  async function createLock(): Promise<boolean> {
    const whole = `${lockFile}.${process.pid}.new`;
    try {
      await writeFile(whole, String(process.pid));
    } catch (error) {
      await rm(whole, { force: true }).catch(() => undefined);
      const code = (error as NodeJS.ErrnoException).code;
      // A full disk has no block for the pid. When a lock is there (a process killed on that
      // disk, say), say so: the caller breaks it if its holder is dead, which frees a block,
      // and creates it again. Else a spool that filled its disk could never be reopened.
      if ((code === "ENOSPC" || code === "EDQUOT") && (await stat(lockFile).then(() => true, () => false))) return false;
      throw error;
    }
    try {
      await link(whole, lockFile);
      return true;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === "EEXIST") return false;
      if (code !== "EPERM" && code !== "ENOTSUP" && code !== "ENOSYS" && code !== "EOPNOTSUPP") throw error;
    } finally {
      await rm(whole, { force: true });
    }
    try {
      await writeFile(lockFile, String(process.pid), { flag: "wx" });
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
      throw error;
    }
  }

  /**
   * Takes `<path>.lock` (see {@link createLock}: one creator wins). A lock whose holder is
   * dead (a crash) is broken only under `<path>.lock.breaking`, a directory made with
   * `mkdir` (one maker wins), after reading it again: so openers that find one stale
   * lock together never both take it. A path this process holds already is refused.
   */
  async function takeLock(): Promise<void> {
    if (heldHere.has(file)) {
      // One file, one user: the earlier spool's next operation throws (see handle()).
      log.warn(`audit-events: spool ${file} was open in this process already (another fileSpool() on the same path); that one is closed off it now. Open one spool per path.`);
      heldHere.set(file, self);
      return;
    }
    const breaking = `${lockFile}.breaking`;
    for (let waited = 0; ; waited += BREAK_WAIT_MS) {
      if (await createLock()) {
        heldHere.set(file, self);
        return;
      }
      const found = await readFile(lockFile, "utf8").catch(() => undefined);
      // Gone meanwhile (its holder closed, or a breaker removed it): try to create it again.
      if (found === undefined) continue;
      // Empty: being written by a `wx` creator (no hard links), unless it stays so.
      if (found === "" && waited < BREAK_STALE_MS) {
        await new Promise((resolve) => setTimeout(resolve, BREAK_WAIT_MS));
        continue;
      }
      const holder = Number.parseInt(found, 10);
      // Our own pid here is an earlier process's (pid reuse in a container): heldHere says this one holds no lock on it.
      if (Number.isSafeInteger(holder) && holder !== process.pid && isAlive(holder)) {
        throw new AuditConfigError(`fileSpool(): ${file} is in use by process ${holder}. Give each process its own spool path.`);
      }
      if (waited >= BREAK_TIMEOUT_MS) {
        throw new AuditConfigError(`fileSpool(): could not take ${lockFile} from its dead holder within ${BREAK_TIMEOUT_MS / 1000} s; remove ${breaking} if no process is starting on ${file}.`);
      }
      try {
        await mkdir(breaking);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
        // Another opener is breaking it (or crashed while breaking it, long ago: then it goes).
        const made = await stat(breaking).then((s) => s.mtimeMs, () => undefined);
        if (made !== undefined && Date.now() - made > BREAK_STALE_MS) await rmdir(breaking).catch(() => undefined);
        await new Promise((resolve) => setTimeout(resolve, BREAK_WAIT_MS));
        continue;
      }
      try {
        // Still the dead holder's? Only a breaker removes a stale lock, and it is us.
        if ((await readFile(lockFile, "utf8").catch(() => undefined)) === found) await rm(lockFile, { force: true });
      } finally {
        await rmdir(breaking).catch(() => undefined);
      }
    }
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

  /** Copies `[from, to)` of the spool file to the end of `out`, a chunk at a time. */
  async function copyRange(out: FileHandle, from: number, to: number): Promise<void> {
    for (let at = from; at < to; ) {
      const chunk = await readAt(at, Math.min(READ_CHUNK, to - at));
      if (chunk.length === 0) throw new Error(`spool ${file} ends at ${at}, before ${to}`);
      await writeAll(out, chunk);
      at += chunk.length;
    }
  }

  /**
   * Rewrites the file without the head up to `from` (call it holding the head; `tailHeld`:
   * the tail too). The waiting lines (up to `maxBytes`) are copied and synced while
   * appends go on. Then, for a moment, every append goes to both files (each synced), so
   * the swap copies and syncs nothing while appends wait: they wait only while the last
   * lines appended are copied (no sync) and while the copy is renamed over the file. The
   * file given up keeps taking appends until the rename is durable: a crash before that
   * finds either file whole. False when the copy failed (the disk is full, say): the file
   * is then as it was, and the failure is reported.
   */
  async function compact(from: number, tailHeld: boolean): Promise<boolean> {
    // One swap at a time: the last one's file given up is mirrored until its rename is durable.
    if (!(await settleSwap(tailHeld))) return false;
    let out: FileHandle | undefined;
    let copied = size;
    try {
      // O_APPEND, as the spool file: a cut-back fragment is never left as a hole.
      out = await open(compactFile, constants.O_CREAT | constants.O_TRUNC | constants.O_RDWR | constants.O_APPEND);
      await copyRange(out, from, copied);
      await out.sync();
      // Head first, and durably so before the rename: with the old head and the new file,
      // a crash would skip waiting lines. It names both: `from` in this file, 0 in the copy.
      // (A head that names a copy given up is harmless: the file's inode is not the copy's.)
      await writeHead(from, (await out.stat({ bigint: true })).ino);
      await syncDirectory();
    } catch (error) {
      // Given up whole (a full disk fails the head's write too): neither its handle nor its bytes stay.
      await out?.close().catch(() => undefined);
      await rm(compactFile, { force: true }).catch(() => undefined);
      log.warn(`audit-events: spool ${file}: could not compact it (${thrownMessage(error)}); trying again later.`);
      return false;
    }
    const copy = out;
    if (tailHeld) {
      const given = handle();
      try {
        await copyRange(copy, copied, size);
        await copy.sync();
        await rename(compactFile, file);
      } catch (error) {
        await copy.close().catch(() => undefined);
        throw error;
      }
      // The copy's own handle (read, write, O_APPEND: as "a+") is the spool file's now: no
      // open that could fail stands between the rename and the next append. The file given
      // up mirrors it until the rename is durable.
      fd = copy;
      mirror = { handle: given, size };
      swapUnsynced = true;
      size -= from;
      head = 0;
      await settleSwap(true);
    } else {
      await swapMirrored(copy, from, copied);
    }
    // The plain form again (the head is held: nothing moved it); the appends go on meanwhile.
    await writeHead(0);
    return true;
  }

  /**
   * The end of a compaction while appends go on (see {@link compact}): `copy` holds the
   * file from `from` up to `copied`, synced.
   */
  async function swapMirrored(copy: FileHandle, from: number, copied: number): Promise<void> {
    let mirroring = false;
    try {
      // Catch up outside the tail (copy, no sync: the appends' own syncs and the one below cover it)...
      const end = size;
      await copyRange(copy, copied, end);
      // ... then, holding it for as long as the few lines since take to copy, mirror every further append.
      await atTail(async () => {
        await copyRange(copy, end, size);
        mirror = { handle: copy, size: size - from };
        mirroring = true;
      });
      await copy.sync();
      await atTail(async () => {
        const given = handle();
        await rename(compactFile, file);
        // The copy is the spool file now, through its own handle (no open that could fail and
        // leave appends going to the file given up); that one mirrors it until the rename is durable.
        fd = copy;
        mirror = { handle: given, size };
        swapUnsynced = true;
        size -= from;
        head = 0;
      });
    } catch (error) {
      if (mirroring) await atTail(async () => void (mirror = undefined));
      await copy.close().catch(() => undefined);
      throw error;
    }
    await settleSwap(false);
  }

  /**
   * Makes a compaction's rename durable (a sync of the directory), then stops mirroring
   * appends to the file it replaced and closes that. When the sync fails, the mirroring
   * goes on (a crash may still find the replaced file under the name: it gets every
   * append too), the failure is logged, and the next acknowledgement or compaction tries
   * again; the compaction itself is done. Call it holding the head (`tailHeld`: the tail too).
   *
   * @returns whether no rename waits for its sync any more.
   */
  async function settleSwap(tailHeld: boolean): Promise<boolean> {
    if (!swapUnsynced) return true;
    try {
      await syncDirectory();
    } catch (error) {
      log.warn(`audit-events: spool ${file}: could not sync its directory after a compaction replaced the file (${thrownMessage(error)}); appends also go to the file it replaced until a later sync succeeds.`);
      return false;
    }
    swapUnsynced = false;
    const release = async () => {
      const given = mirror?.handle;
      mirror = undefined;
      await given?.close().catch(() => undefined);
    };
    await (tailHeld ? release() : atTail(release));
    return true;
  }

  /** Cuts the file (and the one it mirrors to) back to what they held, so a failed append leaves no fragment behind. */
  async function cutBack(): Promise<void> {
    await handle().truncate(size);
    if (mirror !== undefined) await mirror.handle.truncate(mirror.size);
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
      try {
        // A copy a crash interrupted: the spool file and its head are still as before it. (And
        // the temporary head file of versions before the slots, which a crash could leave.)
        await rm(compactFile, { force: true });
        await rm(`${headFile}.tmp`, { force: true });
        fd = await open(file, "a+");
        size = (await fd.stat()).size;
        headStore = await openSpoolHeadFile(headFile);
        // Before any append is acknowledged, the names are made durable: the spool file's and
        // its head's (either may have just been created), and a compaction's rename an earlier
        // process (or this spool, closed while that sync kept failing) did not get synced.
        // Without it, a power cut after this open could bring back the file that rename
        // replaced, without the appends since.
        await syncDirectory();
        const stored = headStore.stored;
        // With an inode: a compaction was under way; 0 if it swapped the file in.
        head = stored === undefined || (stored.compactedInode !== undefined && (await fd.stat({ bigint: true })).ino === stored.compactedInode) ? 0 : stored.offset;
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
      } catch (error) {
        // Not opened: the lock goes, so a retry (or another process) can take it.
        await fd?.close().catch(() => undefined);
        fd = undefined;
        await headStore?.close().catch(() => undefined);
        headStore = undefined;
        if (heldHere.get(file) === self) {
          await rm(lockFile, { force: true }).catch(() => undefined);
          heldHere.delete(file);
        }
        throw error;
      }
    },
    usedBytes: () => size - head,
    count: () => lines,
    append(added: readonly string[]): Promise<void> {
      if (added.length === 0) return Promise.resolve();
      const payload = Buffer.from(`${added.join("\n")}\n`);
      /** Bytes acknowledged at the head still take room in the file: past maxBytes, they must go first. */
      const pastBound = () => head > 0 && size > maxBytes;
      const write = async () => {
        if (torn) await cutBack();
        const second = mirror;
        try {
          // Every call started here ends before the failure path (below) cuts the files back:
          // a write still under way when one to the other file failed (its thread not yet
          // run, on a loaded machine) would land after the cut, at the end, past the size
          // counted; the appends after it would then lie beyond what a peek reads, and an
          // emptying or a compaction would drop them.
          const settled = await Promise.allSettled([
            writeAll(handle(), payload).then(() => handle().datasync()),
            second && writeAll(second.handle, payload).then(() => second.handle.datasync()),
          ]);
          for (const result of settled) if (result.status === "rejected") throw result.reason;
        } catch (error) {
          // Part of the payload, or all of it unsynced, may be in the file: cut it off,
          // so a retried append never merges with a fragment nor repeats its lines.
          torn = true;
          await cutBack().catch(() => undefined);
          throw error;
        }
        size += payload.length;
        if (second !== undefined) second.size += payload.length;
        lines += added.length;
      };
      // Usually only the tail is held, so acknowledgements and compactions at the head go on meanwhile.
      return atTail(async () => {
        if (pastBound()) return false;
        await write();
        return true;
      }).then((done) =>
        done
          ? undefined
          : atBoth(async () => {
              // Drop them before the file grows past maxBytes plus this batch. Failing that,
              // the batch is refused (the writer keeps it in memory and retries), so the bound holds.
              if (pastBound() && !(await compact(head, true))) {
                throw new Error(`audit-events: spool ${file} is past its maxBytes (${maxBytes}) with ${head} acknowledged bytes it could not compact away; this batch waits.`);
              }
              await write();
            }),
      );
    },
    peek(max: number): Promise<SpoolBatch> {
      return atHead(async () => {
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
      return atHead(async () => {
        handle();
        await settleSwap(false);
        let next = head;
        for (let i = 0; i < count; i++) next += batch.bytes[i]!;
        if (next >= size) {
          // Head first, then truncate: a crash in between replays, never loses. The head
          // is written (and synced) before the tail is taken, so appends do not wait for it;
          // if one came meanwhile, the head is written again below.
          await writeHead(0);
          const emptied = await atTail(async () => {
            if (next < size) return false;
            await handle().truncate(0);
            size = 0;
            head = 0;
            lines = 0;
            return true;
          });
          if (emptied) return;
        }
        if (next >= compactAfterBytes && next * 2 >= size && (await compact(next, false))) {
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
      return atHead(async () => {
        if (refused.length === 0) return;
        handle();
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
      return atBoth(async () => {
        if (fd === undefined) return;
        await settleSwap(true);
        await fd.close();
        fd = undefined;
        // A replaced file still mirrored (its rename's sync kept failing): the name is the new file's.
        await mirror?.handle.close().catch(() => undefined);
        mirror = undefined;
        swapUnsynced = false;
        await headStore?.close();
        headStore = undefined;
        if (heldHere.get(file) !== self) return;
        await rm(lockFile, { force: true });
        heldHere.delete(file);
      });
    },
  };
}
