// A scheme-less `user:secret@host` (a DSN, a proxy setting) is a credential whatever comes
// before it, whatever script its user name and host are written in, and however its host
// is written: URL parsers read `bücher.de`, `例え.jp`, `host。com` (an ideographic full
// stop), `2130706433` and `0x7f000001` (127.0.0.1), `db_primary.internal` and
// `db%2Eexample.com` as hosts, so the text before their `@` is a credential as it is before
// `db.example.com`. The earlier rule knew only ASCII dotted hosts and a list of characters
// that may come before a user name, and stored `|user:secret@db.example.com` and
// `user:secret@bücher.de` whole. Keys sent percent-encoded again (`%2570assword`) name what
// they decode to.

import fc from "fast-check";

import { DEFAULT_MASK_FIELDS, MaskRules } from "../../src/mask-rules";
import { maskStringValue, maskUrl } from "../../src/mask-url";
import { MASK, maskMessage, maskRequestData } from "../../src/masking";
import { maskJsonInString, normalizeContent } from "../../src/serialize";
import { secretValue } from "../support/secret-keys";

const DEFAULTS = new MaskRules(DEFAULT_MASK_FIELDS, [], []);

/** What each place that stores a string stores of `text`. */
function storedForms(text: string): string[] {
  return [
    JSON.stringify(maskRequestData({ note: text }, DEFAULTS)),
    JSON.stringify(normalizeContent({ detail: text }, DEFAULTS)),
    maskMessage(text, DEFAULTS, Infinity),
    maskStringValue(text, DEFAULTS, maskJsonInString),
    maskUrl(`/p/${encodeURIComponent(text)}`, DEFAULTS, maskJsonInString),
    maskUrl(`/p?dsn=${encodeURIComponent(text)}`, DEFAULTS, maskJsonInString),
  ];
}

/** Characters that are no part of a user name, so one may come just before it: ASCII punctuation and other scripts' punctuation. */
const BEFORE = [..."|*$!:^`~;,=()[]{}<>\"'/\\?#&", "、", "。", "「", "（", "【", "«", "—", " ", "\t", "\n"].filter((c) => !"*$!~".includes(c));
const BEFORE_TEXT = fc.tuple(fc.constantFrom("", "x", "error", "接続"), fc.constantFrom(...BEFORE)).map(([word, c]) => word + c);

const USER = fc.constantFrom("user", "app_user", "josé", "ユーザー", "ada@example.com", "us!er", "u$er", "*admin", "Ünïcode", "x", "", "u".repeat(200));

/** What a password may hold besides the secret: characters RFC 3986 leaves out but URL parsers and drivers take (percent-encoding them). */
const PASSWORD_EXTRA = fc.constantFrom("", "^x", "{x}", "|x", "`x", ":x", "@x");

/** Hosts as URL parsers read them: any script, IDNA dots, one-number IPv4, underscores, escapes, a port. */
const HOST = fc.tuple(
  fc.constantFrom(
    "db.example.com",
    "bücher.de",
    "例え.jp",
    "host\u3002com",
    "ｅｘａｍｐｌｅ.com",
    "host\uFF0Eexample\uFF61org",
    "2130706433",
    "0x7f000001",
    "db_primary.internal",
    "db-1.svc.cluster.local",
    "xn--bcher-kva.de",
    "b%C3%BCcher.de",
    "db%2Eexample.com",
    "10.0.0.5",
    "[::1]",
    "localhost",
    "db:5432",
    "017700000001",
    "0x00000007f000001",
    "l0.l1.l2.l3.l4.l5.l6.l7.l8.l9.l10",
    `${"a".repeat(64)}.com`,
    "tcp(localhost:5555)",
    "unix(/tmp/mysql.sock)",
  ),
  fc.constantFrom("", ":5432", ":6379"),
).map(([host, port]) => (host.includes(":") ? host : host + port));

/** What may follow the host: the end, whitespace, a path, and punctuation of any script. */
const AFTER = fc.constantFrom("", " then", "/db", "?sslmode=require", "、次", "。", "）", "」", ")", ",", ";", "!", "|x", ". Next");

describe("a scheme-less userinfo", () => {
  it("is never stored, whatever comes before it, whatever its user name and host", () => {
    fc.assert(
      fc.property(BEFORE_TEXT, USER, secretValue, PASSWORD_EXTRA, HOST, AFTER, (before, user, secret, extra, host, after) => {
        const text = `${before}${user}:${secret}${extra}@${host}${after}`;
        for (const stored of storedForms(text)) {
          if (stored.includes(secret)) throw new Error(`${JSON.stringify(text)} stored as ${JSON.stringify(stored)}`);
        }
        // What came before the user name and the host after it are kept.
        expect(maskMessage(text, DEFAULTS, Infinity)).toContain(`${MASK}@${host}${after}`);
        return true;
      }),
      { numRuns: 3000 },
    );
  });

  it("masks no more of text without spaces than the credential's own characters: a time before a host in a CJK sentence", () => {
    expect(maskMessage("用户张三于北京时间10:30@北京.中国登录系统", DEFAULTS, Infinity)).toBe(`用户张三于北京时间${MASK}@北京.中国登录系统`);
  });

  it.each([
    "write to ada@example.com",
    "see you at 10:30@venue",
    "see you at 10:30@venue.",
    "price: 3@4.50 each",
    "|ada@example.com|",
    "sip:ada@bücher.de",
    "ratio 1:2@",
    "/users/@me/avatar@2x.png",
    "用户张三于北京时间登录系统，联系 ada@example.com 或 bob@例子.中国",
    "本日の定例会議は会議室.example.jpで開始します",
  ])("leaves %j alone: no user name and password before a host", (text) => {
    expect(maskMessage(text, DEFAULTS, Infinity)).toBe(text);
    expect(maskRequestData({ note: text }, DEFAULTS)).toEqual({ note: text });
  });
});

describe("a key sent percent-encoded again", () => {
  /** `text` with `count` of its characters written as escapes, the escapes' `%` escaped `times` more times. */
  const encodedKey = fc
    .tuple(fc.constantFrom("password", "token", "api_key", "secret", "user[password]", "accessToken"), fc.integer({ min: 0, max: 2 }), fc.integer({ min: 1, max: 3 }), fc.nat())
    .map(([key, times, count, seed]) => {
      let out = "";
      for (let i = 0; i < key.length; i++) {
        const escaped = (i * 7 + seed) % key.length < count;
        out += escaped ? `%${"25".repeat(times)}${key.charCodeAt(i).toString(16).toUpperCase()}` : key[i];
      }
      return out;
    });

  it("names the secret it decodes to, in a query and as an object key", () => {
    fc.assert(
      fc.property(encodedKey, secretValue, (key, secret) => {
        const url = maskUrl(`/login?${key}=${secret}&next=/home`, DEFAULTS, maskJsonInString);
        const body = JSON.stringify(maskRequestData({ [key]: secret, nested: { [key]: secret } }, DEFAULTS));
        return !url.includes(secret) && url.includes(`${key}=${MASK}`) && !body.includes(secret);
      }),
      { numRuns: 1000 },
    );
  });

  it("leaves keys that decode to no secret's name alone", () => {
    for (const key of ["%2570age", "user%255Fid", "q%2575ery"]) {
      expect(maskUrl(`/p?${key}=v1`, DEFAULTS, maskJsonInString)).toBe(`/p?${key}=v1`);
      expect(maskRequestData({ [key]: "v1" }, DEFAULTS)).toEqual({ [key]: "v1" });
    }
  });
});

describe("a message", () => {
  it.each([
    ["login failed tok%65n=S3CR3Tvalue", "tok%65n=****************"],
    ["rejected %2570assword=S3CR3Tvalue", "%2570assword=****************"],
    ['sent pass%77ord: "S3CR3Tvalue"', 'pass%77ord: "****************"'],
    ["redirect to %2Freset%3Ftoken%3DS3CR3Tvalue", "token%3D****************"],
    ["body was %7B%22password%22%3A%22S3CR3Tvalue%22%7D", "%22****************%22"],
    ["dial app:S3CR3Tvalue@tcp(10.0.0.5:3306)/shop failed", "****************@tcp(10.0.0.5:3306)/shop"],
    ["open user:S3CR3Tvalue@/shop", "****************@/shop"],
  ])("masks a name or a credential written percent-encoded or as Go's MySQL driver does: %j", (text, masked) => {
    const stored = maskMessage(text, DEFAULTS, Infinity);
    expect(stored).not.toContain("S3CR3T");
    expect(stored).toContain(masked);
  });
});
