import { isTimeLimit } from "../stores/store-failure";

/**
 * After this long without a write running out of time, the limit doubles back toward its
 * configured size: a database slow for a while (a burst of load, a vacuum) gets its large
 * writes back, while one that stays slow costs one more timeout every ten minutes at most.
 */
export const WRITE_LIMIT_REGROWS_AFTER_MS = 10 * 60_000;

/**
 * How many bytes one write of the buffered writer may hold: the configured size until a
 * write of several events runs out of time (a transaction or statement limit, see
 * `isTimeLimit`), then less, so that the retry (after the writer's pause) is smaller: the
 * same write would fail the same way at every retry. A write of one event always goes (a
 * slice holds at least one), so a database that takes rows slowly, whatever their size
 * (a trigger, many indexes), gets them one by one at worst.
 *
 * Two sizes are kept, as TCP's congestion window and slow-start threshold are (RFC 5681):
 * - the size of the next write: halved to half the failed write's weight at each time
 *   limit, and doubled after each write that succeeds, up to the ceiling;
 * - the ceiling: half the failed write's weight when the write failed after a success
 *   (the database was writing, and this size was too much for it), or at the first
 *   failure. Failures in a row without a success between them (a database stuck on a
 *   lock or a disk, which fails every write whatever its size) lower the next write's
 *   size but not the ceiling, so once the database answers again the writes are back to
 *   the ceiling within a few writes.
 *
 * The ceiling doubles back toward the configured size each
 * {@link WRITE_LIMIT_REGROWS_AFTER_MS} without a time limit: a database that stays slow
 * costs one more timeout every ten minutes at most. Sizes are in bytes as the writer
 * weighs events; time is read from `Date.now()`.
 *
 * @example
 * ```ts
 * const limit = new WriteSizeLimit(32 * 1024 * 1024);
 * limit.failed(expiredTransactionError, 40, 28_000_000);
 * limit.bytes(); // 14 000 000
 * ```
 */
export class WriteSizeLimit {
  private current: number;
  private ceiling: number;
  private ceilingAt = 0;
  /** Whether a write succeeded since the last time limit (true before any). */
  private succeededSince = true;

  /** @param configured the most bytes a write holds when writes keep within time (a positive number). */
  constructor(private readonly configured: number) {
    this.current = configured;
    this.ceiling = configured;
  }

  /** The most bytes the next write may hold. */
  bytes(): number {
    if (this.ceiling < this.configured && Date.now() - this.ceilingAt >= WRITE_LIMIT_REGROWS_AFTER_MS) {
      this.ceiling = Math.min(this.configured, this.ceiling * 2);
      this.ceilingAt = Date.now();
      this.current = this.ceiling;
    }
    return this.current;
  }

  /** Hears a write that succeeded: the next may be twice as large, up to the ceiling. */
  succeeded(): void {
    this.succeededSince = true;
    this.current = Math.min(this.ceiling, this.current * 2);
  }

  /**
   * Hears a failed write of `events` events weighing `weight` bytes: when it ran out of
   * time and held several events, the next write holds at most half its weight, and so
   * does the ceiling when a write succeeded since the last time limit. Returns whether
   * the next write's size changed.
   */
  failed(error: unknown, events: number, weight: number): boolean {
    if (events < 2 || !isTimeLimit(error)) return false;
    const halved = Math.max(1, Math.floor(weight / 2));
    if (this.succeededSince) {
      this.ceiling = Math.min(this.ceiling, halved);
      this.ceilingAt = Date.now();
    }
    this.succeededSince = false;
    if (halved >= this.current) return false;
    this.current = halved;
    return true;
  }
}
