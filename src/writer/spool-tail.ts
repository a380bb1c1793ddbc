import type { EventRow } from "../stores/store";

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
 * The buffered writer's picture of its spool when the spool is the write-ahead log: how
 * many lines it holds whose events the store does not hold yet ({@link inSpool}), fed to
 * the store by reading them back from its head, in spool order; how many of the last of
 * them the writer appended itself and has not tried to write yet ({@link fresh}: their
 * events cannot be stored already, so they are neither asked about before being chained
 * nor counted as replayed); and the events larger than the whole spool, held in memory
 * only until the store holds them ({@link memoryOnly}).
 *
 * The writer keeps no copy of a line it appended (but see `SpoolCopies`, for a spool that
 * may lose lines): its events were held in memory until the store had them, up to
 * `flushIntervalMs`, and survived the young generation's scavenges, which copied them and
 * moved them to the old one. At 5 000 events a second through a `fileSpool`, scavenges
 * promoted about 5 MB each and took 10-17 ms, the p99 of a durable acknowledgement
 * (`npm run bench:durable-ack`: p99 13-17 ms; 7-9 ms read back, about 1.2 MB promoted a
 * scavenge, in 4-6 ms). Reading a line back costs its decoding (JSON, CRC32, the MAC
 * under `integrity`), in the flush, off the request path.
 */
export class SpoolTail {
  /** Events larger than the whole spool, in memory only, in order. */
  private entries: Pending[] = [];
  /** Lines the spool holds whose events the store does not hold yet. */
  inSpool = 0;
  private freshLines = 0;

  /** Of the last {@link inSpool} lines, how many the writer appended itself and has not tried to write yet. */
  get fresh(): number {
    return this.freshLines;
  }

  /** Events held in memory only (larger than the spool): not durable yet. */
  get memoryOnly(): number {
    return this.entries.length;
  }

  /** When the oldest event held in memory only was taken; undefined when there is none. */
  oldestAt(): number | undefined {
    return this.entries[0]?.at;
  }

  /**
   * The spool took the lines of `entries`, in order (those without a line are held in
   * memory only): each counts in {@link inSpool}, and in {@link fresh} unless it may be
   * stored already (`maybeStored`: appended again after a loss, or after an append whose
   * reply was lost), which ends the run of fresh lines at the spool's end.
   */
  appended(entries: readonly Pending[]): void {
    for (const entry of entries) {
      if (entry.line === undefined) {
        this.entries.push(entry);
        continue;
      }
      this.inSpool++;
      this.freshLines = entry.maybeStored === true ? 0 : this.freshLines + 1;
    }
  }

  /** Holds `entries` in memory only (the spool was full or cannot take them). */
  hold(entries: readonly Pending[]): void {
    this.entries.push(...entries);
  }

  /** Whether the line at `index` from the spool's head (of a batch read from it) is {@link fresh}. */
  isFresh(index: number): boolean {
    return index >= this.inSpool - this.freshLines;
  }

  /** The first `count` lines at the spool's head were read and a write of them tried: they may be stored now, whatever came of it. */
  tried(count: number): void {
    this.freshLines = Math.min(this.freshLines, Math.max(0, this.inSpool - count));
  }

  /** The first `count` lines at the spool's head were stored and removed (acknowledged or dropped). */
  removedAtHead(count: number): void {
    this.inSpool = Math.max(0, this.inSpool - count);
    this.freshLines = Math.min(this.freshLines, this.inSpool);
  }

  /** The first `max` events held in memory only, left in place until {@link remove}. */
  head(max: number): Pending[] {
    return this.entries.slice(0, max);
  }

  /** Removes the first `count` events held in memory only (stored). */
  remove(count: number): void {
    this.entries.splice(0, count);
  }

  /**
   * Counts the spool's lines again (after a spool failure, the spool may hold more or
   * fewer than appended): `spoolLines`, none of them known to be fresh. Events held in
   * memory only stay.
   */
  forgetLines(spoolLines: number): void {
    this.inSpool = spoolLines;
    this.freshLines = 0;
  }
}
