import type { EventRow } from "../stores/store";
import type { SpoolBatch } from "./spool";

/** An event of the buffered writer, from `createEvent` until the store holds it. */
export interface Pending {
  row: EventRow;
  /** When it was taken (`performance.now()`), so no event waits longer than the interval. */
  at: number;
  /** Its caller, until it is told: at the spool append (write-ahead), or when stored. */
  settle?: { resolve(): void; reject(error: unknown): void };
  /**
   * The store may hold it already: a write of it failed without saying whether it
   * committed, or it was replayed from a spool. Asked before it is chained again.
   */
  maybeStored?: boolean;
  /**
   * Its spool line, encoded when it was taken, so the group commit appends it without
   * encoding it then (encoding a group at once delays every event of it). Absent when
   * encoding threw: the group commit encodes it again and refuses it.
   */
  encoded?: string;
  /** Its line in the spool; absent for an event larger than the spool, held in memory only. */
  line?: string;
  /** The size of {@link line} in the spool, its newline included. */
  bytes?: number;
}

/**
 * `group` with each spool line once: an event given a line before and queued again to be
 * appended (after the spool lost lines, or an append whose reply was lost) may be queued
 * more than once, since every loss found queues a copy of every line not stored yet, even
 * while the copies of an earlier loss wait. The first keeps its place; a later one's
 * caller, if it has one, is told with the first's (the same event, the same line), and
 * `maybeStored` is kept if either had it. Events without a line (new, or held in memory
 * only) are kept as they are. A line appended twice would be held twice in the spool,
 * counted twice against `maxBytes`, and replayed twice.
 */
export function oncePerLine(group: readonly Pending[]): Pending[] {
  const first = new Map<string, Pending>();
  const kept: Pending[] = [];
  for (const pending of group) {
    const line = pending.line;
    const earlier = line === undefined ? undefined : first.get(line);
    if (earlier === undefined) {
      if (line !== undefined) first.set(line, pending);
      kept.push(pending);
      continue;
    }
    earlier.maybeStored ||= pending.maybeStored;
    earlier.settle = bothSettled(earlier.settle, pending.settle);
  }
  return kept;
}

/** One settle that tells both callers (either may be absent). */
function bothSettled(a: Pending["settle"], b: Pending["settle"]): Pending["settle"] {
  if (a === undefined || b === undefined) return a ?? b;
  return {
    resolve: () => (a.resolve(), b.resolve()),
    reject: (error) => (a.reject(error), b.reject(error)),
  };
}

/**
 * The buffered writer's picture of its spool when the spool is the write-ahead log:
 * first `unmirrored` lines known only to the spool, read back from it to feed the store
 * (left by an earlier process, forgotten after a spool failure or to bound memory, or
 * appended without a copy in memory, see {@link push}), then the lines appended with
 * their rows kept here in spool order, so the store is fed without reading the spool
 * back. Events larger than the whole spool sit among them at their place, in memory
 * only. Lines are removed from the head only: `unmirrored` ones first.
 *
 * Of the `unmirrored` lines, the last {@link fresh} ones the writer appended itself and
 * has not tried to write: their events cannot be stored already, so they are neither
 * asked about before being chained nor counted as replayed.
 */
export class SpoolTail {
  private entries: Pending[] = [];
  /** Entries of {@link entries} that have a spool line. */
  private lineCount = 0;
  /** Lines at the spool's head that are not in memory. */
  unmirrored = 0;
  private freshLines = 0;

  /** Of the last {@link unmirrored} lines, how many the writer appended itself (left to the spool) and has not tried to write. */
  get fresh(): number {
    return this.freshLines;
  }

  /** Whether the unmirrored line at `index` from the spool's head (of a batch read back) is {@link fresh}. */
  isFresh(index: number): boolean {
    return index >= this.unmirrored - this.freshLines;
  }

  /** The first `count` unmirrored lines were read back and a write of them tried: they may be stored now, whatever came of it. */
  tried(count: number): void {
    this.freshLines = Math.min(this.freshLines, Math.max(0, this.unmirrored - count));
  }

  /** The first `count` unmirrored lines were stored and removed from the spool. */
  replayed(count: number): void {
    this.unmirrored = Math.max(0, this.unmirrored - count);
    this.freshLines = Math.min(this.freshLines, this.unmirrored);
  }

  constructor(
    /** The most lines kept in memory; beyond, the oldest become {@link unmirrored}. */
    private readonly maxLines: number,
  ) {}

  /** Entries in memory, with or without a line. */
  get length(): number {
    return this.entries.length;
  }

  /** Entries held in memory only (larger than the spool): not durable yet. */
  get memoryOnly(): number {
    return this.entries.length - this.lineCount;
  }

  /** When the oldest entry was taken; undefined when there is none. */
  oldestAt(): number | undefined {
    return this.entries[0]?.at;
  }

  /**
   * Adds entries at the tail, in spool order; keeps at most `maxLines` lines in memory.
   * Unless `mirror`, their lines are left to the spool (counted in {@link unmirrored}),
   * with every line before them: while the store is down, or for a spool whose lines are
   * read back (see `BufferedWriter`), the spool alone holds them. A line so left counts
   * as {@link fresh} when `fresh` (not while the store is down: its event waits through a
   * failure, and counts as replayed) and it may not be stored already (`maybeStored`).
   */
  push(added: readonly Pending[], mirror = true, fresh = true): void {
    if (!mirror) {
      this.unmirror();
      for (const entry of added) {
        if (entry.line === undefined) {
          this.entries.push(entry);
          continue;
        }
        this.unmirrored++;
        this.freshLines = !fresh || entry.maybeStored === true ? 0 : this.freshLines + 1;
      }
      return;
    }
    for (const entry of added) {
      this.entries.push(entry);
      if (entry.line !== undefined) this.lineCount++;
    }
    let forget = 0;
    while (this.lineCount - forget > this.maxLines && this.entries[forget]?.line !== undefined) forget++;
    if (forget > 0) {
      this.entries.splice(0, forget);
      this.lineCount -= forget;
      this.unmirrored += forget;
      // The spool's last unmirrored lines are now these, which may be stored already.
      this.freshLines = 0;
    }
  }

  /** The first `max` entries, left in place until {@link remove}. */
  head(max: number): Pending[] {
    return this.entries.slice(0, max);
  }

  /** The spool lines of `entries` (a head), as a batch to acknowledge. */
  static batchOf(entries: readonly Pending[]): SpoolBatch {
    const lines: string[] = [];
    const bytes: number[] = [];
    for (const entry of entries) {
      if (entry.line === undefined) continue;
      lines.push(entry.line);
      bytes.push(entry.bytes!);
    }
    return { lines, bytes };
  }

  /** Removes the first `count` entries (stored, their lines acknowledged). */
  remove(count: number): void {
    const removed = this.entries.splice(0, count);
    for (const entry of removed) if (entry.line !== undefined) this.lineCount--;
  }

  /**
   * Leaves every line to the spool (the store failed: they are read back from the spool
   * once it answers, and memory holds no more than events not durable yet).
   */
  unmirror(): void {
    if (this.lineCount === 0) return;
    this.entries = this.entries.filter((entry) => entry.line === undefined);
    this.unmirrored += this.lineCount;
    this.lineCount = 0;
    // The spool's last lines are now these, which the writer may have tried to write.
    this.freshLines = 0;
  }

  /** `count` lines were removed from the spool's head (dropped): unmirrored ones first, then ours. */
  droppedAtHead(count: number): void {
    const fromUnmirrored = Math.min(count, this.unmirrored);
    this.unmirrored -= fromUnmirrored;
    this.freshLines = Math.min(this.freshLines, this.unmirrored);
    let left = count - fromUnmirrored;
    if (left === 0) return;
    this.entries = this.entries.filter((entry) => {
      if (left === 0 || entry.line === undefined) return true;
      left--;
      this.lineCount--;
      return false;
    });
  }

  /** Removes and returns the entries that have a spool line, in order (to append them again). */
  takeLines(): Pending[] {
    const taken = this.entries.filter((entry) => entry.line !== undefined);
    this.entries = this.entries.filter((entry) => entry.line === undefined);
    this.lineCount = 0;
    return taken;
  }

  /**
   * Forgets which lines the spool holds (after a spool failure, the spool may hold
   * more or fewer than appended): all `spoolLines` are read from the spool again.
   * Events held in memory only stay.
   */
  forgetLines(spoolLines: number): void {
    this.entries = this.entries.filter((entry) => entry.line === undefined);
    this.lineCount = 0;
    this.unmirrored = spoolLines;
    this.freshLines = 0;
  }
}
