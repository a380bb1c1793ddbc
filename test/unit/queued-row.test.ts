import { isoInstant } from "../../src/iso-instant";
import { queuedRow } from "../../src/writer/queued-row";
import { sampleRecord } from "../conformance/store-conformance";

describe("queuedRow", () => {
  it("shares no container, Date or byte array with the row it copies, at any depth", () => {
    const row = { ...sampleRecord({ content: { order: { lines: [{ sku: "A-1" }] } } }), photo: Buffer.from([1, 2]), bytes: new Uint8Array([3]), seenAt: new Date(5) };
    const queued = queuedRow(row);
    expect(queued).toEqual(row);
    (row.content.order as { lines: { sku: string }[] }).lines[0]!.sku = "changed";
    (row.headers as Record<string, unknown>).added = "x";
    row.timestamp.setTime(0);
    row.seenAt.setTime(0);
    row.photo[0] = 9;
    row.bytes[0] = 9;
    expect(queued.content).toEqual({ order: { lines: [{ sku: "A-1" }] } });
    expect(queued.headers).not.toHaveProperty("added");
    expect(queued.timestamp.getTime()).not.toBe(0);
    expect([(queued.seenAt as Date).getTime(), (queued.photo as Buffer)[0], (queued.bytes as Uint8Array)[0]]).toEqual([5, 1, 3]);
    expect(Buffer.isBuffer(queued.photo)).toBe(true);
    expect(Buffer.isBuffer(queued.bytes)).toBe(false);
  });

  it("keeps an own __proto__ key as a key, and a prototype-less object prototype-less", () => {
    const content = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as Record<string, unknown>;
    const bare = Object.assign(Object.create(null) as Record<string, unknown>, { k: { v: 1 } });
    const queued = queuedRow({ ...sampleRecord({ content: content as never }), bare });
    expect(Object.getPrototypeOf(queued.content)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(queued.content, "__proto__")?.value).toEqual({ polluted: true });
    expect(JSON.stringify(queued.content)).toBe(JSON.stringify(content));
    expect(Object.getPrototypeOf(queued.bare)).toBeNull();
    (bare.k as { v: number }).v = 2;
    expect(queued.bare).toEqual(Object.assign(Object.create(null), { k: { v: 1 } }));
  });

  it("keeps a cycle as it is rather than copying it forever", () => {
    const cyclic: Record<string, unknown> = { n: 1 };
    cyclic.self = cyclic;
    const queued = queuedRow({ ...sampleRecord(), cyclic });
    expect((queued.cyclic as Record<string, unknown>).self).toBe(cyclic);
  });
});

describe("isoInstant", () => {
  it("formats each instant as toISOString does, the same instant twice and others in between", () => {
    for (const time of [0, 0, 1, 1_764_547_200_123, 1_764_547_200_123, -62_198_755_200_000, 253_402_300_800_000, 1]) {
      expect(isoInstant(new Date(time))).toBe(new Date(time).toISOString());
    }
  });

  it("throws for an invalid Date, as toISOString does", () => {
    expect(() => isoInstant(new Date(Number.NaN))).toThrow(RangeError);
  });
});
