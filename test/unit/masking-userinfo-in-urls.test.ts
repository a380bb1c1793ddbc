// Userinfo (`user:secret@host`) inside a URL's path, query or fragment is a credential just
// as it is in free text: `GET //user:secret@evil.com/g` reaches the app as that path, and a
// browser resolves it as a protocol-relative URL with that userinfo. The event's `url` is
// masked by the same rule as any string: whatever introduces the authority (`//`, `\\`, a
// scheme in any case, nothing at all before a host), wherever it sits, however often it is
// percent-encoded, however many `@` the userinfo holds, whatever the host.

import fc from "fast-check";

import { DEFAULT_MASK_FIELDS, MaskRules } from "../../src/mask-rules";
import { maskStringValue, maskUrl } from "../../src/mask-url";
import { MASK, maskMessage, maskRequestData } from "../../src/masking";
import { maskJsonInString } from "../../src/serialize";
import { secretValue } from "../support/secret-keys";

const DEFAULTS = new MaskRules(DEFAULT_MASK_FIELDS, [], []);
const url = (text: string) => maskUrl(text, DEFAULTS, maskJsonInString);
const stringValue = (text: string) => maskStringValue(text, DEFAULTS, maskJsonInString);

/** What introduces the authority: slashes of any kind, a scheme (any case, chained) and slashes, or nothing. */
const INTRODUCERS = ["//", "\\\\", "/\\", "\\/", "https://", "HTTPS://", "Http://", "jdbc:postgresql://", "http:\\\\", "redis://", ""];

/** Hosts a bare `user:secret@` (no introducer) is masked before, and any host after an introducer. */
const BARE_HOSTS = ["evil.com", "db.example.com", "10.0.0.5", "localhost", "[::1]", "[2001:db8::7]:8443", "db:5432"];
const HOSTS = [...BARE_HOSTS, "evil", "[fe80::1%25eth0]"];

/** The userinfo around the secret: a user (an e-mail address too), `:`, a password holding it, with `@` in either. */
const USERINFOS: readonly ((secret: string) => string)[] = [
  (s) => `user:${s}`,
  (s) => `u:p@${s}`,
  (s) => `u:${s}@x`,
  (s) => `me@mail.example:${s}`,
  (s) => `app_user:${s}:more`,
];

/** How the authority is written in the URL: raw, its `@` or `:` percent-encoded (upper or lower case), or all of it encoded once or twice. */
const ENCODINGS: Readonly<Record<string, (authority: string) => string>> = {
  raw: (a) => a,
  atEncoded: (a) => a.replace(/@(?=[^@]*$)/, "%40"),
  atEncodedLower: (a) => a.replace(/@(?=[^@]*$)/, "%40").replace(/:/, "%3a"),
  colonEncoded: (a) => a.replace(/:/, "%3A"),
  allEncoded: (a) => encodeURIComponent(a),
  encodedTwice: (a) => encodeURIComponent(encodeURIComponent(a)),
  // As curl sends an IPv6 host without -g.
  bracketsEncoded: (a) => a.replaceAll("[", "%5B").replaceAll("]", "%5D"),
  bracketsEncodedLower: (a) => a.replaceAll("[", "%5b").replaceAll("]", "%5d"),
};

/** Where in the URL it sits. */
const PLACES: Readonly<Record<string, (authority: string) => string>> = {
  rightAfterHost: (a) => `http://x${a.startsWith("/") || a.startsWith("\\") || a.startsWith("%") ? "" : "/"}${a}/g`,
  pathSegment: (a) => `http://x/redirect/${a}/g?x=1`,
  relativePath: (a) => `/a/${a}/tail`,
  queryValue: (a) => `http://x/a?next=${a}&y=2`,
  queryBare: (a) => `http://x/a?${a}`,
  afterAmpersand: (a) => `/a?x=1&${a}`,
  fragment: (a) => `http://x/a#${a}`,
  fragmentValue: (a) => `http://x/a#next=${a}`,
  afterMatrixParameter: (a) => `/a;v=${a}/b`,
};

const introducedAuthority = fc
  .record({
    introducer: fc.constantFrom(...INTRODUCERS),
    userinfo: fc.constantFrom(...USERINFOS),
    secret: secretValue,
    bareHost: fc.constantFrom(...BARE_HOSTS),
    anyHost: fc.constantFrom(...HOSTS),
    encoding: fc.constantFrom(...Object.keys(ENCODINGS)),
    place: fc.constantFrom(...Object.keys(PLACES)),
  })
  .map(({ introducer, userinfo, secret, bareHost, anyHost, encoding, place }) => {
    // Without an introducer, only a host as free text's rule knows one ends a userinfo.
    const authority = `${introducer}${userinfo(secret)}@${introducer === "" ? bareHost : anyHost}`;
    return { secret, text: PLACES[place]!(ENCODINGS[encoding]!(authority)) };
  });

describe("userinfo inside a URL", () => {
  it.each([
    ["after a double slash in the path", "http://x//user:SLASHSECRET@evil.com/g", `http://x//${MASK}@evil.com/g`],
    ["as a path segment", "http://x/user:SLASHSECRET@evil.com/g", `http://x/${MASK}@evil.com/g`],
    ["after backslashes", "http://x/\\\\user:SLASHSECRET@evil.com/g", `http://x/\\\\${MASK}@evil.com/g`],
    ["percent-encoded in a path segment", "/go/https%3A%2F%2Fu%3ASLASHSECRET%40evil.com%2Fx", `/go/https%3A%2F%2F${MASK}%40evil.com%2Fx`],
    ["with an encoded @ only", "/go//u:SLASHSECRET%40evil.com/x", `/go//${MASK}%40evil.com/x`],
    ["in a fragment", "http://x/a#//u:SLASHSECRET@evil.com", `http://x/a#//${MASK}@evil.com`],
    ["before an IPv6 host", "http://x//u:SLASHSECRET@[2001:db8::1]:8080/g", `http://x//${MASK}@[2001:db8::1]:8080/g`],
    ["with an upper-case scheme", "/p/HTTPS://u:SLASHSECRET@h.example/", `/p/HTTPS://${MASK}@h.example/`],
  ])("is masked %s", (_kind, text, masked) => {
    expect(url(text)).toBe(masked);
    expect(stringValue(text)).not.toContain("SLASHSECRET");
  });

  it("is masked in the url as in free text and in a query value, the rest kept", () => {
    const free = "//user:SLASHSECRET@evil.com/g";
    expect(stringValue(free)).toBe(`//${MASK}@evil.com/g`);
    expect(url(`http://x${free}`)).toBe(`http://x//${MASK}@evil.com/g`);
    expect(url(`http://x/?next=${free}`)).toBe(`http://x/?next=//${MASK}@evil.com/g`);
    expect(maskMessage(`see ${free}`, DEFAULTS, Infinity)).toBe(`see //${MASK}@evil.com/g`);
  });

  it("never leaves the secret, whatever introduces the authority, where it sits, how it is encoded, and the host", () => {
    fc.assert(
      fc.property(introducedAuthority, ({ secret, text }) => {
        const masked = url(text);
        const asString = stringValue(text);
        const asMessage = maskMessage(text, DEFAULTS, Infinity);
        expect(masked).not.toContain(secret);
        expect(masked).toContain(MASK);
        expect(asString).not.toContain(secret);
        expect(asMessage).not.toContain(secret);
        // Masked again, it stays as it is: a stored URL read and masked again does not change.
        expect(url(masked)).toBe(masked);
      }),
      { numRuns: 3000 },
    );
  });

  it("keeps the URL byte for byte but for the userinfo, outside key=value pairs", () => {
    fc.assert(
      fc.property(introducedAuthority, ({ secret, text }) => {
        // A masked pair value is written back encoded as a whole when it came encoded at all (mask-url's writtenAs).
        // A bare query key read as a masked name gets `=MASK` (a random secret may read as one: `S3CR3T`).
        fc.pre(!/[?#&][^=]*=/.test(text) && !text.includes("?"));
        const masked = url(text);
        // What is left once the mask is taken out is the URL with the userinfo taken out: nothing else moved.
        const [before, after] = masked.split(MASK) as [string, string];
        expect(text.startsWith(before)).toBe(true);
        expect(text.endsWith(after)).toBe(true);
        expect(text.slice(before.length, text.length - after.length)).toContain(secret);
      }),
      { numRuns: 1000 },
    );
  });
});

describe("a password holding what ends an authority in text, escaped", () => {
  // RFC 3986 §3.2.1: a password's `/`, `?`, `#`, space, quotes, `<`, `>`, `\\` go
  // percent-encoded. Encoded once more with the rest of the authority (a proxy setting sent
  // as one query value), they decode to a character that would end the authority.
  // (`'`, which the WHATWG URL parser leaves raw in a userinfo, is not here: a quote ends
  // an authority in text, where URLs are quoted.)
  const ENDING = ["/", "?", "#", " ", '"', "<", ">", "\\", "\t", "+", "|", "%"];
  const part = fc.stringMatching(/^[A-Za-z0-9]{5,10}$/).map((s) => `Qz${s}`);

  it("never leaves a part of the password, whatever the character, introducer, host, place and encoding", () => {
    fc.assert(
      fc.property(
        part,
        fc.constantFrom(...ENDING),
        part,
        fc.constantFrom(...INTRODUCERS),
        fc.constantFrom(...BARE_HOSTS),
        fc.constantFrom("passwordEscaped", "allEncoded", "encodedTwice"),
        fc.constantFrom(...Object.keys(PLACES)),
        (first, ending, second, introducer, host, encoding, place) => {
          const password = `${first}${ending}${second}`;
          const authority =
            encoding === "passwordEscaped"
              ? `${introducer}user:${encodeURIComponent(password)}@${host}`
              : (encoding === "allEncoded" ? encodeURIComponent : (a: string) => encodeURIComponent(encodeURIComponent(a)))(`${introducer}user:${password}@${host}`);
          const masked = url(PLACES[place]!(authority));
          expect(masked).not.toContain(first);
          expect(masked).not.toContain(second);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("masks CI's proxy setting and an IPv6 host written with escaped brackets", () => {
    expect(url("/p?proxy=user%3Aab%2Fcd%40proxy.example.com%3A3128")).toBe(`/p?proxy=${MASK}%40proxy.example.com%3A3128`);
    expect(url("/a?user:Qz1secret@%5B2001:db8::7%5D:8443")).toBe(`/a?${MASK}@%5B2001:db8::7%5D:8443`);
  });
});

describe("a long password without a scheme", () => {
  it("is masked whole up to 4096 characters (a token or a JWT as the password)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 200, max: 4096 }), fc.constantFrom(...BARE_HOSTS), (length, host) => {
        const password = `Qz${"k".repeat(length - 4)}Zq`;
        const masked = url(`/a?proxy=user:${password}@${host}`);
        expect(masked).toBe(`/a?proxy=${MASK}@${host}`);
      }),
      { numRuns: 50 },
    );
  });
});

describe("userinfo in a key of request data", () => {
  // `GET /a?%252F%252Fu%253Asecret%2540h` reaches a query parser, which decodes it once and
  // keeps the result as a key with no value: the userinfo is still percent-encoded there.
  it("is masked when a parser left it percent-encoded, as when it left it raw", () => {
    fc.assert(
      fc.property(introducedAuthority, ({ secret, text }) => {
        // The text as a key, and as a parser that decoded it once leaves it.
        const stored = JSON.stringify(maskRequestData({ [text]: "", [decodeURIComponent(text)]: "" }, DEFAULTS));
        expect(stored).not.toContain(secret);
      }),
      { numRuns: 500 },
    );
    expect(maskRequestData({ "%2F%2Fuser%3As3cret%40evil.com": "" }, DEFAULTS)).toEqual({ [`%2F%2F${MASK}%40evil.com`]: "" });
  });
});

describe("an @ in a URL that is no userinfo", () => {
  it.each([
    "http://x/users/ada@example.com/x",
    "http://x/users/ada%40example.com/x",
    "//cdn.example/img@2x.png",
    "http://x//cdn.example/img@2x.png",
    "/npm/@scope/pkg@1.2.3/index.js",
    "/users/@me/avatar@2x.png",
    "http://x/a?email=ada%40example.com&next=%2Fhome",
    "http://x/mailto:ada@example.com",
    "/at/10:30@venue",
    "/files/a%2Fb%40c",
    "/p?time=10:30&email=ada@example.com",
    "/login?next=//app.example.com&email=ada@example.com",
    "/p?next=https://app.example&user=ada@example.com",
    "/p?upstream=http://[2001:db8::1]:8443&contact=ops@example.com",
    "/p?next=//app.example.com:8080&email=ada@example.com",
    "/api/meetings/10:30@hq/attendees",
    "/calendar/2024-05-01T10:30:15@room-4/book",
  ])("keeps %j as it was", (text) => {
    expect(url(text)).toBe(text);
  });

  it("keeps a query's pairs apart: a `:` in one and an e-mail address in a later one are no userinfo", () => {
    const name = fc.stringMatching(/^[a-z][a-z_]{0,11}$/);
    const withColon = fc.constantFrom("10:30", "12:00:59", "menu:pizza", "//app.example.com", "https://app.example/x", "a:b", "urn:isbn:123");
    const address = fc.tuple(fc.stringMatching(/^[a-z][a-z0-9.]{0,11}$/), fc.constantFrom("example.com", "mail.example.org", "[::1]", "db:5432"));
    fc.assert(
      fc.property(name, withColon, fc.array(fc.tuple(name, fc.stringMatching(/^[a-z0-9]{0,8}$/)), { maxLength: 3 }), fc.constantFrom("&"), name, address, (first, colonValue, between, separator, second, [local, host]) => {
        const pairs = [`${first}=${colonValue}`, ...between.map(([k, v]) => `${k}=${v}`), `${second}=${local}@${host}`];
        const text = `/p?${pairs.join(separator)}`;
        // A name the rules mask has its value masked, whatever it holds.
        fc.pre(!pairs.some((pair) => DEFAULTS.isMaskedKey(pair.slice(0, pair.indexOf("=")))));
        expect(url(text)).toBe(text);
        expect(stringValue(text)).toBe(text);
      }),
      { numRuns: 1000 },
    );
  });

  it.each([
    ["after // with a `&name=` in its password", "/p?next=//app:Tr0ub&dor=9x@db.example.com/shop"],
    ["after a scheme with a `;name=` in its password", "/connect/postgres://app:Tr0ub;dor=9x@db.example.com/shop"],
    ["after http: with a `;name=` in its password", "/p?next=http:app:p;ss=w0rd@evil.com/"],
    ["bare, with a `;name=` in its password", "/p?next=app:p;ss=w0rd@db.example.com"],
    ["escaped whole, with an escaped `;name=` in its password", `/p?next=${encodeURIComponent("app:pa;ss=w0rd@proxy.example.com:3128")}`],
    ["escaped whole, with an escaped `&name=` in its password", `/p?next=${encodeURIComponent("app:pa&ss=w0rd@proxy.example.com:3128")}`],
    ["after // with digits and a `&name=` in its password", "/p?next=//app:12345&k=Tr0ub4dor@db.example.com/"],
    ["after a scheme, escaped, with digits and a `&name=` in its password", "/p?next=https%3A%2F%2Fapp%3A12345&k=Tr0ub4dor%40db.example.com"],
    ["bare, before a single label and a path (a container's name)", "/connect/app:Tr0ub4dor@db/shop"],
  ])("is still masked %s: only a raw `&name=` separates pairs", (_kind, text) => {
    const masked = url(text);
    expect(masked).toContain(MASK);
    expect(masked).not.toMatch(/Tr0ub|dor=9x|p;ss|w0rd/);
  });

  it("is cut at its host when a pair follows the host: the next pair is kept", () => {
    expect(url("/p?proxy=http://user:pw@proxy.example.com:3128&notify=ops@example.com")).toBe(`/p?proxy=http://${MASK}@proxy.example.com:3128&notify=ops@example.com`);
  });
});

describe("a userinfo beside masks", () => {
  // Masks and punctuation alone are left as they are (masking masked text changes nothing),
  // but a userinfo with a letter or digit beside a mask is masked whole.
  it.each([
    [`https://admin:${MASK}hunter2@db.example.com/`, `https://${MASK}@db.example.com/`],
    [`redis://:${MASK}9@cache:6379`, `redis://${MASK}@cache:6379`],
    [`see u:${MASK})x@h.com`, `see ${MASK}@h.com`],
    [`see :${MASK})${MASK}@h.com`, `see :${MASK})${MASK}@h.com`],
  ])("%s", (input, expected) => {
    expect(maskMessage(input, new MaskRules(DEFAULT_MASK_FIELDS, [], []), Infinity)).toBe(expected);
  });
});
