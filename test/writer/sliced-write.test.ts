import fc from "fast-check";

import { writeInSlices, type SliceLimit } from "../../src/writer/sliced-write";

/** Items are their own weight in bytes. */
const limitOf = (items: number, bytes: number): SliceLimit<number> => ({ items, bytes, bytesOf: (item) => item });
const sum = (slice: readonly number[]) => slice.reduce((a, b) => a + b, 0);

describe("writeInSlices", () => {
  it("reads the byte limit as each slice starts, and hands each write its slice's weight", async () => {
    // The limit doubles after each write, as the buffered writer's grows back when writes succeed.
    let bytes = 2;
    const limit: SliceLimit<number> = {
      items: 100,
      get bytes() {
        return bytes;
      },
      bytesOf: (item) => item,
    };
    const writes: { slice: number[]; weight: number }[] = [];
    await writeInSlices(Array.from({ length: 15 }, () => 1), limit, async (slice, weight) => {
      writes.push({ slice, weight });
      bytes *= 2;
      return slice.length;
    }, () => undefined);
    expect(writes.map((w) => [w.slice.length, w.weight])).toEqual([[2, 2], [4, 4], [8, 8], [1, 1]]);
  });

  it("hands every item to one write, once, in order, in slices within the item and byte limits, one write at a time", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat({ max: 50 }), { maxLength: 60 }), fc.integer({ min: 1, max: 25 }), fc.integer({ min: 1, max: 200 }), async (items, size, bytes) => {
        const slices: number[][] = [];
        let running = 0;
        let overlapped = false;
        const partial: number[][] = [];
        const total = await writeInSlices(
          items,
          limitOf(size, bytes),
          async (slice) => {
            overlapped ||= running > 0;
            running++;
            await Promise.resolve();
            slices.push(slice);
            running--;
            return slice.length * 10;
          },
          (written) => void partial.push([...written]),
        );
        expect(overlapped).toBe(false);
        expect(slices.flat()).toEqual(items);
        // Within both limits, a single item larger than the byte limit alone.
        expect(slices.every((slice) => slice.length >= 1 && slice.length <= size && (slice.length === 1 || sum(slice) <= bytes))).toBe(true);
        // No slice ends before a limit makes it: the next item would pass one.
        expect(slices.slice(0, -1).every((slice, i) => slice.length === size || sum(slice) + slices[i + 1]![0]! > bytes)).toBe(true);
        expect(total).toBe(items.length * 10);
        expect(partial).toEqual([]);
      }),
    );
  });

  it("when a slice fails: reports exactly the items written before it, writes nothing after it, and rethrows", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.nat({ max: 50 }), { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 1, max: 25 }),
        fc.integer({ min: 1, max: 200 }),
        fc.nat(),
        async (items, size, bytes, pick) => {
          const sliceCount = await writeInSlices(items, limitOf(size, bytes), async () => 1, () => undefined);
          const failing = pick % sliceCount;
          const written: number[] = [];
          const partial: number[][] = [];
          const failure = new Error("store down");
          let call = 0;
          await expect(
            writeInSlices(
              items,
              limitOf(size, bytes),
              async (slice) => {
                if (call++ === failing) throw failure;
                written.push(...slice);
                return slice.length;
              },
              (done) => void partial.push([...done]),
            ),
          ).rejects.toBe(failure);
          expect(call).toBe(failing + 1);
          expect(written).toEqual(items.slice(0, written.length));
          expect(written.length < items.length).toBe(true);
          expect(partial).toEqual(failing === 0 ? [] : [written]);
        },
      ),
    );
  });
});
