// JSON text held in a query value (GraphQL's `variables`, a `filter` or `state` parameter)
// is masked in every string that holds the query: the event's `url`, a `Referer` header,
// `key=value` text in request data, a URL in a message. The masked JSON is written back
// encoded as it came, so the URL keeps its shape; and the size bounds still hold.

import fc from "fast-check";

import { DEFAULT_MASK_FIELDS, MaskRules } from "../../src/mask-rules";
import { maskUrl } from "../../src/mask-url";
import { MASK, maskMessage, maskRequestData, pickHeaders } from "../../src/masking";
import { jsonBytes, maskJsonInString, normalizeCapped } from "../../src/serialize";
import { nest, nesting, secretKey, secretValue } from "../support/secret-keys";

const DEFAULTS = new MaskRules(DEFAULT_MASK_FIELDS, [], []);

/** Every place a stored string may hold the URL, as what is stored there. */
function storedForms(url: string): string[] {
  return [
    maskUrl(url, DEFAULTS, maskJsonInString),
    JSON.stringify(pickHeaders({ referer: url }, ["referer"], DEFAULTS)),
    JSON.stringify(maskRequestData({ redirect: url }, DEFAULTS)),
    maskMessage(`GET ${url} failed`, DEFAULTS, Infinity),
  ];
}

/** The ways a client writes JSON text into a query value. */
const ENCODINGS: Readonly<Record<string, (json: string) => string>> = {
  percent: (json) => encodeURIComponent(json),
  plusForSpace: (json) => encodeURIComponent(json).replaceAll("%20", "+"),
  form: (json) => new URLSearchParams({ v: json }).toString().slice(2),
  raw: (json) => json.replaceAll(" ", "%20"),
  rawWithPlus: (json) => json.replaceAll(" ", "+"),
  partly: (json) => json.replaceAll('"', "%22").replaceAll(" ", "+"),
};

describe("JSON text in a query value", () => {
  it.each([
    ["percent-encoded", "/graphql?variables=%7B%22password%22%3A%22s3cret%22%7D"],
    ["with + for spaces", "/graphql?variables=%7B%22input%22%3A+%7B%22password%22%3A+%22s3cret%22%7D%7D"],
    ["with %20 for spaces", "/graphql?variables=%7B%22input%22%3A%20%7B%22password%22%3A%20%22s3cret%22%7D%7D"],
    ["unencoded", '/graphql?variables={"password":"s3cret"}'],
    ["in an array", '/graphql?variables=[{"token":"s3cret"}]'],
    ["nested in objects and arrays", "/q?filter=%7B%22a%22%3A%5B%7B%22b%22%3A%7B%22apiKey%22%3A%22s3cret%22%7D%7D%5D%7D&x=1"],
    ["after other pairs, before a fragment", "https://h.example/graphql?op=Login&variables=%7B%22password%22%3A%22s3cret%22%7D#top"],
    ["in the fragment", "https://h.example/cb#state=%7B%22token%22%3A%22s3cret%22%7D"],
    ["as the whole fragment", "https://h.example/cb#%7B%22token%22%3A%22s3cret%22%7D"],
    ["as the whole fragment, unencoded", 'https://h.example/cb#{"token":"s3cret"}'],
    ["in a URL held in a query value", `/login?next=${encodeURIComponent("/graphql?variables=%7B%22password%22%3A%22s3cret%22%7D")}`],
  ])("is masked when %s", (_kind, url) => {
    for (const stored of storedForms(url)) {
      expect(stored).not.toContain("s3cret");
      expect(stored).toContain(MASK);
    }
  });

  it("is masked in key=value text and written back encoded as it came", () => {
    expect(maskRequestData({ v: "variables=%7B%22password%22%3A%22s3cret%22%7D&a=1" }, DEFAULTS)).toEqual({
      v: `variables=${encodeURIComponent(`{"password":"${MASK}"}`)}&a=1`,
    });
    expect(maskUrl('/graphql?variables={"password":"s3cret"}&a=1', DEFAULTS, maskJsonInString)).toBe(`/graphql?variables={"password":"${MASK}"}&a=1`);
    expect(maskUrl("/g?v=%7B%22a%22%3A+1%2C+%22pin%22%3A+2%7D", DEFAULTS, maskJsonInString)).toBe(`/g?v=${encodeURIComponent(`{"a":1,"pin":"${MASK}"}`)}`);
  });

  it("escapes what would end or split the value when written back unencoded", () => {
    // JSON escapes decode to characters the query itself uses: written raw, they would cut it.
    const url = String.raw`/g?v={"note":"a\u0026b\u0023c\u0025d","pin":"s3cret"}&x=1`;
    const masked = maskUrl(url, DEFAULTS, maskJsonInString);
    expect(masked).not.toContain("s3cret");
    const params = new URL(masked, "https://h.example").searchParams;
    expect([...params.keys()]).toEqual(["v", "x"]);
    expect(JSON.parse(params.get("v")!)).toEqual({ note: "a&b#c%d", pin: MASK });
  });

  it("leaves JSON text without masked keys, and text that is not JSON, as it was", () => {
    for (const url of ["/g?variables=%7B%22id%22%3A1%7D&a=2", '/g?v={"id":1}', "/g?v=%7Bnot%20json", "/g?v=[1,2]"]) {
      expect(maskUrl(url, DEFAULTS, maskJsonInString)).toBe(url);
    }
  });

  it("never stores a secret under any key spelling, encoding, depth or position, and keeps the URL's shape", () => {
    fc.assert(
      fc.property(
        secretKey,
        secretValue,
        nesting,
        fc.constantFrom(...Object.keys(ENCODINGS)),
        fc.constantFrom(0, 1, 2),
        fc.constantFrom("query", "fragment", "nestedUrl"),
        fc.boolean(),
        (key, secret, path, encoding, indent, position, absolute) => {
          // Indented JSON on one line: a URL holds no line breaks.
          const json = JSON.stringify(nest(key, secret, path), null, indent).replace(/\n\s*/g, " ");
          const value = ENCODINGS[encoding]!(json);
          const pairs = `a=1&variables=${value}&b=2`;
          const base = absolute ? "https://h.example/graphql" : "/graphql";
          const url =
            position === "query" ? `${base}?${pairs}` : position === "fragment" ? `${base}#${pairs}` : `/login?next=${encodeURIComponent(`${base}?${pairs}`)}`;
          for (const stored of storedForms(url)) if (stored.includes(secret)) return false;
          const masked = maskUrl(url, DEFAULTS, maskJsonInString);
          if (position === "nestedUrl") return masked.startsWith("/login?next=") && URL.canParse(masked, "https://h.example");
          const parsed = new URL(masked, "https://h.example");
          const params = new URLSearchParams(position === "query" ? parsed.search : parsed.hash.slice(1));
          return (
            parsed.pathname === "/graphql" &&
            [...params.keys()].join() === "a,variables,b" &&
            params.get("a") === "1" &&
            params.get("b") === "2" &&
            JSON.stringify(JSON.parse(params.get("variables")!)).includes(MASK)
          );
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("keeps the size bound of request data holding such text", () => {
    const texts = fc
      .tuple(secretKey, fc.integer({ min: 0, max: 99 }), nesting, fc.constantFrom(...Object.keys(ENCODINGS)))
      .map(([key, value, path, encoding]) => `?a=1&v=${ENCODINGS[encoding]!(JSON.stringify(nest(key, value, path)))}`);
    fc.assert(
      fc.property(fc.array(texts, { minLength: 1, maxLength: 4 }), fc.integer({ min: 1, max: 600 }), (strings, cap) => {
        const data = Object.fromEntries(strings.map((text, i) => [`k${i}`, text]));
        const result = normalizeCapped(data, DEFAULTS, Infinity);
        if (result.exceeded || result.bytesAtMost < jsonBytes(result.value)) return false;
        const bytes = jsonBytes(result.value);
        const capped = maskRequestData(data, DEFAULTS, cap);
        return bytes <= cap ? JSON.stringify(capped) === JSON.stringify(result.value) : capped._truncated === true;
      }),
      { numRuns: 1000 },
    );
  });
});

describe("raw JSON text in a query value holding a ;", () => {
  it("is masked whole, not cut at the ; that older query syntax took as a separator", () => {
    for (const url of ['/p?v={"password":"s3;cret"}', '/p?v={"password":"s3cret","x":"a;b"}&y=1', "/p?v=%7B%22pin%22%3A%22s3;cret%22%7D"]) {
      const masked = maskUrl(url, DEFAULTS, maskJsonInString);
      expect(masked).not.toContain("s3");
      expect(masked).not.toContain("cret");
    }
    expect(maskUrl("/p?a=1;password=s3cret;b=2", DEFAULTS, maskJsonInString)).toBe(`/p?a=1;password=${MASK};b=2`);
  });

  it("is masked when a raw & or # inside it cuts it, as the application's parser would", () => {
    for (const url of ['/p?v={"note":"a&b","password":"s3cret"}', '/p?v={"note":"a#b","password":"s3cret"}', "https://h.example/#note:password=s3cret"]) {
      for (const stored of [maskUrl(url, DEFAULTS, maskJsonInString), JSON.stringify(maskRequestData({ next: url }, DEFAULTS))]) {
        expect(stored).not.toContain("s3cret");
      }
    }
  });
});
