// A masked name's value in key=value or key: value text is a secret whatever the spacing
// around the separator (`password = S`, `db_password : S`), the name's spelling, the
// value's quoting, and how many pairs share the line; in every stored string, not only in
// messages.

import fc from "fast-check";

import { DEFAULT_MASK_FIELDS, MaskRules } from "../../src/mask-rules";
import { maskUrl } from "../../src/mask-url";
import { MASK, maskMessage, maskRequestData, pickHeaders } from "../../src/masking";
import { maskJsonInString, normalizeContent } from "../../src/serialize";
import { secretKey, secretValue } from "../support/secret-keys";

const DEFAULTS = new MaskRules(DEFAULT_MASK_FIELDS, [], []);

/** What each place that stores a string stores of `text`. */
function storedForms(text: string): string[] {
  return [
    JSON.stringify(maskRequestData({ note: text, list: [text] }, DEFAULTS)),
    JSON.stringify(normalizeContent({ detail: text }, DEFAULTS)),
    JSON.stringify(pickHeaders({ "x-debug": text }, ["x-debug"], DEFAULTS)),
    JSON.stringify(maskRequestData({ json: JSON.stringify({ log: text }) }, DEFAULTS)),
    maskUrl(`/p?note=${encodeURIComponent(text)}&a=1`, DEFAULTS, maskJsonInString),
    maskMessage(text, DEFAULTS, Infinity),
  ];
}

const SEPARATORS = ["=", " = ", "  =  ", " =", "= ", "\t=\t", ":", ": ", " : ", " :"];
/** Separators of other languages and scripts: Ruby/PHP/Perl `=>`, Go/Pascal `:=`, `==`, full-width `：` and `＝`. */
const OTHER_SEPARATORS = [" => ", "=>", " := ", ":=", " == ", ": => ", "\uff1a", "\uff1d ", " \ufe55 ", "\ufe66"];

describe("a masked name's value in key=value text", () => {
  it.each([
    ["with spaces around =", "password = s3cret"],
    ["with spaces around :", "password : s3cret"],
    ["with a space after =", "PASSWORD= s3cret"],
    ["under a prefixed name", "db_password = s3cret"],
    ["under a kebab-case name in capitals", "DB-PASSWORD : s3cret"],
    ["when double-quoted with spaces", 'api_key = "s3cret and more"'],
    ["when single-quoted with spaces", "token = 's3cret and more'"],
    ["after prose with a colon", "note: password = s3cret"],
    ["after another pair on the line", "user = ada password = s3cret"],
    ["after an &-pair", "a=1&password = s3cret"],
    ["under a camelCase name after a ;", "x=1; newPassword : s3cret"],
    ["after Ruby's and PHP's =>", "'password' => 's3cret'"],
    ["after Go's :=", 'password := "s3cret"'],
    ["after a full-width colon", "password\uff1as3cret"],
    ["when quoted and cut after a backslash", "token: 'one s3cret \\"],
  ])("is masked %s", (_kind, text) => {
    for (const stored of storedForms(text)) expect(stored).not.toContain("s3cret");
  });

  it("masks every masked name of a line and keeps the others", () => {
    const out = maskRequestData({ line: "user = ada password = one token : 'two words' mode=fast secret= three" }, DEFAULTS).line as string;
    expect(out).toBe(`user = ada password = ${MASK} token : '${MASK}' mode=fast secret= ${MASK}`);
  });

  it("never stores the secret, whatever the name's spelling, the separator, the quoting, the position and the container", () => {
    // Spaced names ("api key") are left out: in text only the word before the separator is the name (see the README).
    const key = secretKey.filter((k) => !k.includes(" "));
    const quoting = fc.constantFrom((v: string) => v, (v: string) => `"${v} and more"`, (v: string) => `'${v} and more'`);
    const place = fc.constantFrom(
      (pair: string) => pair,
      (pair: string) => `note: ${pair}`,
      (pair: string) => `user = ada ${pair} mode = fast`,
      (pair: string) => `a=1&${pair}&b=2`,
      (pair: string) => `x=1; ${pair}; y=2`,
      (pair: string) => `first line\n${pair}\nlast line`,
    );
    fc.assert(
      fc.property(key, fc.constantFrom(...SEPARATORS, ...OTHER_SEPARATORS), quoting, secretValue, place, fc.option(secretValue, { nil: undefined }), (name, separator, quote, secret, at, second) => {
        const pair = `${name}${separator}${quote(secret)}`;
        const text = at(second === undefined ? pair : `${pair} token = ${second}`);
        return storedForms(text).every((stored) => !stored.includes(secret) && (second === undefined || !stored.includes(second)));
      }),
      { numRuns: 2000 },
    );
  });

  it("keeps text whose names are not masked as it was", () => {
    for (const text of ["user = ada", "mode : fast", "total = 12, status: paid", "x = 1", "time: 10:30", "bypass = yes"]) {
      expect(maskRequestData({ note: text }, DEFAULTS)).toEqual({ note: text });
    }
  });
});
