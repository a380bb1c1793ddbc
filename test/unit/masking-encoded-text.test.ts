// A stored string that is percent-encoded text as a whole (a `returnTo` of
// `%2Freset%3Ftoken%3D...` in a body, a query value encoded twice, an encoded connection
// URL in a header) is masked as its decoded text is, as percent-encoded JSON text already
// was: the secret in it is never stored, and text that holds none is kept as it came.

import fc from "fast-check";

import { DEFAULT_MASK_FIELDS, MaskRules } from "../../src/mask-rules";
import { maskUrl } from "../../src/mask-url";
import { MASK, maskRequestData, pickHeaders } from "../../src/masking";
import { maskJsonInString, normalizeContent } from "../../src/serialize";
import { secretKey, secretValue } from "../support/secret-keys";

const DEFAULTS = new MaskRules(DEFAULT_MASK_FIELDS, [], []);

/** What each place that stores a string stores of `text`, and the url of a query value holding it. */
function storedForms(text: string): string[] {
  return [
    JSON.stringify(maskRequestData({ returnTo: text, list: [text] }, DEFAULTS)),
    JSON.stringify(normalizeContent({ detail: text }, DEFAULTS)),
    JSON.stringify(pickHeaders({ "x-return-to": text }, ["x-return-to"], DEFAULTS)),
    maskUrl(`/login?next=${encodeURIComponent(text)}&a=1`, DEFAULTS, maskJsonInString),
  ];
}

/** Text a secret hides in once decoded: a query, a URL with one, a URL's userinfo, `key=value` pairs, free text. */
const holders = fc.constantFrom(
  (key: string, secret: string) => `/reset?${key}=${secret}`,
  (key: string, secret: string) => `https://app.example/cb?state=1&${key}=${secret}#top`,
  (_key: string, secret: string) => `postgres://ada:${secret}@db.example.com:5432/app`,
  (key: string, secret: string) => `lang=en&${key}=${secret}`,
  (key: string, secret: string) => `note: ${key} = ${secret}`,
);

/** The ways a client encodes text once more. */
const encodings = fc.constantFrom(
  (text: string) => encodeURIComponent(text),
  (text: string) => encodeURIComponent(text).replaceAll("%20", "+"),
  (text: string) => encodeURIComponent(text).replace(/%[0-9A-F]{2}/g, (escape) => escape.toLowerCase()),
);

describe("percent-encoded text in a stored string", () => {
  it.each([
    ["an encoded path with a query", "%2Freset%3Ftoken%3Ds3cret"],
    ["an encoded absolute URL with userinfo", "https%3A%2F%2Fada%3As3cret%40db.example.com%2F"],
    ["encoded pairs", "lang%3Den%26password%3Ds3cret"],
  ])("is masked when it is %s", (_kind, text) => {
    for (const stored of storedForms(text)) {
      expect(stored).not.toContain("s3cret");
      expect(stored).toContain(MASK);
    }
  });

  it("never stores the secret, whatever holds it and however it was encoded", () => {
    const key = secretKey.filter((k) => !k.includes(" "));
    fc.assert(
      fc.property(key, secretValue, holders, encodings, (name, secret, holder, encode) =>
        storedForms(encode(holder(name, secret))).every((stored) => !stored.includes(secret)),
      ),
      { numRuns: 1000 },
    );
  });

  it("keeps encoded text that holds no secret as it came, and masked text as it is", () => {
    for (const text of ["%2Forders%3Fpage%3D2", "100%25+sure", "https%3A%2F%2Fapp.example%2Fa%3Fb%3Dc", "%E2%9C%93", "50%"]) {
      expect(maskRequestData({ returnTo: text }, DEFAULTS)).toEqual({ returnTo: text });
    }
    const once = maskRequestData({ returnTo: "%2Freset%3Ftoken%3Ds3cret" }, DEFAULTS);
    expect(maskRequestData(once, DEFAULTS)).toEqual(once);
  });
});

describe("percent signs that start no escape", () => {
  it("are stepped over without a decode that throws, each of which costs microseconds", () => {
    // A query of 4 000 `;`-separated parts such as `[{%` once cost 40 ms in thrown URIErrors.
    const decode = globalThis.decodeURIComponent;
    let thrown = 0;
    const counting = jest.spyOn(globalThis, "decodeURIComponent").mockImplementation((text) => {
      try {
        return decode(text);
      } catch (error) {
        thrown++;
        throw error;
      }
    });
    try {
      const text = ";[{%".repeat(1000);
      maskUrl(`/p?q=${text}`, DEFAULTS, maskJsonInString);
      maskRequestData({ note: text.replaceAll(";", "\n?%2F_%25'") }, DEFAULTS);
    } finally {
      counting.mockRestore();
    }
    expect(thrown).toBe(0);
  });
});
