// Keys and values for property tests of masking: the ways applications and parsers spell
// the name of a secret, and secret values unlike anything else in the data.

import fc from "fast-check";

/** Secret kinds OWASP says never to log, as the words applications name them with. */
export const SECRET_NAMES: readonly (readonly string[])[] = [
  ["password"], ["new", "password"], ["current", "password"], ["password", "confirmation"], ["old", "password"],
  ["passwd"], ["passphrase"], ["pin"], ["token"], ["access", "token"], ["refresh", "token"], ["id", "token"],
  ["auth", "token"], ["csrf", "token"], ["api", "key"], ["client", "secret"], ["secret"], ["secret", "key"],
  ["private", "key"], ["session", "id"], ["session"], ["card", "number"], ["credit", "card"], ["cvv"], ["cvc"],
  ["security", "code"], ["ssn"], ["social", "security", "number"], ["otp"], ["otp", "code"], ["mfa", "code"],
  ["iban"], ["account", "number"], ["authorization"], ["credentials"], ["jwt"], ["bearer"], ["cookie"],
];

/** Words that surround a secret's name in real keys, and are not secrets themselves. */
export const OTHER_WORDS = ["user", "new", "confirm", "my", "primary", "hint", "value", "input", "field", "hash", "x", "v2", "2"];

const capitalised = (word: string) => word.charAt(0).toUpperCase() + word.slice(1);

/** Every way the tests write a list of words as one key. */
export const SPELLINGS: Readonly<Record<string, (words: readonly string[]) => string>> = {
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
export const secretKey = fc
  .record({
    name: fc.constantFrom(...SECRET_NAMES),
    before: fc.array(fc.constantFrom(...OTHER_WORDS), { maxLength: 2 }),
    after: fc.array(fc.constantFrom(...OTHER_WORDS), { maxLength: 2 }),
    spelling: fc.constantFrom(...Object.keys(SPELLINGS)),
  })
  .map(({ name, before, after, spelling }) => SPELLINGS[spelling]!([...before, ...name, ...after]));

/** A run-together lower-case word ending with a strong name, as form fields often are. */
export const runTogetherKey = fc
  .tuple(fc.constantFrom("new", "confirm", "old", "access", "auth", "client", "api", "my"), fc.constantFrom("password", "passwd", "token", "secret"))
  .map(([a, b]) => a + b);

/** A secret value unlike anything else in the data, so finding it anywhere is a leak. */
export const secretValue = fc.stringMatching(/^[A-Za-z0-9]{6,20}$/).map((s) => `S3CR3T${s}`);

/** Puts `value` under `key`, inside a random nesting of objects and arrays. */
export function nest(key: string, value: unknown, path: readonly ("object" | "array")[]): Record<string, unknown> {
  let node: unknown = { [key]: value, unrelated: "kept" };
  for (const step of path) node = step === "object" ? { level: node, other: 1 } : [0, node];
  return typeof node === "object" && node !== null && !Array.isArray(node) ? (node as Record<string, unknown>) : { root: node };
}

export const nesting = fc.array(fc.constantFrom("object" as const, "array" as const), { maxLength: 8 });
