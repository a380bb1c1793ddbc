import fc from "fast-check";

import type { EventRow } from "../../src/stores/store";
import { rowBytesAtMost } from "../../src/writer/row-bytes";

/**
 * `rowBytesAtMost` bounds what a store sends for a row, whichever store: a row weighed
 * below one of its forms let a write pass its byte bound. The forms a value takes:
 * - its JSON text with every backslash doubled (COPY's text format through `pgPool`);
 * - a byte array as a column's hex (`\x…`), wherever it stands;
 * - a byte array as JSON writes it: a Buffer by its toJSON, another typed array as an
 *   object of its indexes. MariaDB sends a Json column's whole value so; a top-level
 *   Buffer was counted as hex there, half of its `{"type":"Buffer","data":[…]}`.
 */

const utf8 = (text: string) => Buffer.byteLength(text, "utf8");

/** The row's values as JSON writes them, backslashes doubled as COPY does. */
function copyJsonBytes(row: Record<string, unknown>): number {
  return utf8(JSON.stringify(row).replaceAll("\\", "\\\\"));
}

/** The row with each of its byte arrays, at any depth, as hex text `\x…` (PostgreSQL's form of a Bytes column or a Json column's whole value). */
function hexBytes(row: Record<string, unknown>): number {
  const hex = (value: unknown): unknown => {
    if (ArrayBuffer.isView(value)) return `\\x${Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("hex")}`;
    if (Array.isArray(value)) return value.map(hex);
    if (value !== null && typeof value === "object" && !(value instanceof Date)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, hex(v)]));
    return value;
  };
  return copyJsonBytes(hex(row) as Record<string, unknown>);
}

const byteArray = fc.oneof(
  fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
  fc.uint8Array({ maxLength: 300 }),
  fc.uint8Array({ maxLength: 40 }).map((bytes) => new Uint16Array(bytes)),
);
const scalar = fc.oneof(fc.string({ unit: "binary", maxLength: 40 }), fc.double(), fc.integer(), fc.boolean(), fc.constant(null), fc.date({ noInvalidDate: true }));
const { value } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof({ depthSize: "small" }, scalar, byteArray, fc.array(tie("value"), { maxLength: 4 }), fc.dictionary(fc.string({ unit: "binary", maxLength: 8 }), tie("value"), { maxKeys: 4 })),
}));
const row = fc.dictionary(fc.string({ maxLength: 10 }), value, { maxKeys: 6 });

describe("rowBytesAtMost", () => {
  it("is never below the row's JSON with COPY's escapes, nor below its byte arrays as hex", () => {
    fc.assert(
      fc.property(row, (generated) => {
        const weight = rowBytesAtMost(generated as unknown as EventRow);
        expect(weight).toBeGreaterThanOrEqual(copyJsonBytes(generated));
        expect(weight).toBeGreaterThanOrEqual(hexBytes(generated));
      }),
      { numRuns: 2000 },
    );
  });

  it.each([
    ["a Buffer", Buffer.alloc(10_000, 255)],
    ["a Uint8Array", new Uint8Array(10_000).fill(255)],
    ["an empty Buffer", Buffer.alloc(0)],
  ])("weighs %s as a Json column's whole value at least as JSON writes it", (_name, bytes) => {
    const weight = rowBytesAtMost({ extra: bytes } as unknown as EventRow);
    expect(weight).toBeGreaterThanOrEqual(copyJsonBytes({ extra: bytes }));
    expect(weight).toBeGreaterThanOrEqual(hexBytes({ extra: bytes }));
  });
});
