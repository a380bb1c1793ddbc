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
});
