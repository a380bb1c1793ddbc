/**
 * Property: `duplicateJsonKey` finds a duplicate key in any JSON text that has one (keys
 * compared as decoded: a key spelled with escapes is the same key), and none in any text
 * without, whatever the strings hold (quotes, backslashes, colons, commas, braces) and
 * however the text is spaced; its texts are the ones `JSON.parse` reads.
 */
import fc from "fast-check";

import { duplicateJsonKey } from "../../src/stores/json-duplicate-key";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A key's spelling: as JSON.stringify writes it, or every character as a \u escape. */
function spell(key: string, escaped: boolean): string {
  return escaped ? `"${Array.from({ length: key.length }, (_, i) => `\\u${key.charCodeAt(i).toString(16).padStart(4, "0")}`).join("")}"` : JSON.stringify(key);
}

/** JSON text of `value`, spaced and spelled by `choices`; with `inject`, some objects get a key again. Returns the keys given twice. */
function write(value: Json, choices: Iterator<number>, inject: boolean, duplicated: Set<string>): string {
  const pick = (n: number) => choices.next().value! % n;
  const space = () => [" ", "", "\n\t", ""][pick(4)]!;
  if (Array.isArray(value)) return `[${space()}${value.map((item) => write(item, choices, inject, duplicated)).join(`${space()},${space()}`)}${space()}]`;
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  const entries = Object.entries(value).map(([key, item]) => [key, item] as const);
  if (inject && entries.length > 0 && pick(2) === 0) {
    const [key] = entries[pick(entries.length)]!;
    entries.splice(pick(entries.length + 1), 0, [key, pick(2) === 0 ? "again" : { again: [1, '"}:,'] }]);
    duplicated.add(key);
  }
  return `{${space()}${entries.map(([key, item]) => `${spell(key, pick(3) === 0)}${space()}:${space()}${write(item as Json, choices, inject, duplicated)}`).join(`${space()},${space()}`)}${space()}}`;
}

const keyText = fc.oneof(fc.string(), fc.constantFrom('"', "\\", ":", ",", "{", "}", "[", '"a":1,"a"', "__proto__", "é😀", ""), fc.string({ unit: "binary" }));
const json: fc.Arbitrary<Json> = fc.letrec<{ value: Json }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.oneof(fc.constant(null), fc.boolean(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.string(), keyText),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.dictionary(keyText, tie("value"), { maxKeys: 5 }),
  ),
})).value;

describe("duplicateJsonKey", () => {
  it("finds a key given twice in an object, and nothing in text without one", () => {
    fc.assert(
      fc.property(json, fc.boolean(), fc.infiniteStream(fc.nat()), (value, inject, choices) => {
        const duplicated = new Set<string>();
        const text = write(value, choices[Symbol.iterator](), inject, duplicated);
        const parsed: unknown = JSON.parse(text);
        const found = duplicateJsonKey(text);
        if (duplicated.size === 0) {
          expect(parsed).toEqual(JSON.parse(JSON.stringify(value)));
          expect(found).toBeUndefined();
        } else {
          expect(found).toBeDefined();
          expect(duplicated).toContain(found);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("reads nesting of any depth, and keys spelled with escapes as the key they decode to", () => {
    expect(duplicateJsonKey(`{"a":${"[".repeat(100_000)}${"]".repeat(100_000)},"a":1}`)).toBe("a");
    expect(duplicateJsonKey('{"action":"refund","\\u0061ction":"view"}')).toBe("action");
    expect(duplicateJsonKey('{"a":{"b":1},"c":{"b":2},"s":"\\"a\\":1"}')).toBeUndefined();
  });
});
