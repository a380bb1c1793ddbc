// Property tests of the masking kind: whatever a client or a parser does to the spelling,
// depth and container of a secret's key, the secret's value never reaches stored data;
// and the size cap decides exactly as measuring the whole masked JSON would.

import fc from "fast-check";

import { DEFAULT_MASK_FIELDS, MaskRules } from "../../src/mask-rules";
import { maskUrl } from "../../src/mask-url";
import { MASK, maskRequestData } from "../../src/masking";
import { normalizeContent } from "../../src/serialize";

const DEFAULTS = new MaskRules(DEFAULT_MASK_FIELDS, [], []);

/** Secret kinds OWASP says never to log, as the words applications name them with. */
const SECRET_NAMES: readonly (readonly string[])[] = [
  ["password"], ["new", "password"], ["current", "password"], ["password", "confirmation"], ["old", "password"],
  ["passwd"], ["passphrase"], ["pin"], ["token"], ["access", "token"], ["refresh", "token"], ["id", "token"],
  ["auth", "token"], ["csrf", "token"], ["api", "key"], ["client", "secret"], ["secret"], ["secret", "key"],
  ["private", "key"], ["session", "id"], ["session"], ["card", "number"], ["credit", "card"], ["cvv"], ["cvc"],
  ["security", "code"], ["ssn"], ["social", "security", "number"], ["otp"], ["otp", "code"], ["mfa", "code"],
  ["iban"], ["account", "number"], ["authorization"], ["credentials"], ["jwt"], ["bearer"], ["cookie"],
];

/** Words that surround a secret's name in real keys, and are not secrets themselves. */
const OTHER_WORDS = ["user", "new", "confirm", "my", "primary", "hint", "value", "input", "field", "hash", "x", "v2", "2"];

const capitalised = (word: string) => word.charAt(0).toUpperCase() + word.slice(1);

/** Every way the tests write a list of words as one key. */
const SPELLINGS: Readonly<Record<string, (words: readonly string[]) => string>> = {
  snake: (w) => w.join("_"),
  kebab: (w) => w.join("-"),
  dotted: (w) => w.join("."),
  spaced: (w) => w.join(" "),
  camel: (w) => w[0]! + w.slice(1).map(capitalised).join(""),
  pascal: (w) => w.map(capitalised).join(""),
  upperSnake: (w) => w.join("_").toUpperCase(),
  upperKebab: (w) => w.join("-").toUpperCase(),
  brackets: (w) => w[0]! + w.slice(1).map((x) => `[${x}]`).join(""),
  fullWidth: (w) => w.join("_").replace(/[a-z0-9]/g, (c) => String.fromCodePoint(c.codePointAt(0)! + 0xfee0)),
  zeroWidth: (w) => w.join("\u200b_"),
};

/** A key that holds a secret: the secret's name among other words, spelled one way. */
const secretKey = fc
  .record({
    name: fc.constantFrom(...SECRET_NAMES),
    before: fc.array(fc.constantFrom(...OTHER_WORDS), { maxLength: 2 }),
    after: fc.array(fc.constantFrom(...OTHER_WORDS), { maxLength: 2 }),
    spelling: fc.constantFrom(...Object.keys(SPELLINGS)),
  })
  .map(({ name, before, after, spelling }) => SPELLINGS[spelling]!([...before, ...name, ...after]));

/** A run-together lower-case word ending with a strong name, as form fields often are. */
const runTogetherKey = fc
  .tuple(fc.constantFrom("new", "confirm", "old", "access", "auth", "client", "api", "my"), fc.constantFrom("password", "passwd", "token", "secret"))
  .map(([a, b]) => a + b);

/** A secret value unlike anything else in the data, so finding it anywhere is a leak. */
const secretValue = fc.stringMatching(/^[A-Za-z0-9]{6,20}$/).map((s) => `S3CR3T${s}`);

/** Puts `value` under `key`, inside a random nesting of objects and arrays. */
function nest(key: string, value: unknown, path: readonly ("object" | "array")[]): Record<string, unknown> {
  let node: unknown = { [key]: value, unrelated: "kept" };
  for (const step of path) node = step === "object" ? { level: node, other: 1 } : [0, node];
  return typeof node === "object" && node !== null && !Array.isArray(node) ? (node as Record<string, unknown>) : { root: node };
}

const nesting = fc.array(fc.constantFrom("object" as const, "array" as const), { maxLength: 8 });

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
        const masked = maskUrl(url, DEFAULTS);
        return !masked.includes(secret) && masked.includes("a=1") && masked.includes("b=2");
      }),
      { numRuns: 1000 },
    );
  });

  it("keeps the values of keys that name no secret", () => {
    const harmless = fc.constantFrom("username", "email", "total", "bypass", "compass", "author", "keyboard", "status", "order_id");
    fc.assert(
      // Values without "=" or a leading "{", "[", "/" or "%": those are looked into (see maskStringValue).
      fc.property(harmless, fc.string().filter((v) => !/=|^\s*[[{/%]/.test(v)), (key, value) => {
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
