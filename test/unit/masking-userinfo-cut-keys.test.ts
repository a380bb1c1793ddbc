// A query parser cuts a key where its own syntax starts: qs (Express 4's parser, and the one
// users plug into Express 5, Koa and Fastify) reads `?user:secret@[2001:db8::7]:8443` as the
// key `user:secret@` holding the key `2001:db8::7`, and with `allowDots` reads
// `?user:secret@db.example.com` as `user:secret@` → `db` → `example` → `com`. The event's
// `url` masks the userinfo whole, and `queryParams` must as well: a key is masked as
// userinfo when its `@` ends it or starts what could be a host. Parsed here by the real qs.

import fc from "fast-check";
import qs from "qs";

import { maskKeyUserinfo } from "../../src/mask-userinfo";
import { DEFAULT_MASK_FIELDS, MaskRules } from "../../src/mask-rules";
import { MASK, maskRequestData } from "../../src/masking";

const DEFAULTS = new MaskRules(DEFAULT_MASK_FIELDS, [], []);

const hostLabel = fc.stringMatching(/^[a-z][a-z0-9-]{0,8}$/);
/** Hosts of every kind a userinfo is followed by, some holding qs's own syntax (`[`, `.`). */
const host = fc.oneof(
  fc.constantFrom("[2001:db8::7]:8443", "[::1]", "[fe80::1%25eth0]", "localhost", "10.0.0.5", "2130706433", "tcp(db:3306)", "bücher.example"),
  fc.tuple(fc.array(hostLabel, { minLength: 1, maxLength: 4 }), fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined })).map(
    ([labels, port]) => labels.join(".") + (port === undefined ? "" : `:${port}`),
  ),
);
/** A secret unlike any name the rules know, and unlike a host. */
const secret = fc.stringMatching(/^[A-Za-z0-9]{6,14}$/).map((s) => `Qz${s}`);
/** A user name, an e-mail address as user name, or a password holding an `@` itself. */
const userinfo = fc.constantFrom(
  (s: string) => `user:${s}`,
  (s: string) => `:${s}`,
  (s: string) => `me@mail.example:${s}`,
  (s: string) => `u:p@${s}`,
  (s: string) => `app_user.1:${s}`,
);
const encodings: readonly ((text: string) => string)[] = [
  (t) => t,
  (t) => t.replace(/@(?=[^@]*$)/, "%40"),
  (t) => t.replace(/:/, "%3A"),
  (t) => encodeURIComponent(t),
];
/** The ways qs is set up in front of an app. */
const parsers: readonly qs.IParseOptions[] = [{}, { allowDots: true }, { depth: 1 }, { allowDots: true, depth: 20 }, { parseArrays: false }];

describe("a query key cut by the parser at or inside the host of its userinfo", () => {
  it("stores no part of the secret in queryParams, whatever the host, encoding, place and qs options", () => {
    fc.assert(
      fc.property(userinfo, secret, host, fc.constantFrom(...encodings), fc.constantFrom(...parsers), fc.boolean(), (user, pw, at, encode, options, asValue) => {
        const pair = encode(`${user(pw)}@${at}`);
        const query = asValue ? `a=1&${pair}=x` : `${pair}&a=1`;
        const stored = JSON.stringify(maskRequestData(qs.parse(query, options) as Record<string, unknown>, DEFAULTS));
        expect(stored).not.toContain(pw);
        expect(stored).toContain(MASK);
      }),
      { numRuns: 400 },
    );
  });

  it("stores the key of CI's counterexample masked: qs's `user:secret@` holding `2001:db8::7`", () => {
    const parsed = qs.parse("user:Qzov3b1t7ny6@[2001:db8::7]:8443") as Record<string, unknown>;
    expect(Object.keys(parsed)).toEqual(["user:Qzov3b1t7ny6@"]);
    expect(maskRequestData(parsed, DEFAULTS)).toEqual({ [`${MASK}@`]: { "2001:db8::7": "" } });
  });

  it.each([
    ["the key's end", "user:pw@", `${MASK}@`],
    ["an escaped `@` at the key's end", "user%3Apw%40", `${MASK}%40`],
    ["a single label", "user:pw@db", `${MASK}@db`],
    ["an IPv6 address's start", "user:pw@[::1", `${MASK}@[::1`],
    ["a password holding an `@`", "u:p@pw@", `${MASK}@`],
  ])("masks the userinfo of a key when its `@` is followed by %s", (_kind, key, expected) => {
    expect(maskKeyUserinfo(key)).toBe(expected);
  });

  it.each([
    ["an e-mail address", "ada@example.com"],
    ["a handle", "@ada"],
    ["an `@` with no `:` before it", "team@"],
    ["an address scheme", "mailto:ada@"],
    ["a time and no `@`", "10:30"],
    ["a `:` after the `@`", "a@b:c"],
  ])("keeps a key that holds no userinfo: %s", (_kind, key) => {
    expect(maskKeyUserinfo(key)).toBe(key);
    expect(maskRequestData({ [key]: "v" }, DEFAULTS)).toEqual({ [key]: "v" });
  });
});
