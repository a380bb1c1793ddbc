// A key is usually a name, and a masked key's value is replaced while the key is kept. But
// a key may itself be text that holds a secret: a query key without `=` that was sent
// percent-encoded (`?password%3Ds3cret`, which a parser reads as the key "password=s3cret"),
// JSON text sent as a query key, a map keyed by connection URLs. Such a key is masked as
// the text it is.

import fc from "fast-check";

import { DEFAULT_MASK_FIELDS, MaskRules } from "../../src/mask-rules";
import { maskUrl } from "../../src/mask-url";
import { MASK, maskRequestData } from "../../src/masking";
import { maskJsonInString, normalizeContent } from "../../src/serialize";
import { secretKey, secretValue } from "../support/secret-keys";

const DEFAULTS = new MaskRules(DEFAULT_MASK_FIELDS, [], []);

describe("a key that holds a secret itself", () => {
  it.each([
    ["key=value text", "password=s3cret"],
    ["key = value text", "db_password = s3cret"],
    ["JSON text", '{"password":"s3cret"}'],
    ["a URL with userinfo", "postgres://app:s3cret@db.example.com/x"],
  ])("is masked in request data, content and maps when it is %s", (_kind, key) => {
    const stored = [
      maskRequestData({ [key]: "", other: 1 }, DEFAULTS),
      maskRequestData({ nested: [{ [key]: "primary" }] }, DEFAULTS),
      maskRequestData(new Map([[key, "primary"]]), DEFAULTS),
      normalizeContent({ [key]: "primary" }, DEFAULTS),
    ];
    for (const out of stored) {
      expect(JSON.stringify(out)).not.toContain("s3cret");
      expect(JSON.stringify(out)).toContain(MASK);
    }
  });

  it.each([
    ["percent-encoded key=value", "/p?password%3Ds3cret&a=1"],
    ["percent-encoded JSON text", "/p?%7B%22password%22%3A%22s3cret%22%7D&a=1"],
    ["raw JSON text", '/p?{"password":"s3cret"}&a=1'],
  ])("is masked in a query key sent as %s, and the query keeps its shape", (_kind, url) => {
    const masked = maskUrl(url, DEFAULTS, maskJsonInString);
    expect(masked).not.toContain("s3cret");
    expect([...new URL(masked, "https://h.example").searchParams.keys()]).toHaveLength(2);
    expect(JSON.stringify(maskRequestData({ referrer: `https://h.example${url}` }, DEFAULTS))).not.toContain("s3cret");
  });

  it("never stores the secret of a key holding name=value or JSON text, however the name is spelled and the key encoded", () => {
    fc.assert(
      fc.property(
        secretKey.filter((k) => !/[\s&;#=]/.test(k)),
        secretValue,
        fc.constantFrom("pair", "spacedPair", "json"),
        fc.boolean(),
        (name, secret, form, encoded) => {
          const key = form === "pair" ? `${name}=${secret}` : form === "spacedPair" ? `${name} = ${secret}` : JSON.stringify({ [name]: secret });
          const data = JSON.stringify(maskRequestData({ [key]: "", deep: { [key]: [key] } }, DEFAULTS));
          const url = maskUrl(`/p?a=1&${encoded ? encodeURIComponent(key) : key.replaceAll(" ", "+")}`, DEFAULTS, maskJsonInString);
          return !data.includes(secret) && !url.includes(secret) && url.startsWith("/p?a=1&");
        },
      ),
      { numRuns: 1000 },
    );
  });

  it("keeps keys that are names as they were", () => {
    expect(maskRequestData({ password: "x", "user[password]": "y", "a=b": 1, "https://h.example/x": 2 }, DEFAULTS)).toEqual({
      password: MASK,
      "user[password]": MASK,
      "a=b": 1,
      "https://h.example/x": 2,
    });
  });
});
