import fc from "fast-check";

import { EXAMPLE_SENSITIVE_PATTERNS } from "../../examples/sensitive-patterns";
import { DEFAULT_MASK_FIELDS, DEFAULT_MASK_HEADERS, MaskRules } from "../../src/mask-rules";
import { maskStringValue, maskUrl } from "../../src/mask-url";
import { isPlainText } from "../../src/plain-text";
import { maskJsonInString, normalizeCapped, normalizeJson, sanitizeString } from "../../src/serialize";

/** What a string went through before the plain-text shortcut: sanitized, then masked. */
const fullMasking = (text: string, rules: MaskRules) => maskStringValue(sanitizeString(text), rules, maskJsonInString);

// Plain characters mixed with every character a masking step starts at, secrets' spellings
// and text the steps act on whole, so that both sides of isPlainText are drawn often.
const piece = fc.oneof(
  fc.constantFrom("a", "Z", "0", "9", " ", ".", "_", ",", "-", "password", "Token", "api_key", "card 4111 1111 1111 1111"),
  fc.constantFrom("=", ":", "/", "?", "&", ";", "#", "%", "@", "{", "[", '"', "'", "+", "\\", "\t", "\n", "\u0000", "\ud800", "＝", "é"),
  fc.constantFrom("token=abc", "Bearer eyJx", "user:pw@db.example", "%7B%22pin%22%3A1%7D", '{"password":"x"}', "/reset-password/abc?token=y", "ada@example.com"),
  fc.string({ maxLength: 3 }),
  fc.string({ unit: "binary", maxLength: 3 }),
);
const text = fc.array(piece, { maxLength: 12 }).map((pieces) => pieces.join(""));
const rulesOf = (patterns: boolean, extra: readonly string[]) =>
  new MaskRules([...DEFAULT_MASK_FIELDS, ...extra], DEFAULT_MASK_HEADERS, patterns ? EXAMPLE_SENSITIVE_PATTERNS : []);
// Keys spelt as secrets are (any case, separators, nesting that splits a name), `__proto__`
// and pairs' names, so that the masked keys' paths run beside the plain text's.
const key = fc.oneof(
  fc.constantFrom("password", "PassWord", "api", "key", "user[password]", "X-API-Key", "name", "value", "__proto__", "note", "access_token"),
  text,
);
const data = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    text,
    fc.integer(),
    fc.constant(null),
    fc.array(tie("value"), { maxLength: 4 }),
    fc.tuple(key, text),
    fc.dictionary(key, tie("value"), { maxKeys: 4 }),
  ),
})).value;
/** serialize.ts and mask-url.ts as they were before the shortcut: isPlainText says no to every string. */
let withoutShortcut!: typeof import("../../src/serialize");
let urlWithoutShortcut!: typeof import("../../src/mask-url");
jest.isolateModules(() => {
  jest.doMock("../../src/plain-text", () => ({ isPlainText: () => false }));
  withoutShortcut = jest.requireActual<typeof import("../../src/serialize")>("../../src/serialize");
  urlWithoutShortcut = jest.requireActual<typeof import("../../src/mask-url")>("../../src/mask-url");
});
const rules = fc.tuple(fc.boolean(), fc.array(fc.constantFrom("note", "reason", "x", "value"), { maxLength: 2 })).map(([patterns, extra]) => rulesOf(patterns, extra));

describe("isPlainText", () => {
  it("says true only of text that sanitizing and masking keep as it is", () => {
    fc.assert(
      fc.property(text, rules, (value, maskRules) => {
        if (isPlainText(value)) expect(maskStringValue(sanitizeString(value), rulesOf(false, []), maskJsonInString)).toBe(value);
        if (isPlainText(value)) expect(fullMasking(value, maskRules)).toBe(maskRules.redact(value));
      }),
      { numRuns: 5000 },
    );
  });

  it("changes nothing the walk stores: content and request data as the walk without it stores them, under any rules", () => {
    fc.assert(
      fc.property(data, rules, fc.boolean(), fc.integer({ min: 2, max: 400 }), (value, maskRules, strict, cap) => {
        expect(normalizeJson(value, { strict, rules: maskRules })).toEqual(withoutShortcut.normalizeJson(value, { strict, rules: maskRules }));
        expect(normalizeCapped(value, maskRules, cap)).toEqual(withoutShortcut.normalizeCapped(value, maskRules, cap));
      }),
      { numRuns: 3000 },
    );
  });

  it("changes nothing masking makes of a URL or of a header's text, under any rules", () => {
    const url = fc
      .tuple(fc.constantFrom("", "https://", "//", "/"), text, fc.constantFrom("", "?", "#", ";"), fc.array(fc.tuple(key, text), { maxLength: 4 }), fc.constantFrom("&", ";"))
      .map(([start, path, mark, pairs, separator]) => `${start}${path}${mark}${pairs.map(([name, value]) => `${name}=${value}`).join(separator)}`);
    fc.assert(
      // Sanitized first, as every caller does: a lone surrogate cannot be percent-encoded.
      fc.property(url.map(sanitizeString), text.map(sanitizeString), rules, (value, header, maskRules) => {
        expect(maskUrl(value, maskRules, maskJsonInString)).toBe(urlWithoutShortcut.maskUrl(value, maskRules, withoutShortcut.maskJsonInString));
        expect(maskStringValue(header, maskRules, maskJsonInString)).toBe(urlWithoutShortcut.maskStringValue(header, maskRules, withoutShortcut.maskJsonInString));
      }),
      { numRuns: 5000 },
    );
  });

  it("takes only short text: a long plain string takes the full masking", () => {
    expect(isPlainText("a".repeat(256))).toBe(true);
    expect(isPlainText("a".repeat(257))).toBe(false);
    expect(isPlainText("")).toBe(true);
    expect(isPlainText("__proto__")).toBe(true);
  });
});
