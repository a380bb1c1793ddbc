import canonicalize from "canonicalize";
import fc from "fast-check";

import { canonicalEventText, eventHash, HASHED_FIELDS } from "../../src/integrity/canonical-event";
import { canonicalJson } from "../../src/integrity/canonical-json";
import type { AuditEventRecord } from "../../src/model/event-record";
import { recordArbitrary, reversedKeys } from "./record-arbitrary";

/** Any code point, or half of a surrogate pair on its own. */
const anyChar = fc.oneof(fc.string({ unit: "binary", minLength: 1, maxLength: 1 }), fc.integer({ min: 0xd800, max: 0xdfff }).map((unit) => String.fromCharCode(unit)));
/** Any text: lone surrogates, quotes, backslashes, control characters, U+2028, emoji. */
const anyText = fc.oneof(fc.string({ unit: anyChar, maxLength: 12 }), fc.constantFrom('"', "\\", "\u2028", "\u007f", "😀", "é", "\u0000"));
/** Object keys, with those JavaScript orders first whatever their insertion order (array indexes) and the prototype's name. */
const anyKey = fc.oneof(anyText, fc.constantFrom("0", "1", "9", "10", "01", "4294967294", "4294967295", "-1", "__proto__", "constructor", "toJSON!", ""));
/** Numbers at the edges of ECMAScript's formatting: -0, 1e21 and past, tiny and subnormal floats, the non-finite (refused). */
const anyNumber = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.constantFrom(-0, 0, 1e21, 1e-7, 1e-6, 123456789012345680000, 5e-324, -5e-324, Number.MAX_VALUE, Number.MIN_VALUE, Number.MAX_SAFE_INTEGER + 2, 0.1 + 0.2, 1 / 3),
);
/** JSON-ish values with the odd things JavaScript objects hold: undefined and symbols (left out, or null in arrays), Dates (their toJSON), nested arrays. */
const { value: anyValue } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    anyNumber,
    anyText,
    fc.constant(undefined),
    fc.constant(Symbol.for("not JSON")),
    fc.date(),
    fc.array(tie("value"), { maxLength: 5 }),
    fc.array(fc.tuple(anyKey, tie("value")), { maxLength: 6 }).map((entries) => {
      // Defined, not assigned: "__proto__" is an own key, as JSON.parse makes it.
      const object: Record<string, unknown> = {};
      for (const [key, item] of entries) Object.defineProperty(object, key, { value: item, enumerable: true, configurable: true, writable: true });
      return object;
    }),
  ),
}));

/** What `f` gives, or the message it throws. */
function outcome(f: () => unknown): unknown {
  try {
    return { text: f() };
  } catch (error) {
    return { threw: error instanceof Error ? error.message : String(error) };
  }
}

/** The RFC 8785 text of an event as the reference implementation writes it: every hashed field, the timestamp as its ISO text. */
function referenceEventText(record: AuditEventRecord): string | undefined {
  const fields: Record<string, unknown> = {};
  for (const field of HASHED_FIELDS) fields[field] = field === "timestamp" ? record.timestamp.toISOString() : (record[field] ?? null);
  return canonicalize(fields);
}

describe("canonicalJson (the one canonical form: event hashes, checkpoints, seals)", () => {
  it("writes exactly what canonicalize (RFC 8785) writes, or throws what it throws, on arbitrary values", () => {
    fc.assert(
      fc.property(anyValue, (value) => {
        const reference = outcome(() => canonicalize(value));
        if ("text" in (reference as object) && (reference as { text: unknown }).text === undefined) expect(() => canonicalJson(value)).toThrow(TypeError);
        else expect(outcome(() => canonicalJson(value))).toEqual(reference);
      }),
      { numRuns: 3000 },
    );
  });

  it("writes the edge cases of RFC 8785's number and string rules as canonicalize does", () => {
    const value = { b: [1e21, -0, 5e-324, 1e-7, 0.000001, 100, 1.5e300], a: "\u2028\ud800é\u001f\"\\", "10": 1, "9": 2, "": { z: undefined, y: [undefined, null] } };
    expect(canonicalJson(value)).toBe(canonicalize(value));
    expect(canonicalJson(value)).toBe('{"":{"y":[null,null]},"10":1,"9":2,"a":"\u2028\\ud800é\\u001f\\"\\\\","b":[1e+21,0,5e-324,1e-7,0.000001,100,1.5e+300]}');
  });

  it("gives an event the text canonicalize gives its fields, whatever order its JSON keys come back in", () => {
    fc.assert(
      fc.property(recordArbitrary, fc.boolean(), (record, reorder) => {
        const read = reorder ? ({ ...(reversedKeys(record) as AuditEventRecord), timestamp: record.timestamp } as AuditEventRecord) : record;
        expect(canonicalEventText(read)).toBe(referenceEventText(record));
        expect(eventHash(read)).toBe(eventHash(record));
      }),
      { numRuns: 1000 },
    );
  });
});
