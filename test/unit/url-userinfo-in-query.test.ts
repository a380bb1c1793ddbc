// A query parser decodes a password's escaped `/`, `?`, `#` or space and reads its `+` as a
// space: `?next=//user:ab+cd@evil.com/g` is parsed as `//user:ab cd@evil.com/g`, which is no
// userinfo any more, while the raw URL shows what it was. The event's `url` masks it, and
// `queryParams` must too, and so must it the parts of a password a parser split at its own
// syntax (`?user:ab.cdef@h` with qs's allowDots is the key `user:ab` holding `cdef@h`).
// Parsed here by the real qs (with several options), querystring and URLSearchParams.

import querystring from "node:querystring";
import fc from "fast-check";
import qs from "qs";

import { DEFAULT_MASK_FIELDS, MaskRules } from "../../src/mask-rules";
import { maskUrl } from "../../src/mask-url";
import { MASK, maskRequestData } from "../../src/masking";
import { maskJsonInString } from "../../src/serialize";
import { maskUrlUserinfoInQuery } from "../../src/url-userinfo-in-query";

const DEFAULTS = new MaskRules(DEFAULT_MASK_FIELDS, [], []);

const PARSERS: Readonly<Record<string, (query: string) => Record<string, unknown>>> = {
  qs: (q) => qs.parse(q),
  "qs allowDots": (q) => qs.parse(q, { allowDots: true }),
  "qs comma": (q) => qs.parse(q, { comma: true }),
  "qs delimiter ;&": (q) => qs.parse(q, { delimiter: /[;&]/ }),
  querystring: (q) => ({ ...querystring.parse(q) }),
  URLSearchParams: (q) => Object.fromEntries(new URLSearchParams(q)),
};

/**
 * How a client writes a password's character in a URL: raw where a userinfo may hold it
 * (`+`, and what parsers split at: `.`, `&`, `=`, `;`, `,`), escaped where it must be, and
 * `[`, which a userinfo may not hold but qs splits at, both ways.
 */
const WRITTEN = ["+", "%2F", "%3F", "%23", "%20", "%26", "%3D", "%5C", "%25", ".", "&", "=", ";", ",", "[", "%5B", "%2E"];
const part = fc.stringMatching(/^[A-Za-z0-9]{5,10}$/).map((s) => `Qz${s}`);
const INTRODUCERS = ["//", "https://", "redis://", ""];
const HOSTS = ["evil.com", "db.example.com", "10.0.0.5", "[::1]", "db:5432"];

/** What is stored of `query` (after `/p?`) through `parser`: its url and its queryParams. */
function stored(query: string, parser: string): string {
  const url = `/p?${query}`;
  const queryParams = maskUrlUserinfoInQuery(maskRequestData(PARSERS[parser]!(query), DEFAULTS), url);
  return JSON.stringify({ url: maskUrl(url, DEFAULTS, maskJsonInString), queryParams });
}

describe("queryParams masked of the userinfo its URL holds", () => {
  it("never stores a part of a password whose characters the parser decoded or split at, whatever the character, parser, introducer, host and place", () => {
    fc.assert(
      fc.property(
        part,
        fc.constantFrom(...WRITTEN),
        part,
        fc.constantFrom(...INTRODUCERS),
        fc.constantFrom(...HOSTS),
        fc.constantFrom(...Object.keys(PARSERS)),
        fc.boolean(),
        (first, character, second, introducer, host, parser, asKey) => {
          const authority = `${introducer}user:${first}${character}${second}@${host}`;
          const text = stored(asKey ? `${authority}&a=1` : `a=1&next=${authority}/g`, parser);
          expect(text).not.toContain(first);
          expect(text).not.toContain(second);
          expect(text).toContain(MASK);
        },
      ),
      { numRuns: 1500 },
    );
  });

  it.each([
    ["a `+` read as a space", "next=//user:ab+cd@evil.com/g", { next: `//${MASK}@evil.com/g` }],
    ["an escaped slash", "target=user:ab%2Fcd@db.example.com", { target: `${MASK}@db.example.com` }],
    ["a whole proxy setting escaped", "via=user%3Aab%2Fcd%40proxy.example.com%3A3128", { via: `${MASK}@proxy.example.com:3128` }],
  ])("masks a password holding %s", (_kind, query, expected) => {
    expect(maskUrlUserinfoInQuery(maskRequestData(qs.parse(query), DEFAULTS), `/p?${query}`)).toEqual(expected);
  });

  it("keeps the query as it is when the URL holds no userinfo, or one shorter than 4 characters", () => {
    const queryParams = maskRequestData(qs.parse("a=menu:pizza&b=u:p&c=ada@example.com"), DEFAULTS);
    expect(maskUrlUserinfoInQuery(queryParams, "/p?a=menu:pizza&b=u:p&c=ada@example.com")).toBe(queryParams);
    const short = maskRequestData({ a: "u:p", b: "u:p@db.example.com" }, DEFAULTS);
    expect(short).toEqual({ a: "u:p", b: `${MASK}@db.example.com` });
    expect(maskUrlUserinfoInQuery(short, "/p?a=u:p&b=u:p@db.example.com")).toBe(short);
  });
});
