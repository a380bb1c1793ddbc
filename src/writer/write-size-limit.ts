import { isTimeLimit } from "../stores/store-failure";

/**
 * Writes are not made smaller than this by {@link WriteSizeLimit} (as the buffered writer
 * weighs events, an upper bound of up to 7 times their JSON): a write this small that runs
 * out of time says the database is stuck (a lock, a stalled disk), not that the write is
 * too large for it, and halving it again would only add timeouts before the next retry.
 */
export const SMALLEST_LIMITED_WRITE_BYTES = 1024 * 1024;

/**
 * After this long without a write running out of time, the limit doubles back toward its
 * configured size: a database slow for a while (a burst of load, a vacuum) gets its large
 * writes back, while one that stays slow costs one more timeout every ten minutes at most.
 */
export const WRITE_LIMIT_REGROWS_AFTER_MS = 10 * 60_000;

/**
 * How many bytes one write of the buffered writer may hold: the configured size until a
 * write of several events runs out of time (a transaction or statement limit, see
 * `isTimeLimit`), then half of that write's weight, never below
 * {@link SMALLEST_LIMITED_WRITE_BYTES}, so that the retry (after the writer's pause) is
 * smaller: the same write would fail the same way at every retry. Doubles back each
 * {@link WRITE_LIMIT_REGROWS_AFTER_MS} without such a failure. Sizes are in bytes as the
 * writer weighs events; time is read from `Date.now()`.
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
   * time and held several events, the limit becomes half its weight (not below the
   * smallest). Returns whether the limit changed.
   */
  failed(error: unknown, events: number, weight: number): boolean {
    const floor = Math.min(SMALLEST_LIMITED_WRITE_BYTES, this.configured);
    if (events < 2 || weight <= floor || !isTimeLimit(error)) return false;
    const halved = Math.max(floor, Math.floor(weight / 2));
    if (halved >= this.current) return false;
    this.current = halved;
    this.changedAt = Date.now();
    return true;
  }
}
