import fc from "fast-check";

import { boundJson, JSON_COLUMN_MAX_DEPTH } from "../../src/column-limits";
import type { JsonObject, JsonValue } from "../../src/model/json";

/** Whether `value` holds a container `depth` levels below itself: what boundJson must cut. */
function hasContainerAt(value: JsonValue, depth: number): boolean {
  if (value === null || typeof value !== "object") return false;
  if (depth === 0) return true;
  return (Array.isArray(value) ? value : Object.values(value)).some((item) => hasContainerAt(item, depth - 1));
}

/** `inner` wrapped in `levels` objects or arrays. */
function nest(inner: JsonValue, levels: number, asArray: boolean): JsonObject {
  let value = inner;
  for (let i = 0; i < levels; i++) value = asArray && i % 2 === 0 ? [value] : { k: value };
  return { root: value };
}

// Strings that JSON escapes (controls, quotes, backslashes, lone surrogates) or writes as
// several UTF-8 bytes, so the bytes a value takes are far from its length.
const text = fc.oneof(fc.string({ unit: "binary" }), fc.string({ unit: fc.constantFrom("\u0000", "\u001f", '"', "\\", "\ud800", "é", "😀", "a") }));
const json = fc.letrec<{ value: JsonValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.constant(null),
    fc.boolean(),
    fc.double(),
    fc.integer(),
    text,
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(text, tie("value"), { maxKeys: 4 }),
  ),
})).value;

describe("boundJson returns a value as itself exactly when it fits", () => {
  it("holds for any JSON under any byte limit, at any depth around the limit", () => {
    fc.assert(
      fc.property(
        json,
        fc.integer({ min: JSON_COLUMN_MAX_DEPTH - 3, max: JSON_COLUMN_MAX_DEPTH + 1 }),
        fc.boolean(),
        fc.boolean(),
        fc.integer({ min: 80, max: 600 }),
        (inner, levels, asArray, nested, maxBytes) => {
          const value = nested ? nest(inner, levels, asArray) : { inner };
          const fits = !hasContainerAt(value, JSON_COLUMN_MAX_DEPTH) && Buffer.byteLength(JSON.stringify(value), "utf8") <= maxBytes;
          const bounded = boundJson(value, maxBytes);
          expect(bounded === value).toBe(fits);
          if (!fits) expect(Buffer.byteLength(JSON.stringify(bounded), "utf8")).toBeLessThanOrEqual(maxBytes);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
