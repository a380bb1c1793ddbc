import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import fc from "fast-check";
import { decodeHeadFile, encodeHeadSlot, HEAD_SLOT_BYTES, openSpoolHeadFile, readSpoolHead, type SpoolHead } from "../../src/writer/spool-head-file";

const dir = mkdtempSync(path.join(tmpdir(), "audit-spool-head-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const nextFile = () => path.join(dir, `spool-${++files}.log.head`);

const arbHead: fc.Arbitrary<SpoolHead> = fc.oneof(
  fc.record({ offset: fc.maxSafeNat() }),
  fc.record({ offset: fc.maxSafeNat(), compactedInode: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) }),
);

/** The head file's bytes after writing `heads` in turn from generation 1, as `openSpoolHeadFile` does (slot = generation % 2). */
function fileAfter(heads: readonly SpoolHead[], start: Buffer = Buffer.alloc(0)): Buffer {
  const bytes = Buffer.alloc(Math.max(start.length, 2 * HEAD_SLOT_BYTES));
  start.copy(bytes);
  heads.forEach((head, i) => encodeHeadSlot(i + 1, head).copy(bytes, ((i + 1) % 2) * HEAD_SLOT_BYTES));
  return bytes;
}

describe("the head file's two slots", () => {
  it("give back the head written last, whatever the heads and however many", () => {
    fc.assert(
      fc.property(fc.array(arbHead, { minLength: 1, maxLength: 12 }), (heads) => {
        expect(decodeHeadFile(fileAfter(heads)).head).toEqual(heads.at(-1));
      }),
      { numRuns: 2_000 },
    );
  });

  it("give back the head before or the new one, never another, when a write is torn anywhere with anything after the tear", () => {
    fc.assert(
      fc.property(
        fc.array(arbHead, { minLength: 1, maxLength: 8 }),
        arbHead,
        fc.nat({ max: HEAD_SLOT_BYTES }),
        fc.oneof(fc.constant("old" as const), fc.constant("zeros" as const), fc.uint8Array({ minLength: HEAD_SLOT_BYTES, maxLength: HEAD_SLOT_BYTES })),
        (heads, next, written, rest) => {
          const before = fileAfter(heads);
          const slotAt = ((heads.length + 1) % 2) * HEAD_SLOT_BYTES;
          const torn = Buffer.from(before);
          if (rest === "zeros") torn.fill(0, slotAt, slotAt + HEAD_SLOT_BYTES);
          else if (rest !== "old") Buffer.from(rest).copy(torn, slotAt);
          encodeHeadSlot(heads.length + 1, next).copy(torn, slotAt, 0, written);
          const found = decodeHeadFile(torn).head;
          if (written === HEAD_SLOT_BYTES) expect(found).toEqual(next);
          else expect([heads.at(-1), next]).toContainEqual(found);
        },
      ),
      { numRuns: 3_000 },
    );
  });

  it("read the form written before the slots, alone and until the first slot overwrites it", () => {
    fc.assert(
      fc.property(arbHead, fc.array(arbHead, { maxLength: 3 }), fc.constantFrom("", "\n", " "), (legacy, heads, padding) => {
        const text = legacy.compactedInode === undefined ? `${legacy.offset}` : `${legacy.offset} ${legacy.compactedInode}`;
        const start = Buffer.from(text + padding, "latin1");
        expect(decodeHeadFile(start).head).toEqual(legacy);
        // Open writes the legacy head into slot 1 (generation 1): slot 0 keeps the legacy text until generation 2.
        expect(decodeHeadFile(fileAfter([legacy, ...heads], start)).head).toEqual(heads.at(-1) ?? legacy);
      }),
      { numRuns: 1_000 },
    );
  });

  it("read nothing (the spool replays from its start) from bytes that hold no valid slot nor the legacy form", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 3 * HEAD_SLOT_BYTES }), (bytes) => {
        const text = Buffer.from(bytes).toString("latin1");
        fc.pre(!/^\s*\d/.test(text));
        expect(decodeHeadFile(Buffer.from(bytes)).head).toBeUndefined();
      }),
      { numRuns: 2_000 },
    );
    const slot = encodeHeadSlot(3, { offset: 42 });
    // One character changed anywhere in a slot: its checksum no longer matches.
    for (let i = 0; i < HEAD_SLOT_BYTES - 1; i++) {
      const changed = Buffer.from(slot);
      changed[i] = changed[i] === 0x31 ? 0x32 : 0x31;
      expect(decodeHeadFile(Buffer.concat([changed, Buffer.alloc(HEAD_SLOT_BYTES)])).head).toBeUndefined();
    }
  });
});

describe("openSpoolHeadFile()", () => {
  it("creates the file at its full size, stores each head in place, and a later open finds the last one", async () => {
    const file = nextFile();
    const head = await openSpoolHeadFile(file);
    expect(head.stored).toBeUndefined();
    expect(statSync(file).size).toBe(2 * HEAD_SLOT_BYTES);
    const { ino } = statSync(file, { bigint: true });
    for (const offset of [10, 20, 30]) await head.write({ offset });
    await head.write({ offset: 40, compactedInode: 123n });
    await head.close();
    // In place: the same file, the same size (no new disk block), never renamed over.
    expect(statSync(file, { bigint: true }).ino).toBe(ino);
    expect(statSync(file).size).toBe(2 * HEAD_SLOT_BYTES);
    expect(await readSpoolHead(file)).toEqual({ offset: 40, compactedInode: 123n });
    const again = await openSpoolHeadFile(file);
    expect(again.stored).toEqual({ offset: 40, compactedInode: 123n });
    await again.write({ offset: 50 });
    await again.close();
    expect(await readSpoolHead(file)).toEqual({ offset: 50 });
  });

  it("takes over a head file an earlier version wrote, and a version that reads only that form replays from the start", async () => {
    const file = nextFile();
    writeFileSync(file, "4096 77");
    const head = await openSpoolHeadFile(file);
    expect(head.stored).toEqual({ offset: 4096, compactedInode: 77n });
    expect(readFileSync(file, "latin1").startsWith("4096 77\0")).toBe(true);
    await head.write({ offset: 8192 });
    await head.close();
    expect(await readSpoolHead(file)).toEqual({ offset: 8192 });
    // What an earlier version's open did with the file: /^(\d+)(?: (\d+))?$/ on its trimmed text.
    expect(/^(\d+)(?: (\d+))?$/.exec(readFileSync(file, "utf8").trim())).toBeNull();
  });

  it("keeps the head before when a write is torn (half written, then the disk fails), and the next write goes on from it", async () => {
    const file = nextFile();
    const head = await openSpoolHeadFile(file);
    await head.write({ offset: 100 });
    await head.write({ offset: 150 });
    const probe = await open(__filename, "r");
    const proto = Object.getPrototypeOf(probe) as FileHandle;
    await probe.close();
    const write = proto.write as (this: FileHandle, data: Buffer, offset: number, length: number, position: number) => Promise<{ bytesWritten: number }>;
    const tear = jest.spyOn(proto, "write").mockImplementationOnce(async function (this: FileHandle, data: unknown, offset?: unknown, _length?: unknown, position?: unknown) {
      await write.call(this, data as Buffer, offset as number, 10, position as number);
      throw Object.assign(new Error("EIO: the disk failed (test)"), { code: "EIO" });
    } as FileHandle["write"]);
    await expect(head.write({ offset: 200 })).rejects.toThrow(/EIO/);
    tear.mockRestore();
    expect(await readSpoolHead(file)).toEqual({ offset: 150 });
    await head.write({ offset: 300 });
    expect(await readSpoolHead(file)).toEqual({ offset: 300 });
    await head.write({ offset: 400 });
    await head.close();
    expect(await readSpoolHead(file)).toEqual({ offset: 400 });
  });
});

describe("a generation at the end of the safe integers", () => {
  it("still gives back the head written last (a file whose generation cannot grow is renumbered when opened)", async () => {
    const file = nextFile();
    // Generation 2^53 - 1 (odd: slot 1), as a planted or damaged file may hold it: the next, 2^53, is no safe integer.
    const planted = Buffer.alloc(2 * HEAD_SLOT_BYTES);
    encodeHeadSlot(Number.MAX_SAFE_INTEGER - 1, { offset: 1 }).copy(planted, 0);
    encodeHeadSlot(Number.MAX_SAFE_INTEGER, { offset: 5, compactedInode: 9n }).copy(planted, HEAD_SLOT_BYTES);
    writeFileSync(file, planted);
    const head = await openSpoolHeadFile(file);
    expect(head.stored).toEqual({ offset: 5, compactedInode: 9n });
    // Renumbered or not, the head found is what the file says until a write.
    expect(await readSpoolHead(file)).toEqual({ offset: 5, compactedInode: 9n });
    for (const offset of [10, 20, 30]) {
      await head.write({ offset });
      expect(await readSpoolHead(file)).toEqual({ offset });
    }
    await head.close();
    // What the renumbering writes (generation 2 in slot 0, then 3 in slot 1), torn anywhere: the head found, still.
    const found = { offset: 5, compactedInode: 9n };
    const first = Buffer.from(planted);
    for (let written = 0; written <= HEAD_SLOT_BYTES; written++) {
      const torn = Buffer.from(planted);
      encodeHeadSlot(2, found).copy(torn, 0, 0, written);
      expect(decodeHeadFile(torn).head).toEqual(found);
    }
    encodeHeadSlot(2, found).copy(first, 0);
    for (let written = 0; written <= HEAD_SLOT_BYTES; written++) {
      const torn = Buffer.from(first);
      encodeHeadSlot(3, found).copy(torn, HEAD_SLOT_BYTES, 0, written);
      expect(decodeHeadFile(torn).head).toEqual(found);
    }
  });
});
