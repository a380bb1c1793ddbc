import fc from "fast-check";

import { writeInSlices } from "../../src/writer/sliced-write";

describe("writeInSlices", () => {
  it("hands every item to one write, once, in order, in slices of at most the size, one write at a time", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer(), { maxLength: 60 }), fc.integer({ min: 1, max: 25 }), async (items, size) => {
        const slices: number[][] = [];
        let running = 0;
        let overlapped = false;
        const partial: number[][] = [];
        const total = await writeInSlices(
          items,
          size,
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
        expect(slices.every((slice) => slice.length >= 1 && slice.length <= size)).toBe(true);
        expect(slices.slice(0, -1).every((slice) => slice.length === size)).toBe(true);
        expect(total).toBe(items.length * 10);
        expect(partial).toEqual([]);
      }),
    );
  });

  it("when a slice fails: reports exactly the items written before it, writes nothing after it, and rethrows", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer(), { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 1, max: 25 }),
        fc.nat(),
        async (items, size, pick) => {
          const sliceCount = Math.ceil(items.length / size);
          const failing = pick % sliceCount;
          const written: number[] = [];
          const partial: number[][] = [];
          const failure = new Error("store down");
          let call = 0;
          await expect(
            writeInSlices(
              items,
              size,
              async (slice) => {
                if (call++ === failing) throw failure;
                written.push(...slice);
                return slice.length;
              },
              (done) => void partial.push([...done]),
            ),
          ).rejects.toBe(failure);
          expect(call).toBe(failing + 1);
          expect(written).toEqual(items.slice(0, failing * size));
          expect(partial).toEqual(failing === 0 ? [] : [items.slice(0, failing * size)]);
        },
      ),
    );
  });
});
