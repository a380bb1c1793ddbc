/**
 * How long an answer that promises a record (an access refusal's 403 or 500) waits for
 * its event to be written before it is sent anyway: 250 ms, in milliseconds. A healthy
 * store writes well within it, so the answer usually follows the write; a store that
 * hangs holds the answer this long and no longer (the write goes on, see
 * {@link writeEventBounded}).
 */
export const ANSWER_WAITS_FOR_EVENT_MS = 250;

/** What became of an event written with {@link writeEventBounded} by the time the caller went on. */
export type BoundedWriteOutcome = "written" | "failed" | "pending";

/**
 * What {@link writeEventBounded} reports: `"failed"` (the write failed within the wait),
 * `"pending"` (the wait ran out; the write goes on), `"failed-late"` (a write that was
 * pending failed afterwards).
 */
export type BoundedWriteTrouble = "failed" | "pending" | "failed-late";

/**
 * Starts an event's write and waits for it at most `waitMs` milliseconds, so that a store
 * that hangs cannot hold the caller (a query, a refusal) with it. The write is never
 * abandoned: past the wait it goes on, and `report` is told `"pending"` at once and
 * `"failed-late"` (with the error) if it fails afterwards, so no event is dropped silently.
 * Never throws: a write that fails (or throws at once) is reported as `"failed"`.
 *
 * @param write starts the write (called once, at once).
 * @param waitMs the longest wait, in milliseconds (the timer does not keep the process alive).
 * @param report told of every trouble; must not throw (what it throws is ignored).
 * @returns how the write stood when the caller was let go.
 * @example
 * ```ts
 * await writeEventBounded(() => ctx.createEvent(order, content, { action: "Order.update", outcome: "denied" }), 2000,
 *   (trouble, error) => logger.warn(`the denial event is ${trouble}: ${String(error ?? "")}`));
 * ```
 */
export function writeEventBounded(
  write: () => Promise<unknown>,
  waitMs: number,
  report: (trouble: BoundedWriteTrouble, error?: unknown) => void,
): Promise<BoundedWriteOutcome> {
  const tell = (trouble: BoundedWriteTrouble, error?: unknown) => {
    try {
      report(trouble, error);
    } catch {
      // A failing reporter must not change what the caller does.
    }
  };
  return new Promise((resolve) => {
    let waiting = true;
    const timer = setTimeout(() => {
      waiting = false;
      tell("pending");
      resolve("pending");
    }, waitMs);
    timer.unref?.();
    Promise.resolve()
      .then(write)
      .then(
        () => {
          clearTimeout(timer);
          if (waiting) resolve("written");
        },
        (error: unknown) => {
          clearTimeout(timer);
          tell(waiting ? "failed" : "failed-late", error);
          if (waiting) resolve("failed");
        },
      );
  });
}
