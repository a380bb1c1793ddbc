import { AuditError } from "../errors";

/** Where the write path reports a spool's troubles; `console` by default. */
export interface AuditLogger {
  warn(message: string): void;
  /** Hears what an operator must act on (an event the store refused); `warn` when absent. */
  error?(message: string): void;
  /**
   * Hears each write: every sync insert and every batch the buffered writer flushes, with
   * its event count, the store's name and how long it took. Messages are built only
   * when it is there.
   */
  debug?(message: string): void;
}

/** Lines read from the head of a spool, to be acknowledged once stored. */
export interface SpoolBatch {
  /** The lines, oldest first, as appended. */
  readonly lines: readonly string[];
  /** Each line's size in the spool, its newline included. */
  readonly bytes: readonly number[];
}

/**
 * Durable local storage the buffered writer appends every event to before it
 * acknowledges it (its write-ahead log): an append-only queue of lines, read from
 * the head and acknowledged once stored. `fileSpool()`
 * and `redisSpool()` implement it; one process uses a spool at a time.
 */
export interface AuditSpool {
  /** A short name for messages, e.g. `"file(/var/spool/audit.log)"`. */
  readonly name: string;
  /**
   * True when lines can vanish from its storage from outside (a Redis list evicted or
   * deleted, a Redis restarted without persistence), which it reports by throwing an
   * `AuditError` with code `ERR_AUDIT_SPOOL_LOST` (a {@link SpoolLinesLost}, which says
   * how many) from the next append, read or acknowledgement. The writer then keeps a copy
   * of every line it appended, in memory, until the store holds its event, and appends
   * again those the storage lost; the lines it has no copy of count as lost, all of them
   * when the error does not say how many were. A spool that does not declare it and
   * throws a {@link SpoolLinesLost} all the same loses those lines' events: they are
   * counted in `dropped` and logged at error level, naming this flag.
   */
  readonly mayLoseLines?: boolean;
  /**
   * The most bytes of lines it holds; `onSpoolFull` decides what happens beyond. Its
   * storage (a file, a Redis list) stays within this plus the batch being appended,
   * counting what it still keeps of acknowledged lines.
   */
  readonly maxBytes: number;
  /** Opens it (and recovers from a crash: a torn last line is cut off and reported). */
  open(logger: AuditLogger): Promise<void>;
  /** Bytes of lines waiting now. */
  usedBytes(): number;
  /** Lines waiting now. */
  count(): number;
  /** Appends lines at the tail; they are durable when it resolves. */
  append(lines: readonly string[]): Promise<void>;
  /** Reads up to `max` lines from the head, without removing them. */
  peek(max: number): Promise<SpoolBatch>;
  /** Removes the first `count` lines of `batch` (all by default), which must be the head. */
  ack(batch: SpoolBatch, count?: number): Promise<void>;
  /**
   * Of `lines`, those its storage does not hold now, compared by their whole text (a
   * line is its event's own text, with the event's unique id). Given by a spool that
   * {@link mayLoseLines}: the writer asks it before appending again lines appended before
   * (after a loss, or after an append whose reply was lost), so that no line is held twice.
   * Its appends and acknowledgements may run meanwhile.
   */
  lacking?(lines: readonly string[]): Promise<Set<string>>;
  /** Releases files or connections; the lines stay for the next process. */
  close(): Promise<void>;
  /**
   * Keeps lines refused at replay (a wrong or missing MAC under `integrity`) aside,
   * durably, for an operator to inspect; they are never replayed from there. Without
   * it, such lines are only logged whole.
   */
  setAside?(lines: readonly string[]): Promise<void>;
  /** Where {@link setAside} keeps lines, for messages, e.g. the path of a file. */
  readonly asideName?: string;
}

/**
 * What a spool that {@link AuditSpool.mayLoseLines} throws when it finds its storage
 * holds fewer lines than it counted (`ERR_AUDIT_SPOOL_LOST`): the operation did not
 * take effect, and the writer appends again the lines it holds copies of.
 */
export class SpoolLinesLost extends AuditError {
  constructor(
    /** How many lines the storage lost, as the spool counts them. */
    readonly count: number,
    message: string,
  ) {
    super("ERR_AUDIT_SPOOL_LOST", message);
    this.name = "SpoolLinesLost";
  }
}

/** Default `maxBytes` of a spool: 1 GiB. */
export const DEFAULT_SPOOL_MAX_BYTES = 1024 ** 3;

/** A line's size in a spool, its newline included. */
export function spoolLineBytes(line: string): number {
  return Buffer.byteLength(line) + 1;
}

/**
 * Removes whole lines from the head of `spool` until at least `bytes` are freed
 * (`onSpoolFull: "drop-oldest"`); returns the lines it removed, oldest first.
 */
export async function dropOldest(spool: AuditSpool, bytes: number): Promise<string[]> {
  const dropped: string[] = [];
  let freed = 0;
  while (freed < bytes && spool.count() > 0) {
    const batch = await spool.peek(1000);
    let taken = 0;
    while (taken < batch.lines.length && freed < bytes) freed += batch.bytes[taken++]!;
    if (taken === 0) break;
    await spool.ack(batch, taken);
    dropped.push(...batch.lines.slice(0, taken));
  }
  return dropped;
}
