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
 * `isTimeLimit`), then half of that write's weight, so that the retry (after the writer's
 * pause) is smaller: the same write would fail the same way at every retry. A write of one
 * event always goes (a slice holds at least one), so a database that takes rows slowly,
 * whatever their size (a trigger, many indexes), gets them one by one at worst. Doubles
 * back each {@link WRITE_LIMIT_REGROWS_AFTER_MS} without such a failure, so a database
 * stuck for a while (which fails every write, whatever its size) leaves smaller writes
 * behind it for up to that long per halving. Sizes are in bytes as the writer weighs
 * events; time is read from `Date.now()`.
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
  private changedAt = 0;

  /** @param configured the most bytes a write holds when writes keep within time (a positive number). */
  constructor(private readonly configured: number) {
    this.current = configured;
  }

  /** The most bytes the next write may hold. */
  bytes(): number {
    if (this.current < this.configured && Date.now() - this.changedAt >= WRITE_LIMIT_REGROWS_AFTER_MS) {
      this.current = Math.min(this.configured, this.current * 2);
      this.changedAt = Date.now();
    }
    return this.current;
  }

  /**
   * Hears a failed write of `events` events weighing `weight` bytes: when it ran out of
   * time and held several events, the limit becomes half its weight. Returns whether the
   * limit changed.
   */
  failed(error: unknown, events: number, weight: number): boolean {
    if (events < 2 || !isTimeLimit(error)) return false;
    const halved = Math.max(1, Math.floor(weight / 2));
    if (halved >= this.current) return false;
    this.current = halved;
    this.changedAt = Date.now();
    return true;
  }
}
