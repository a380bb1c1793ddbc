import { nextTurn } from "../event-loop-turn";

/**
 * Items weighing this many bytes in all (as `bytesOf` counts them) are weighed in one turn
 * of the event loop at most, plus the one that passes it. An upper bound counted by a walk
 * (`rowBytesAtMost`) of events of many small values puts millions of them in one write of
 * 32 MiB: weighed in one go, they held the event loop for 100-300 ms.
 */
const WEIGHED_PER_TURN_BYTES = 1024 * 1024;

/** How large one write of {@link writeInSlices} may be. */
export interface SliceLimit<T> {
  /** The most items per write; a positive integer. */
  readonly items: number;
  /** The most bytes per write, as {@link bytesOf} counts them; a single item larger than this goes alone. Read once per slice, when it starts. */
  readonly bytes: number;
  /** What one item weighs in a write, in bytes (an upper bound will do); asked once per item. */
  bytesOf(item: T): number;
}

/**
 * Writes `items` through `write` in consecutive slices of at most `limit.items` items and
 * `limit.bytes` bytes (at least one item each), each handed with its weight (the sum of
 * `bytesOf` its items), one write at a time, in order: each item
 * is handed to `write` exactly once, and a slice is written only once the one before it
 * resolved. Each write's synchronous part (a store building its statement or its COPY
 * text) then covers at most `limit.items` items, the event loop runs between the writes
 * and while the items are weighed (every {@link WEIGHED_PER_TURN_BYTES}), and no write (one
 * transaction of a store) grows with the items' sizes.
 *
 * When a slice's write throws, the items of the slices written before it (whole, in
 * order) are handed to `onPartial`, and the error is rethrown; the items of the
 * failed slice and of the slices after it are not.
 *
 * @returns the sum of what the writes returned.
 * @throws what a write throws (after `onPartial`).
 */
export async function writeInSlices<T>(
  items: readonly T[],
  limit: SliceLimit<T>,
  write: (slice: T[], bytes: number) => Promise<number>,
  onPartial: (written: readonly T[]) => void,
): Promise<number> {
  let total = 0;
  const writeSlice = async (from: number, to: number, weight: number) => {
    try {
      total += await write(items.slice(from, to), weight);
    } catch (error) {
      if (from > 0) onPartial(items.slice(0, from));
      throw error;
    }
  };
  let start = 0;
  let bytes = 0;
  let sliceBytes = limit.bytes;
  let sinceTurn = 0;
  for (let i = 0; i < items.length; i++) {
    if (sinceTurn >= WEIGHED_PER_TURN_BYTES) {
      sinceTurn = 0;
      await nextTurn();
    }
    // Weighed as the slices go, so the walk of later items waits for the earlier writes.
    const weight = limit.bytesOf(items[i]!);
    sinceTurn += weight;
    if (i > start && (i - start === limit.items || bytes + weight > sliceBytes)) {
      await writeSlice(start, i, bytes);
      start = i;
      bytes = 0;
      sliceBytes = limit.bytes;
    }
    bytes += weight;
  }
  if (start < items.length) await writeSlice(start, items.length, bytes);
  return total;
}
