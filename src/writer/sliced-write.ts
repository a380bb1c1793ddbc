/**
 * Writes `items` through `write` in consecutive slices of at most `size` items, one
 * write at a time, in order: each item is handed to `write` exactly once, and a slice
 * is written only once the one before it resolved. Each write's synchronous part (a
 * store building its statement or its COPY text) then covers at most `size` items,
 * and the event loop runs between the writes, while each one waits for its reply.
 *
 * When a slice's write throws, the items of the slices written before it (whole, in
 * order) are handed to `onPartial`, and the error is rethrown; the items of the
 * failed slice and of the slices after it are not.
 *
 * @param size the most items per write; a positive integer.
 * @returns the sum of what the writes returned.
 * @throws what a write throws (after `onPartial`).
 */
export async function writeInSlices<T>(
  items: readonly T[],
  size: number,
  write: (slice: T[]) => Promise<number>,
  onPartial: (written: readonly T[]) => void,
): Promise<number> {
  let total = 0;
  for (let at = 0; at < items.length; at += size) {
    try {
      total += await write(items.slice(at, at + size));
    } catch (error) {
      if (at > 0) onPartial(items.slice(0, at));
      throw error;
    }
  }
  return total;
}
