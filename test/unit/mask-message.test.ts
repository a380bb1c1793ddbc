// Unit tests for maskMessage (src/masking.ts): free text such as a hook's error message,
// stored in an event's content, masked by the content's rules and capped.

import fc from "fast-check";

import { DEFAULT_MASK_FIELDS, MaskRules } from "../../src/mask-rules";
import { MASK, MAX_MESSAGE_CHARS, maskMessage } from "../../src/masking";

const DEFAULTS = new MaskRules(DEFAULT_MASK_FIELDS, [], []);

describe("maskMessage", () => {
  it("masks the value of every masked name, however it is written in the text", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("token", "password", "apiKey", "client_secret", "accessToken"),
        fc.constantFrom("=", ": ", " = ", ":"),
        fc.stringMatching(/^[A-Za-z0-9+/_-]{6,30}$/),
        fc.constantFrom((v: string) => v, (v: string) => `"${v}"`, (v: string) => `'${v}'`),
        fc.string({ maxLength: 40 }).filter((s) => !/[=:"']/.test(s)),
        (name, separator, secret, quote, before) => {
          // The text before the name is kept: a secret that it holds too is not a leak.
          fc.pre(!before.includes(secret));
          const out = maskMessage(`${before} ${name}${separator}${quote(secret)}, then more`, DEFAULTS);
          expect(out).not.toContain(secret);
          expect(out).toContain(MASK);
        },
      ),
    );
  });

  it("masks a masked name's value that sits in another name's value (\"failed: password=x\")", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom("failed", "error", "cause", "detail"), fc.constantFrom(": ", "=", ":")), { minLength: 1, maxLength: 4 }),
        fc.constantFrom("token", "password", "apiKey"),
        fc.constantFrom("=", ": "),
        fc.stringMatching(/^[A-Za-z0-9_-]{6,30}$/),
        (prefixes, name, separator, secret) => {
          const out = maskMessage(`${prefixes.map(([n, s]) => `${n}${s}`).join("")}${name}${separator}${secret} more`, DEFAULTS);
          expect(out).not.toContain(secret);
        },
      ),
    );
  });

  it("masks URLs and queries in the text as the event's url, and keeps other words", () => {
    const out = maskMessage("GET https://api.example/v1?id=7&api_key=k3y failed with 401 for user=bob", DEFAULTS);
    expect(out).not.toContain("k3y");
    expect(out).toContain("id=7");
    expect(out).toContain("user=bob");
    expect(out).toContain("failed with 401");
  });

  it("applies sensitivePatterns and caps the text after masking", () => {
    const rules = new MaskRules(DEFAULT_MASK_FIELDS, [], [{ label: "card", pattern: /\b\d{16}\b/ }]);
    expect(maskMessage("card 4111111111111111 declined", rules)).toBe("card [card] declined");
    fc.assert(
      fc.property(fc.string({ maxLength: 3000 }), (text) => {
        expect(maskMessage(text, rules).length).toBeLessThanOrEqual(MAX_MESSAGE_CHARS + "…[truncated]".length);
      }),
    );
  });

  it("never cuts a character in two where it caps the text", () => {
    const rules = new MaskRules(DEFAULT_MASK_FIELDS, [], []);
    expect(maskMessage(`a${"😀".repeat(MAX_MESSAGE_CHARS)}`, rules).isWellFormed()).toBe(true);
    fc.assert(
      fc.property(fc.string({ unit: "grapheme", maxLength: 400 }), fc.integer({ min: 1, max: 200 }), (text, maxChars) => {
        expect(maskMessage(text, rules, maxChars).isWellFormed()).toBe(true);
      }),
    );
  });
});

/** Names of the default maskFields as messages spell them: as listed, camelCase, kebab, upper, header-like. */
const maskedSpelling = fc
  .tuple(fc.constantFrom(...DEFAULT_MASK_FIELDS), fc.constantFrom("plain", "camel", "kebab", "upper", "header", "prefixed"))
  .map(([field, style]) => {
    const words = field.split("_");
    switch (style) {
      case "camel":
        return words.map((w, i) => (i === 0 ? w : w[0]!.toUpperCase() + w.slice(1))).join("");
      case "kebab":
        return words.join("-");
      case "upper":
        return field.toUpperCase();
      case "header":
        return ["X", ...words].map((w) => w[0]!.toUpperCase() + w.slice(1)).join("-");
      case "prefixed":
        return `user.${field}`;
      default:
        return field;
    }
  });

/** How a name and its value are joined, and how both are quoted: as in text, in JSON, in JSON inside a string. */
const quoting = fc.constantFrom("", '"', "'", '\\"', "\\'");
const separator = fc.constantFrom("=", ":", ": ", " : ", " = ");

/** Secrets of the shapes credentials take: words, base64 with padding, JWTs, with spaces when quoted. */
const secret = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9_-]{6,24}$/),
  fc.stringMatching(/^[A-Za-z0-9+/]{8,24}={0,2}$/),
  fc.tuple(fc.stringMatching(/^eyJ[A-Za-z0-9_-]{4,20}$/), fc.stringMatching(/^[A-Za-z0-9_-]{4,20}$/), fc.stringMatching(/^[A-Za-z0-9_-]{4,20}$/)).map((p) => p.join(".")),
);
const quotedSecret = fc.tuple(secret, fc.stringMatching(/^[A-Za-z0-9!#%:=@-]{3,12}$/)).map(([a, b]) => `${a} ${b}`);

/** Text around a secret that is itself no secret: words, numbers, punctuation, names that are not masked. */
const plainText = fc
  .array(fc.constantFrom("failed", "user", "bob", "request", "42", "(retry)", "id=7", "status: 500", "done.", "{", "}", "[", "],", '"note":"ok",', "with", "for", "GET"), { maxLength: 6 })
  .map((words) => words.join(" "));

const AUTH_SCHEME_SPELLINGS = ["Bearer", "bearer", "BEARER", "Basic", "Digest", "Token", "token", "ApiKey", "Api-Key", "Negotiate", "NTLM", "DPoP", "OAuth", "AWS4-HMAC-SHA256", "SSWS", "Key"];

describe("maskMessage on credentials after masked names", () => {
  it("masks the value of a masked name whatever its spelling, separator and quoting, and changes nothing else", () => {
    fc.assert(
      fc.property(maskedSpelling, separator, quoting, fc.oneof(secret, quotedSecret), plainText, plainText, (name, sep, quote, value, before, after) => {
        fc.pre(quote !== "" || !value.includes(" "));
        const text = `${before} ${quote}${name}${quote}${sep}${quote}${value}${quote}, ${after}`;
        const out = maskMessage(text, DEFAULTS, Infinity);
        expect(out).not.toContain(value);
        expect(out).toBe(`${before} ${quote}${name}${quote}${sep}${quote}${MASK}${quote}, ${after}`);
      }),
    );
  });

  it("masks an auth scheme and its credentials after a masked header or field whole, whatever the scheme", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("Authorization", "authorization", "Proxy-Authorization", "auth", "X-Auth-Token", "bearer", "credentials"),
        separator,
        fc.constantFrom("", '"', "'", '\\"'),
        fc.constantFrom(...AUTH_SCHEME_SPELLINGS),
        secret,
        plainText,
        plainText,
        (name, sep, quote, scheme, credential, before, after) => {
          const text = `${before} ${quote}${name}${quote}${sep}${quote}${scheme} ${credential}${quote} ${after}`;
          const out = maskMessage(text, DEFAULTS, Infinity);
          expect(out).not.toContain(credential);
          expect(out.startsWith(`${before} ${quote}${name}${quote}${sep}`)).toBe(true);
          expect(out.endsWith(` ${after}`)).toBe(true);
        },
      ),
    );
  });

  it("masks Digest-style credentials (auth-params) after a masked header whole", () => {
    const text = 'upstream said Authorization: Digest username="bob", realm="api", nonce="n0nce", response="6629fae49393a05397450978507c4ef1", opaque="x1" then 401';
    const out = maskMessage(text, DEFAULTS, Infinity);
    for (const leaked of ["6629fae49393a05397450978507c4ef1", "n0nce", "bob"]) expect(out).not.toContain(leaked);
    expect(out).toBe(`upstream said Authorization: ${MASK} then 401`);
  });

  it("masks an auth scheme's credential standing alone in the text, and keeps prose that only names a scheme", () => {
    fc.assert(
      fc.property(fc.constantFrom(...AUTH_SCHEME_SPELLINGS), secret, plainText, plainText, (scheme, credential, before, after) => {
        // A credential that is itself a masked name ("CC0a...") would name the quoted text after it.
        fc.pre(/\d|[._~+/=-]|.[A-Z]/.test(credential) && credential.length >= 8 && !DEFAULTS.isMaskedKey(credential));
        const out = maskMessage(`${before} sent ${scheme} ${credential} ${after}`, DEFAULTS, Infinity);
        expect(out).not.toContain(credential);
        expect(out).toBe(`${before} sent ${scheme} ${MASK} ${after}`);
      }),
    );
    for (const prose of ["Basic authentication is disabled", "Bearer token missing", "Digest auth not supported", "the API key rotation failed"]) {
      expect(maskMessage(prose, DEFAULTS)).toBe(prose);
    }
  });

  it("masks the keys of JSON embedded in a message, nested or escaped, and keeps its other keys", () => {
    const cases: [string, string][] = [
      ['{"password":"hunter2","token":"tok_123"}', `{"password":"${MASK}","token":"${MASK}"}`],
      ['body {"user":{"name":"bob","password":"hunter 2"}} rejected', `body {"user":{"name":"bob","password":"${MASK}"}} rejected`],
      ['"{\\"password\\":\\"hunter2\\",\\"id\\":7}"', `"{\\"password\\":\\"${MASK}\\",\\"id\\":7}"`],
      ["{'apiKey': 'sk_live_abc', 'id': 7}", `{'apiKey': '${MASK}', 'id': 7}`],
      ['{"pin":1234,"n":1}', `{"pin":${MASK},"n":1}`],
      ['{"token":"a\\"b c"}', `{"token":"${MASK}"}`],
    ];
    for (const [text, expected] of cases) expect(maskMessage(text, DEFAULTS, Infinity)).toBe(expected);
  });

  it("masks base64 padded and URL-valued secrets whole", () => {
    expect(maskMessage("token=YWJjZGVm== next", DEFAULTS)).toBe(`token=${MASK} next`);
    expect(maskMessage("password=a=b rest", DEFAULTS)).toBe(`password=${MASK} rest`);
    expect(maskMessage("dsn: postgres://admin:hunter2@db:5432/x failed", DEFAULTS)).not.toContain("hunter2");
  });

  it("leaves text without masked names as it was", () => {
    fc.assert(
      fc.property(plainText, (text) => {
        expect(maskMessage(text, DEFAULTS, Infinity)).toBe(text);
      }),
    );
  });
});
