// The WHATWG URL parser (browsers, Node's URL) reads a special scheme (http, https, ws,
// wss, ftp) followed by fewer than two slashes, or by backslashes, as an authority:
// `http:u:secret@intranet/` is `http://u:secret@intranet/`. Its userinfo is a credential
// wherever it sits, even before a host a scheme-less userinfo would not be masked before
// (a single label such as `intranet`).

import fc from "fast-check";

import { DEFAULT_MASK_FIELDS, MaskRules } from "../../src/mask-rules";
import { maskStringValue, maskUrl } from "../../src/mask-url";
import { MASK, maskMessage } from "../../src/masking";
import { maskJsonInString } from "../../src/serialize";

const DEFAULTS = new MaskRules(DEFAULT_MASK_FIELDS, [], []);

const SCHEMES = ["http", "https", "HTTP", "Https", "ws", "wss", "ftp"];
const AFTER = ["", "/", "\\"];
const HOSTS = ["intranet", "x", "db", "evil.com", "[::1]", "intranet:8080"];
const PLACES: readonly ((url: string) => string)[] = [(u) => u, (u) => `see ${u} now`, (u) => `http://app.example/go?next=${u}`, (u) => `/redirect/${u}/g`, (u) => `http://app.example/a#${u}`];

describe("userinfo after a special scheme with fewer than two slashes", () => {
  it("is read by the WHATWG parser as userinfo", () => {
    expect(new URL("http:u:pw@intranet/a").password).toBe("pw");
    expect(new URL("https:/u:pw@intranet/a").password).toBe("pw");
  });

  it("is masked in a url, a stored string and a message", () => {
    fc.assert(
      fc.property(fc.constantFrom(...SCHEMES), fc.constantFrom(...AFTER), fc.constantFrom(...HOSTS), fc.constantFrom(...PLACES), fc.stringMatching(/^[A-Za-z0-9]{6,12}$/), (scheme, after, host, place, secret) => {
        const text = place(`${scheme}:${after}user:Qz${secret}@${host}/p`);
        for (const masked of [maskUrl(text, DEFAULTS, maskJsonInString), maskStringValue(text, DEFAULTS, maskJsonInString), maskMessage(text, DEFAULTS)]) {
          expect(masked).not.toContain(`Qz${secret}`);
          expect(masked).toContain(MASK);
        }
      }),
    );
  });

  it("keeps a scheme that is not special, and stays linear over a run of schemes", () => {
    expect(maskUrl("news:u:pw@x", DEFAULTS, maskJsonInString)).toBe("news:u:pw@x");
    const run = "http:".repeat(4000) + "a".repeat(4000) + "@";
    const started = performance.now();
    maskStringValue(run, DEFAULTS, maskJsonInString);
    expect(performance.now() - started).toBeLessThan(50);
  });
});
