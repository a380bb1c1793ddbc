import fc from "fast-check";

import { EXAMPLE_SENSITIVE_PATTERNS } from "../../examples/sensitive-patterns";
import { DEFAULT_MASK_FIELDS, DEFAULT_MASK_HEADERS, MaskRules } from "../../src/mask-rules";
import { maskStringValue, maskUrl } from "../../src/mask-url";
import { maskRequestData, maskStoredMessage, pickHeaders } from "../../src/masking";
import { textPayload } from "../../src/payload-record";
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
/** serialize.ts, mask-url.ts and their callers masking.ts and payload-record.ts as they were before the shortcut: isPlainText says no to every string. */
let withoutShortcut!: typeof import("../../src/serialize");
let urlWithoutShortcut!: typeof import("../../src/mask-url");
let maskingWithoutShortcut!: typeof import("../../src/masking");
let payloadWithoutShortcut!: typeof import("../../src/payload-record");
jest.isolateModules(() => {
  jest.doMock("../../src/plain-text", () => ({ isPlainText: () => false }));
  withoutShortcut = jest.requireActual<typeof import("../../src/serialize")>("../../src/serialize");
  urlWithoutShortcut = jest.requireActual<typeof import("../../src/mask-url")>("../../src/mask-url");
  maskingWithoutShortcut = jest.requireActual<typeof import("../../src/masking")>("../../src/masking");
  payloadWithoutShortcut = jest.requireActual<typeof import("../../src/payload-record")>("../../src/payload-record");
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

  it("changes nothing stored at the length limit, under user patterns of any flags, from any entry point", () => {
    // Plain text right at MAX_PLAIN_CHARS (one side plain, the other not), user patterns that
    // match plain text with the flags that keep state (g, y) or change matching (i, m, s, u),
    // values the walk turns into strings (bigint, Map, Set, toJSON), one MaskRules for every
    // run (its key cache), and the entry points request data, headers and messages take.
    const plainChar = fc.constantFrom(..."abzXYZ019 ._,-");
    const edge = fc.integer({ min: 250, max: 260 }).chain((n) => fc.string({ unit: plainChar, minLength: n, maxLength: n }));
    // One character away from plain: a name, a space or none, one character a step starts at, plain text.
    const short = fc.string({ unit: plainChar, maxLength: 8 });
    const named = fc
      .tuple(fc.oneof(short, edge), fc.constantFrom("", "password", "Token", "note", "pass", "Bearer", "x-api-key"), fc.constantFrom("", " "), fc.constantFrom("", "=", "@", ":", "%", "/", "{", "[", "?", "#", '"', "'", "\u0000", "é", "＝"), fc.oneof(short, edge))
      .map(([before, name, space, one, after]) => `${before}${name}${space}${one}${after}`);
    const any = fc.oneof(text, edge, named);
    const userPatterns = [
      ...EXAMPLE_SENSITIVE_PATTERNS,
      { label: "secret", pattern: /secret\w*/gi },
      { label: "ab", pattern: /ab/y },
      { label: "long", pattern: /[a-z ]{250,}/ },
      { label: "line", pattern: /^a.*z$/m },
      { label: "after-dash", pattern: /(?<=-)x+/u },
      { label: "end", pattern: / $/s },
    ];
    const shared = new MaskRules([...DEFAULT_MASK_FIELDS, "note"], DEFAULT_MASK_HEADERS, userPatterns);
    const value = fc.letrec<{ value: unknown }>((tie) => ({
      value: fc.oneof(
        { depthSize: "small" },
        any,
        fc.bigInt(),
        fc.array(tie("value"), { maxLength: 3 }),
        fc.record({ name: key, value: tie("value") }),
        fc.dictionary(key, tie("value"), { maxKeys: 3 }),
        fc.array(fc.tuple(key, tie("value")), { maxLength: 2 }).map((entries) => new Map(entries)),
        fc.array(tie("value"), { maxLength: 2 }).map((items) => new Set(items)),
        tie("value").map((inner) => ({ toJSON: () => inner })),
      ),
    })).value;
    const same = (after: () => unknown, before: () => unknown) => expect(JSON.stringify(after())).toBe(JSON.stringify(before()));
    fc.assert(
      fc.property(value, any.map(sanitizeString), any.map(sanitizeString), fc.subarray(userPatterns), fc.integer({ min: 2, max: 2000 }), (data, name, header, patterns, cap) => {
        for (const maskRules of [shared, new MaskRules(DEFAULT_MASK_FIELDS, DEFAULT_MASK_HEADERS, patterns)]) {
          same(() => normalizeJson({ data }, { strict: true, rules: maskRules }), () => withoutShortcut.normalizeJson({ data }, { strict: true, rules: maskRules }));
          same(() => maskRequestData(data, maskRules, cap, cap * 2), () => maskingWithoutShortcut.maskRequestData(data, maskRules, cap, cap * 2));
          same(() => maskRequestData(data, maskRules, cap), () => maskingWithoutShortcut.maskRequestData(data, maskRules, cap));
          same(() => pickHeaders({ "x-note": header, "x-list": [header, name] }, ["x-note", "x-list"], maskRules), () => maskingWithoutShortcut.pickHeaders({ "x-note": header, "x-list": [header, name] }, ["x-note", "x-list"], maskRules));
          same(() => maskStoredMessage(`${name} ${header}`, maskRules), () => maskingWithoutShortcut.maskStoredMessage(`${name} ${header}`, maskRules));
          const form = `${encodeURIComponent(name)}=${encodeURIComponent(header)}&${name}=${header}`;
          same(() => textPayload(form, "application/x-www-form-urlencoded", maskRules, cap, form.length), () => payloadWithoutShortcut.textPayload(form, "application/x-www-form-urlencoded", maskRules, cap, form.length));
          const json = JSON.stringify({ [name]: header, list: [name, header] });
          same(() => textPayload(json, "application/json", maskRules, cap, json.length), () => payloadWithoutShortcut.textPayload(json, "application/json", maskRules, cap, json.length));
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("takes only short text: a long plain string takes the full masking", () => {
    expect(isPlainText("a".repeat(256))).toBe(true);
    expect(isPlainText("a".repeat(257))).toBe(false);
    expect(isPlainText("")).toBe(true);
    expect(isPlainText("__proto__")).toBe(true);
  });
});
