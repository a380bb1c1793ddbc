import { constants } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { crc32 } from "node:zlib";

/** Where a file spool's replay starts, as `<path>.head` keeps it. */
export interface SpoolHead {
  /** Bytes of the spool file acknowledged (or dropped), from its start. */
  offset: number;
  /**
   * Only while a compaction swaps the file: the inode of its copy. When the spool file is
   * that inode, the swap happened and the head is 0 in it; otherwise `offset` holds.
   */
  compactedInode?: bigint;
}

/**
 * `<path>.head` holds two slots of this many bytes, written in turn, in place. A slot is
 * one line of ASCII: `H1 <generation> <offset> <inode or -> <crc32 of what precedes it,
 * 8 hex digits>`, padded with spaces, ending in a newline.
 */
export const HEAD_SLOT_BYTES = 96;
const SLOTS = 2;
const HEAD_FILE_BYTES = HEAD_SLOT_BYTES * SLOTS;
/** A generation from which opening renumbers the slots (see {@link openSpoolHeadFile}). */
const RENUMBER_AT = 2 ** 52;
const SLOT = /^(H1 (\d{1,16}) (\d{1,16}) (\d{1,20}|-)) ([0-9a-f]{8}) *\n$/;
/** What versions before the slots wrote, whole, through a renamed temporary file: `<offset>` or `<offset> <inode>`. */
const LEGACY = /^(\d{1,16})(?: (\d{1,20}))?$/;

/** The head and the generation of the slot it was read from (0: none, or the legacy form). */
interface Decoded {
  head: SpoolHead | undefined;
  generation: number;
}

function checksum(text: string): string {
  return crc32(text).toString(16).padStart(8, "0");
}

/** The bytes of a slot holding `head` at `generation`. */
export function encodeHeadSlot(generation: number, head: SpoolHead): Buffer {
  const body = `H1 ${generation} ${head.offset} ${head.compactedInode ?? "-"}`;
  return Buffer.from(`${body} ${checksum(body)}`.padEnd(HEAD_SLOT_BYTES - 1, " ") + "\n", "latin1");
}

function decodeSlot(bytes: Buffer): Decoded | undefined {
  if (bytes.length !== HEAD_SLOT_BYTES) return undefined;
  const match = SLOT.exec(bytes.toString("latin1"));
  if (match === null || checksum(match[1]!) !== match[5]) return undefined;
  const generation = Number(match[2]);
  const offset = Number(match[3]);
  if (!Number.isSafeInteger(generation) || !Number.isSafeInteger(offset)) return undefined;
  return { generation, head: { offset, ...(match[4] === "-" ? {} : { compactedInode: BigInt(match[4]!) }) } };
}

/**
 * What `<path>.head`'s bytes say: the valid slot of the highest generation; with none, the
 * legacy form (written by versions before the slots), read from the start up to the
 * first NUL; else undefined, which replays the spool from its start (the store skips what
 * it holds), never past a line not acknowledged.
 */
export function decodeHeadFile(bytes: Buffer): Decoded {
  let found: Decoded | undefined;
  for (let slot = 0; slot < SLOTS; slot++) {
    const decoded = decodeSlot(bytes.subarray(slot * HEAD_SLOT_BYTES, (slot + 1) * HEAD_SLOT_BYTES));
    if (decoded !== undefined && (found === undefined || decoded.generation > found.generation)) found = decoded;
  }
  if (found !== undefined) return found;
  const end = bytes.indexOf(0);
  const legacy = LEGACY.exec(bytes.subarray(0, end === -1 ? bytes.length : end).toString("latin1").trim());
  if (legacy === null) return { head: undefined, generation: 0 };
  return { generation: 0, head: { offset: Number(legacy[1]), ...(legacy[2] === undefined ? {} : { compactedInode: BigInt(legacy[2]) }) } };
}

/** Reads the head `<path>.head` holds, without opening it for writing (for tests and tools). */
export async function readSpoolHead(file: string): Promise<SpoolHead | undefined> {
  const handle = await open(file, "r");
  try {
    return decodeHeadFile(await readUpTo(handle, HEAD_FILE_BYTES * 4)).head;
  } finally {
    await handle.close();
  }
}

async function readUpTo(handle: FileHandle, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return buffer.subarray(0, filled);
}

async function writeAllAt(handle: FileHandle, data: Buffer, position: number): Promise<void> {
  for (let written = 0; written < data.length; ) {
    const { bytesWritten } = await handle.write(data, written, data.length - written, position + written);
    written += bytesWritten;
  }
}

/** A file spool's `<path>.head`, open for the spool's life (see {@link openSpoolHeadFile}). */
export interface SpoolHeadFile {
  /** The head the file held when opened; undefined replays the spool from its start. */
  readonly stored: SpoolHead | undefined;
  /**
   * Stores `head` durably: written over the older slot, then `fdatasync`ed. A write that
   * fails (or a crash during it) leaves the other slot, the head stored before, as what
   * a reader finds.
   *
   * @throws the file system's error (EIO, ENOSPC on a copy-on-write file system).
   */
  write(head: SpoolHead): Promise<void>;
  close(): Promise<void>;
}

/**
 * Opens (or creates) `<path>.head` for a file spool. The head goes in two checksummed
 * slots written in turn, in place, so that moving it takes one write and one
 * `fdatasync`, and needs no new disk block: on a full disk the spool can still record
 * what the store took, and empty itself once it took everything (a temporary file
 * renamed over the head, as before, could not be written there). A torn write (a crash,
 * a failing disk) spoils at most the slot being written; the other holds the head before.
 *
 * Opening reads the head, then writes it into a slot at once, so the file has its full
 * size (and its disk block) from then on; a new file's name is made durable by the
 * caller's sync of the directory (`fileSpool`'s open syncs it every time). A file in the form versions before the slots wrote is read, and kept
 * as it was (in the first slot's bytes) until the first slot is written.
 *
 * @throws the file system's error when the file cannot be opened, read or written.
 */
export async function openSpoolHeadFile(file: string): Promise<SpoolHeadFile> {
  const handle = await open(file, constants.O_RDWR | constants.O_CREAT, 0o644);
  try {
    const bytes = await readUpTo(handle, HEAD_FILE_BYTES * 4);
    const decoded = decodeHeadFile(bytes);
    let generation = decoded.generation;
    const write = async (head: SpoolHead): Promise<void> => {
      const next = generation + 1;
      await writeAllAt(handle, encodeHeadSlot(next, head), (next % SLOTS) * HEAD_SLOT_BYTES);
      await handle.datasync();
      generation = next;
    };
    if (decoded.head !== undefined && generation >= RENUMBER_AT) {
      // A generation that could not grow much further (a planted or damaged file: a write
      // takes far longer than 2^52 of them): past 2^53 - 1 a slot no longer reads back, and
      // the head found would stay the one read, however the spool moved. The head found goes
      // into the other slot with a small generation, then into this one with the next: a
      // torn write of either leaves that head, whichever slot is read.
      generation = generation % SLOTS === 0 ? 0 : 1;
      await write(decoded.head);
      await write(decoded.head);
    }
    if (bytes.length < HEAD_FILE_BYTES) {
      await write(decoded.head ?? { offset: 0 });
    }
    return { stored: decoded.head, write, close: () => handle.close() };
  } catch (error) {
    await handle.close().catch(() => undefined);
    throw error;
  }
}
