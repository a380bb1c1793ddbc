// A query parser decodes a password's escaped `/`, `?`, `#` or space and reads its `+` as a
// space: `?next=//user:ab+cd@evil.com/g` is parsed as `//user:ab cd@evil.com/g`, which is no
// userinfo any more, while the raw URL shows what it was. The event's `url` masks it, and
// `queryParams` must too. Parsed here by the real qs, querystring and URLSearchParams.

import querystring from "node:querystring";
import fc from "fast-check";
import qs from "qs";

import { DEFAULT_MASK_FIELDS, MaskRules } from "../../src/mask-rules";
import { maskUrl } from "../../src/mask-url";
import { MASK, maskRequestData } from "../../src/masking";
import { maskJsonInString } from "../../src/serialize";
import { maskUrlUserinfoInQuery } from "../../src/url-userinfo-in-query";

const DEFAULTS = new MaskRules(DEFAULT_MASK_FIELDS, [], []);
/* eslint-disable-next-line @typescript-eslint/no-require-imports */
const fastQuerystring = require("fast-querystring") as { parse(text: string): Record<string, unknown> };

const PARSERS: Readonly<Record<string, (query: string) => Record<string, unknown>>> = {
  qs: (q) => qs.parse(q),
  "qs allowDots": (q) => qs.parse(q, { allowDots: true }),
  querystring: (q) => ({ ...querystring.parse(q) }),
  URLSearchParams: (q) => Object.fromEntries(new URLSearchParams(q)),
  // Fastify's: a record whose prototype is an empty object of its own.
  "fast-querystring": (q) => fastQuerystring.parse(q),
};

/**
 * How a client writes a password's character in a URL: raw where a userinfo may hold it and
 * no parser splits there (`+`, `;`), escaped where it must be; also an escape that is no
 * UTF-8, which parsers decode differently.
 */
const WRITTEN = ["+", ";", "%2F", "%3F", "%23", "%20", "%26", "%3D", "%5C", "%25", "%3B", "%09", "%E9", "%FF"];
const part = fc.stringMatching(/^[A-Za-z0-9]{5,10}$/).map((s) => `Qz${s}`);
const INTRODUCERS = ["//", "https://", "redis://", ""];
const HOSTS = ["evil.com", "db.example.com", "10.0.0.5", "[::1]", "db:5432"];

/** What is stored of `query` (after `/p?`) through `parser`: its url and its queryParams. */
function stored(query: string, parser: string): string {
  const url = `/p?${query}`;
  const queryParams = maskRequestData(maskUrlUserinfoInQuery(PARSERS[parser]!(query), url), DEFAULTS);
  return JSON.stringify({ url: maskUrl(url, DEFAULTS, maskJsonInString), queryParams });
}

describe("queryParams masked of the userinfo its URL holds", () => {
  it("never stores a part of a password whose characters the parser decoded, whatever the character, parser, introducer, host and place", () => {
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
    // Masked in the query before the rest of masking, which masks `ss:word@db…` alone and left `svc:p/`.
    ["an escaped slash before a `:`", "next=https://svc:p%2Fss:word@db.example.com/", { next: `https://${MASK}@db.example.com/` }],
  ])("masks a password holding %s", (_kind, query, expected) => {
    expect(maskRequestData(maskUrlUserinfoInQuery(qs.parse(query), `/p?${query}`), DEFAULTS)).toEqual(expected);
  });

  it("masks each form in one pass: a mask is never masked again, and other values are kept", () => {
    const query = "next=//*****@h.example.com/&password=x&next2=//u:ab+cd@h.example.com/&end=10:30&user=ada";
    const stored = maskRequestData(maskUrlUserinfoInQuery(qs.parse(query), `/p?${query}`), DEFAULTS);
    expect(stored).toEqual({ next: `//${MASK}@h.example.com/`, password: MASK, next2: `//${MASK}@h.example.com/`, end: "10:30", user: "ada" });
  });

  it("masks a form as a whole word only, and reads a `&` in a userinfo as URLSearchParams would", () => {
    const query = "next=//admin@intranet.example.com/&role=administrator&slot=10:30@venue.example.com&ts=2024-01-15T10:30:00Z&b=//db:5432&email=ada@example.com";
    expect(maskRequestData(maskUrlUserinfoInQuery(qs.parse(query), `/p?${query}`), DEFAULTS)).toEqual({
      next: `//${MASK}@intranet.example.com/`,
      role: "administrator",
      slot: `${MASK}@venue.example.com`,
      ts: "2024-01-15T10:30:00Z",
      // The url masks `db:5432&email=ada` whole (a single label and a port may be a user and a password); the query's own pairs are kept.
      b: "//db:5432",
      email: "ada@example.com",
    });
  });

  it("keeps a `__proto__` key a key, and values that are no plain data as they are", () => {
    const query = JSON.parse('{"__proto__": "//u:ab cd@h.example.com/", "when": 1}') as Record<string, unknown>;
    const date = new Date(0);
    const masked = maskUrlUserinfoInQuery({ ...query, date }, "/p?__proto__=//u:ab+cd@h.example.com/") as Record<string, unknown>;
    expect(Object.getPrototypeOf(masked)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(masked, "__proto__")?.value).toBe(`//${MASK}@h.example.com/`);
    expect(masked.date).toBe(date);
  });

  it("keeps the query as it is when the URL holds no userinfo, or one shorter than 4 characters", () => {
    const query = qs.parse("a=menu:pizza&b=u:p&c=ada@example.com");
    expect(maskUrlUserinfoInQuery(query, "/p?a=menu:pizza&b=u:p&c=ada@example.com")).toBe(query);
    const short = { a: "u:p", b: "u:p@db.example.com" };
    expect(maskUrlUserinfoInQuery(short, "/p?a=u:p&b=u:p@db.example.com")).toBe(short);
  });
});
