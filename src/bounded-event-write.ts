/**
 * How long an answer that promises a record (an access refusal's 403 or 500) waits for
 * its event to be written before it is sent anyway: 250 ms, in milliseconds. A healthy
 * store writes well within it, so the answer usually follows the write; a store that
 * hangs holds the answer this long and no longer (the write goes on, see
 * {@link writeEventWithin}).
 */
export const ANSWER_WAITS_FOR_EVENT_MS = 250;

/** How a bounded write stood when the wait ended. */
export type BoundedWriteState = "written" | "failed" | "pending";

/**
 * Starts an event's write now and waits for it at most `waitMs` milliseconds: resolves
 * `"written"` or `"failed"` when the write settles within the wait, else `"pending"`
 * when the wait runs out, while the write goes on. Never rejects. A failure, however
 * late it comes, is handed to `onFailure` (which logs and counts it), so an event that
 * is not written is never dropped silently; `onFailure` must not throw.
 *
 * @param write starts the write (`() => context.createEvent(...)`); a synchronous throw
 *   counts as a failure.
 * @param waitMs the longest wait, in milliseconds; the timer does not keep the process alive.
 * @example
 * ```ts
 * await writeEventWithin(() => context.createEvent(request, content, meta), ANSWER_WAITS_FOR_EVENT_MS, report);
 * res.status(403).json({ error: reason }); // at most 250 ms later, written or not
 * ```
 */
export function writeEventWithin(write: () => Promise<unknown>, waitMs: number, onFailure: (error: unknown) => void): Promise<BoundedWriteState> {
  let written: Promise<BoundedWriteState>;
  try {
    written = write().then(
      () => "written" as const,
      (error: unknown) => {
        onFailure(error);
        return "failed" as const;
      },
    );
  } catch (error) {
    onFailure(error);
    return Promise.resolve("failed");
  }
  let timer: NodeJS.Timeout | undefined;
  const waited = new Promise<BoundedWriteState>((resolve) => {
    timer = setTimeout(() => resolve("pending"), waitMs);
    timer.unref();
  });
  return Promise.race([written, waited]).finally(() => clearTimeout(timer));
}
