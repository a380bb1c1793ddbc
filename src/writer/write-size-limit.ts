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
 * - the size of the next write: half the failed write's weight at each time limit, and
 *   twice as much after each write that succeeds, up to the ceiling;
 * - the ceiling: lowered to half the failed write's weight only when that write may have
 *   failed for its size: it was heavier than every write that succeeded since the last
 *   time limit, and it did not follow another time limit. Failures in a row (a database
 *   stuck on a lock or a disk fails every write, whatever its size) and a light write
 *   failing after heavier ones went (a lock wait, not a size) leave the ceiling alone, so
 *   once the database answers the writes are back to the ceiling within a few writes.
 *
 * The ceiling doubles back toward the configured size each
 * {@link WRITE_LIMIT_REGROWS_AFTER_MS} without a time limit: a database that stays slow
 * costs one more timeout every ten minutes at most. Sizes are in bytes as the writer
 * weighs events; time is read from `Date.now()`.
 *
 * @example
 * ```ts
 * const limit = new WriteSizeLimit(32 * 1024 * 1024);
 * limit.failed(expiredTransactionError, 40, 28_000_000); // 14 000 000
 * limit.bytes(); // 14 000 000
 * ```
 */
export class WriteSizeLimit {
  private current: number;
  private ceiling: number;
  /** When the last time limit was heard (0 before any). */
  private limitedAt = 0;
  /** Whether the last write heard of ran out of time. */
  private lastLimited = false;
  /** The heaviest write that succeeded since the last time limit (0 when none). */
  private heaviestSince = 0;

  /** @param configured the most bytes a write holds when writes keep within time (a positive number). */
  constructor(private readonly configured: number) {
    this.current = configured;
    this.ceiling = configured;
  }

  /** The most bytes the next write may hold. */
  bytes(): number {
    if (this.ceiling < this.configured && Date.now() - this.limitedAt >= WRITE_LIMIT_REGROWS_AFTER_MS) {
      this.ceiling = Math.min(this.configured, this.ceiling * 2);
      // The next ten minutes without a time limit start now.
      this.limitedAt = Date.now();
      this.current = this.ceiling;
    }
    return this.current;
  }

  /** Hears a write of `weight` bytes that succeeded: the next may be twice as large, up to the ceiling. */
  succeeded(weight: number): void {
    this.lastLimited = false;
    this.heaviestSince = Math.max(this.heaviestSince, weight);
    this.current = Math.min(this.ceiling, this.current * 2);
  }

  /**
   * Hears a failed write of `events` events weighing `weight` bytes. When it ran out of
   * time and held several events, the next write holds at most half its weight, and so
   * does the ceiling when the write may have failed for its size (see the class).
   *
   * @returns the next write's new size when it changed, else undefined.
   */
  failed(error: unknown, events: number, weight: number): number | undefined {
    if (events < 2 || !isTimeLimit(error)) return undefined;
    const halved = Math.max(1, Math.floor(weight / 2));
    if (!this.lastLimited && weight > this.heaviestSince) this.ceiling = Math.min(this.ceiling, halved);
    this.lastLimited = true;
    this.heaviestSince = 0;
    this.limitedAt = Date.now();
    if (halved >= this.current) return undefined;
    this.current = halved;
    return halved;
  }
}
