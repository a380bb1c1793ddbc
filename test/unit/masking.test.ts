// Unit tests for src/masking.ts: what reaches postData, queryParams, the url and the
// headers of a stored event. Request data is attacker-controlled, so besides masking
// these tests pin down that hostile shapes (prototype keys, cycles, huge nesting,
// malformed strings) neither crash the library nor leak a masked value.

import { parse as parseQueryString } from "node:querystring";

import { ALWAYS_MASKED_HEADERS, DEFAULT_MASK_FIELDS, keyParts, MaskRules } from "../../src/mask-rules";
import { maskUrl } from "../../src/mask-url";
import { MASK, MAX_DECLARED_TO_CAP_RATIO, maskRequestData, pickHeaders } from "../../src/masking";
import { normalizeContent, CIRCULAR_MARKER, DEPTH_LIMIT_MARKER, maskJsonInString, MAX_JSON_DEPTH, PROTO_KEY } from "../../src/serialize";

const PASSWORD = new MaskRules(["password"], [], []);
const NOTHING = new MaskRules([], [], []);

/** Freezes `value` and everything reachable from it, cycles included. */
function deepFreeze<T>(value: T, seen = new Set<object>()): T {
  if (typeof value !== "object" || value === null || seen.has(value)) return value;
  seen.add(value);
  for (const key of Reflect.ownKeys(value)) {
    deepFreeze((value as Record<PropertyKey, unknown>)[key], seen);
  }
  return Object.freeze(value);
}

/** `{ child: { child: ... } }`, `depth` objects deep, built without recursion. */
function nestedObjects(depth: number, leaf: (level: number) => Record<string, unknown>): Record<string, unknown> {
  let node: Record<string, unknown> = leaf(depth - 1);
  for (let level = depth - 2; level >= 0; level--) node = { ...leaf(level), child: node };
  return node;
}

describe("MASK", () => {
  it("is sixteen asterisks", () => {
    expect(MASK).toBe("*".repeat(16));
    expect(MASK).toHaveLength(16);
  });
});

describe("keyParts", () => {
  it.each([
    ["user[password]", ["user", "password"]],
    ["user.password", ["user", "password"]],
    ["passwordConfirmation", ["password", "confirmation"]],
    ["new_password", ["new", "password"]],
    ["X-API-Key", ["x", "api", "key"]],
    ["APIKey", ["api", "key"]],
    ["PASSWORD_CONFIRMATION", ["password", "confirmation"]],
    ["cvv2", ["cvv", "2"]],
    ["oauth2Token", ["oauth", "2", "token"]],
    ["ｐａｓｓｗｏｒｄ", ["password"]],
    ["pass\u200Bword", ["password"]],
    ["", []],
  ])("splits %j into %j", (key, parts) => {
    expect(keyParts(key)).toEqual(parts);
  });
});

describe("maskRequestData", () => {
  it("masks a top-level password and keeps the other fields", () => {
    expect(maskRequestData({ username: "ada", password: "hunter2" }, PASSWORD)).toEqual({
      username: "ada",
      password: MASK,
    });
  });

  it("masks a password nested ten objects deep", () => {
    const data = nestedObjects(10, (level) => ({ level, password: `secret-${level}` }));
    const masked = maskRequestData(data, PASSWORD);

    let node: Record<string, unknown> | undefined = masked;
    for (let level = 0; level < 10; level++) {
      expect(node).toBeDefined();
      expect(node!.level).toBe(level);
      expect(node!.password).toBe(MASK);
      node = node!.child as Record<string, unknown> | undefined;
    }
    expect(node).toBeUndefined();
    expect(JSON.stringify(masked)).not.toContain("secret");
  });

  it("masks passwords inside arrays of objects", () => {
    const data = { users: [{ name: "a", password: "p1" }, { name: "b", password: "p2" }] };
    expect(maskRequestData(data, PASSWORD)).toEqual({
      users: [
        { name: "a", password: MASK },
        { name: "b", password: MASK },
      ],
    });
  });

  it("masks passwords inside arrays nested in arrays", () => {
    const data = { matrix: [[{ password: "p1" }], [[{ password: "p2", keep: 1 }]], "plain"] };
    expect(maskRequestData(data, PASSWORD)).toEqual({
      matrix: [[{ password: MASK }], [[{ password: MASK, keep: 1 }]], "plain"],
    });
  });

  it("matches keys case-insensitively, such as Password and PASSWORD", () => {
    const data = { Password: "a", PASSWORD: "b", pAsSwOrD: "c", other: "d" };
    expect(maskRequestData(data, PASSWORD)).toEqual({ Password: MASK, PASSWORD: MASK, pAsSwOrD: MASK, other: "d" });
  });

  it("matches configured field names given in mixed case", () => {
    expect(maskRequestData({ token: "t", TOKEN: "u" }, new MaskRules(["Token"], [], []))).toEqual({ token: MASK, TOKEN: MASK });
  });

  it("matches the name as a whole part of a key or at the start of a run-together word, and never inside another word", () => {
    expect(maskRequestData({ passwordHint: "pet's name", old_password_set: true, passwordhash: "h", bypass: "x", compass: "n" }, PASSWORD)).toEqual({
      passwordHint: MASK,
      old_password_set: MASK,
      passwordhash: MASK,
      bypass: "x",
      compass: "n",
    });
  });

  it("replaces a masked key's object or array value entirely by MASK", () => {
    const data = { password: { first: "a", second: ["b"] }, nested: { PASSWORD: ["x", { y: "z" }] } };
    const masked = maskRequestData(data, PASSWORD);
    expect(masked).toEqual({ password: MASK, nested: { PASSWORD: MASK } });
  });

  it("masks empty, null and numeric password values too", () => {
    expect(maskRequestData({ a: { password: "" }, b: { password: null }, c: { password: 1234 } }, PASSWORD)).toEqual({
      a: { password: MASK },
      b: { password: MASK },
      c: { password: MASK },
    });
  });

  it("masks nothing with an empty mask set", () => {
    expect(maskRequestData({ password: "x" }, NOTHING)).toEqual({ password: "x" });
  });

  it("never mutates its input, even a deep-frozen one", () => {
    const input = {
      password: "hunter2",
      profile: { Password: "p", tags: ["a", { password: "q" }], nested: [[{ password: "r" }]] },
      when: new Date("2026-01-02T03:04:05.000Z"),
      count: 3,
    };
    const before = structuredClone(input);
    deepFreeze(input);

    const masked = maskRequestData(input, PASSWORD);

    expect(input).toEqual(before);
    expect(input.password).toBe("hunter2");
    expect(masked).not.toBe(input);
    expect(masked.profile).not.toBe(input.profile);
  });

  describe("with hostile keys", () => {
    it("keeps a __proto__ key from JSON.parse as data under [__proto__], masked inside", () => {
      const input = JSON.parse('{"__proto__": {"password": "x", "keep": 1}, "a": 2}') as unknown;
      const masked = maskRequestData(input, PASSWORD);

      expect(Object.getPrototypeOf(masked)).toBe(Object.prototype);
      expect(Object.prototype.hasOwnProperty.call(masked, "__proto__")).toBe(false);
      expect(masked).toEqual({ [PROTO_KEY]: { password: MASK, keep: 1 }, a: 2 });
      expect(JSON.stringify(masked)).not.toContain('"x"');
    });

    it("does not pollute Object.prototype", () => {
      const namesBefore = Object.getOwnPropertyNames(Object.prototype).sort();
      const payloads = [
        '{"__proto__": {"password": "x", "polluted": "yes"}}',
        '{"constructor": {"prototype": {"polluted": "yes", "password": "x"}}}',
        '{"a": [{"__proto__": {"polluted": "yes"}}]}',
      ];
      for (const payload of payloads) maskRequestData(JSON.parse(payload), PASSWORD);

      const probe = {} as Record<string, unknown>;
      expect(probe.password).toBeUndefined();
      expect(probe.polluted).toBeUndefined();
      expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(namesBefore);
    });

    it("masks a key named __proto__ when it is itself a masked key", () => {
      const input = JSON.parse('{"__proto__": {"deep": "secret"}}') as unknown;
      const masked = maskRequestData(input, new MaskRules(["__proto__"], [], []));
      expect(masked).toEqual({ [PROTO_KEY]: MASK });
      expect(Object.getPrototypeOf(masked)).toBe(Object.prototype);
    });
  });

  it("handles objects with a null prototype, as node's querystring produces", () => {
    const parsed = parseQueryString("password=x&a=1&a=2&name=ada");
    expect(Object.getPrototypeOf(parsed)).toBeNull();

    const masked = maskRequestData(parsed, PASSWORD);
    expect(masked).toEqual({ password: MASK, a: ["1", "2"], name: "ada" });
    expect(Object.getPrototypeOf(masked)).toBe(Object.prototype);
  });

  it("handles a nested null-prototype object", () => {
    const inner = Object.assign(Object.create(null) as Record<string, unknown>, { password: "x", b: 1 });
    expect(maskRequestData({ inner }, PASSWORD)).toEqual({ inner: { password: MASK, b: 1 } });
  });

  it("turns a circular reference into the circular marker instead of crashing", () => {
    const input: Record<string, unknown> = { name: "loop", password: "x" };
    input.self = input;
    input.list = [input, { back: input }];

    const masked = maskRequestData(input, PASSWORD);

    expect(CIRCULAR_MARKER).toBe("[circular]");
    expect(masked).toEqual({
      name: "loop",
      password: MASK,
      self: CIRCULAR_MARKER,
      list: [CIRCULAR_MARKER, { back: CIRCULAR_MARKER }],
    });
  });

  it("copies an object that appears twice without a cycle in full both times", () => {
    const shared = { password: "x", v: 1 };
    expect(maskRequestData({ a: shared, b: [shared] }, PASSWORD)).toEqual({
      a: { password: MASK, v: 1 },
      b: [{ password: MASK, v: 1 }],
    });
  });

  it("cuts 10 000-deep nesting with the depth marker, without a stack overflow and without leaking a password", () => {
    const data = nestedObjects(10_000, (level) => ({ password: `hunter2-${level}` }));

    const masked = maskRequestData(data, PASSWORD);
    const json = JSON.stringify(masked);

    expect(json).not.toContain("hunter2");
    expect(json).toContain(DEPTH_LIMIT_MARKER);
    // The marker stands exactly where the nesting passes MAX_JSON_DEPTH.
    let node: unknown = masked;
    let levels = 0;
    while (typeof node === "object" && node !== null) {
      expect((node as Record<string, unknown>).password).toBe(MASK);
      node = (node as Record<string, unknown>).child;
      levels++;
    }
    expect(node).toBe(DEPTH_LIMIT_MARKER);
    expect(levels).toBe(MAX_JSON_DEPTH);
  });

  it("cuts 10 000-deep nested arrays with the depth marker", () => {
    let data: unknown = [{ password: "hunter2" }];
    for (let i = 0; i < 10_000; i++) data = [data];

    const json = JSON.stringify(maskRequestData({ data }, PASSWORD));
    expect(json).toContain(DEPTH_LIMIT_MARKER);
    expect(json).not.toContain("hunter2");
  });

  it("keeps control characters but replaces NUL by U+2400, in values and keys", () => {
    const controls = "\u0001\u0007\b\t\n\u000b\f\r\u001b\u001f\u007f";
    const masked = maskRequestData({ text: `a${controls}b`, nul: "x\u0000y", "k\u0000ey": 1 }, PASSWORD);
    expect(masked).toEqual({ text: `a${controls}b`, nul: "x\u2400y", "k\u2400ey": 1 });
    expect(JSON.stringify(masked)).not.toContain("\\u0000");
  });

  it("replaces lone surrogates by U+FFFD and keeps valid pairs", () => {
    const masked = maskRequestData({ high: "a\uD800b", low: "\uDC00", pair: "😀", "\uD83D": "key" }, PASSWORD);
    expect(masked).toEqual({ high: "a\uFFFDb", low: "\uFFFD", pair: "😀", "\uFFFD": "key" });
  });

  it("keeps a 1 MB value exactly and masks a 1 MB password to sixteen asterisks", () => {
    const big = "x".repeat(1024 * 1024);
    const bigUnicode = "ü✓".repeat(512 * 1024);
    const masked = maskRequestData({ big, bigUnicode, password: big }, PASSWORD);
    expect(masked.big).toBe(big);
    expect(masked.bigUnicode).toBe(bigUnicode);
    expect(masked.password).toBe(MASK);
  });

  it("returns an empty object when there is no data", () => {
    expect(maskRequestData(undefined, PASSWORD)).toEqual({});
  });

  it("keeps a body that is not an object under _body, masked", () => {
    expect(maskRequestData(null, PASSWORD)).toEqual({});
    expect(maskRequestData("password=x&a=1", PASSWORD)).toEqual({ _body: `password=${MASK}&a=1` });
    expect(maskRequestData("plain text", PASSWORD)).toEqual({ _body: "plain text" });
    expect(maskRequestData(42, PASSWORD)).toEqual({ _body: 42 });
    expect(maskRequestData([{ password: "x", id: 1 }], PASSWORD)).toEqual({ _body: [{ password: MASK, id: 1 }] });
  });

  it("drops functions and symbols instead of throwing", () => {
    const data = { fn: () => 1, sym: Symbol("s"), list: [() => 1, "kept"], keep: 1 };
    expect(maskRequestData(data, PASSWORD)).toEqual({ list: [null, "kept"], keep: 1 });
  });
});

describe("maskRequestData under a size cap", () => {
  /** An array of `length` strings that counts how many of its items are read. */
  function countingArray(length: number): { array: string[]; reads: () => number } {
    let reads = 0;
    const array = new Proxy(new Array<string>(length).fill("item"), {
      get(target, key, receiver) {
        if (typeof key === "string" && /^\d+$/.test(key)) reads++;
        return Reflect.get(target, key, receiver) as unknown;
      },
    });
    return { array, reads: () => reads };
  }

  it("stops reading at the cap: 100 000 items under a 1 KB cap are not all read", () => {
    const { array, reads } = countingArray(100_000);
    expect(maskRequestData({ items: array }, PASSWORD, 1024)).toEqual({ _truncated: true, _bytes: expect.any(Number), _bytesAtLeast: true });
    expect(reads()).toBeLessThan(200);
  });

  it("gives up on a 10 MB string without looking at its characters", () => {
    const huge = "x".repeat(10 * 1024 * 1024);
    const result = maskRequestData({ text: huge }, PASSWORD, 16384);
    expect(result).toEqual({ _truncated: true, _bytes: expect.any(Number), _bytesAtLeast: true });
    expect(result._bytes as number).toBeGreaterThan(16384);
  });

  it("does not look at a body declared more than MAX_DECLARED_TO_CAP_RATIO times the cap", () => {
    let touched = 0;
    const body = new Proxy({ a: 1 }, { ownKeys: (target) => (touched++, Reflect.ownKeys(target)), get: (target, key) => (touched++, Reflect.get(target, key) as unknown) });
    expect(maskRequestData(body, PASSWORD, 100, 100 * MAX_DECLARED_TO_CAP_RATIO + 1)).toEqual({ _truncated: true, _bytes: 401 });
    expect(touched).toBe(0);
    expect(maskRequestData(body, PASSWORD, 100, 100 * MAX_DECLARED_TO_CAP_RATIO)).toEqual({ a: 1 });
  });

  it("stores data of exactly the cap's size whole, and one byte more as the marker with the declared size", () => {
    const data = { note: "x".repeat(20) };
    const size = Buffer.byteLength(JSON.stringify(data));
    expect(maskRequestData(data, PASSWORD, size)).toEqual(data);
    expect(maskRequestData(data, PASSWORD, size - 1, 77)).toEqual({ _truncated: true, _bytes: 77 });
    expect(maskRequestData(data, PASSWORD, size - 1)).toEqual({ _truncated: true, _bytes: size, _bytesAtLeast: true });
  });
});

describe("masking what strings hold", () => {
  const TOKEN = new MaskRules(["password", "token", "api_key"], [], []);

  it.each([
    ["JSON text", { data: '{"password":"S3"}' }, { data: `{"password":"${MASK}"}` }],
    ["JSON text in JSON text", { data: JSON.stringify({ inner: '{"token":"S3"}' }) }, { data: JSON.stringify({ inner: `{"token":"${MASK}"}` }) }],
    ["percent-encoded JSON text", { d: encodeURIComponent('{"password":"S3"}') }, { d: encodeURIComponent(`{"password":"${MASK}"}`) }],
    ["form text", { data: "password=S3&u=1" }, { data: `password=${MASK}&u=1` }],
    ["a query", { next: "?token=S3" }, { next: `?token=${MASK}` }],
    ["what a ;-separated query left in a value", { u: "1;password=S3" }, { u: `1;password=${MASK}` }],
    ["name/value objects", { fields: [{ name: "password", value: "S3" }, { name: "user", value: "ada" }] }, { fields: [{ name: "password", value: MASK }, { name: "user", value: "ada" }] }],
    ["[name, value] pairs", { entries: [["token", "S3"], ["user", "ada"]] }, { entries: [["token", MASK], ["user", "ada"]] }],
    ["a name a parser split across keys", { api: { key: "S3" }, x: [{ api: [{ key: "S3" }] }] }, { api: { key: MASK }, x: [{ api: [{ key: MASK }] }] }],
    // Whitespace JSON.parse refuses around JSON text (a BOM a client's encoder wrote, a no-break space).
    ["JSON text after a byte order mark", { data: '\uFEFF{"password":"S3"}' }, { data: `{"password":"${MASK}"}` }],
    ["JSON text between no-break spaces", { data: '\u00A0["token","S3"]\u00A0' }, { data: `["token","${MASK}"]` }],
  ])("masks secrets in %s", (_kind, data, expected) => {
    expect(maskRequestData(data, TOKEN)).toEqual(expected);
    expect(JSON.stringify(normalizeContent(data as Record<string, unknown>, TOKEN))).not.toContain("S3");
  });

  it("keeps strings that only look like JSON, pairs or split names as they are", () => {
    const data = { a: "{not json", b: "x = 1", c: "[1,2]", d: { api: { version: 2 } }, e: ["token"], f: { name: "token" } };
    expect(maskRequestData(data, TOKEN)).toEqual(data);
  });
});

describe("maskUrl with the default names", () => {
  const DEFAULTS = new MaskRules(DEFAULT_MASK_FIELDS, [], []);

  it.each([
    ["userinfo of a URL held in a query value", "/a?next=https%3A%2F%2Fu%3AS3%40h%2F", "S3"],
    ["a matrix parameter of a path segment", "/cart;jsessionid=S3/items?x=1", "S3"],
    ["a PHP session id", "/p?PHPSESSID=S3", "S3"],
    ["a signed URL's signature", "/o?X-Amz-Signature=S3&X-Amz-Date=1", "S3"],
    ["an Azure-style sig", "/b?sv=1&sig=S3", "S3"],
    ["a card number spelled cardNo", "/p?cardNo=S3", "S3"],
    ["userinfo of a protocol-relative URL", "//u:S3@h/x", "S3"],
    ["userinfo of a protocol-relative URL held in a query value", "/login?next=%2F%2Fu%3AS3%40h%2F", "S3"],
  ])("masks %s", (_kind, url, secret) => {
    expect(maskUrl(url, DEFAULTS, maskJsonInString)).not.toContain(secret);
    expect(JSON.stringify(maskRequestData({ redirect: url }, DEFAULTS))).not.toContain(secret);
  });
});

describe("maskUrl", () => {
  it("masks ?password=x and keeps the other parameters", () => {
    expect(maskUrl("/login?password=x&a=1", PASSWORD, maskJsonInString)).toBe(`/login?password=${MASK}&a=1`);
  });

  it("masks bracketed keys such as user[password]", () => {
    expect(maskUrl("/u?user[password]=x&user[name]=ada", PASSWORD, maskJsonInString)).toBe(`/u?user[password]=${MASK}&user[name]=ada`);
  });

  it("masks percent-encoded brackets such as user%5Bpassword%5D and keeps the key as sent", () => {
    expect(maskUrl("/u?user%5Bpassword%5D=x", PASSWORD, maskJsonInString)).toBe(`/u?user%5Bpassword%5D=${MASK}`);
  });

  it("masks dotted keys such as user.password", () => {
    expect(maskUrl("/u?user.password=x&user.name=ada", PASSWORD, maskJsonInString)).toBe(`/u?user.password=${MASK}&user.name=ada`);
  });

  it("matches keys case-insensitively, such as PassWord", () => {
    expect(maskUrl("/u?PassWord=x&PASSWORD=y", PASSWORD, maskJsonInString)).toBe(`/u?PassWord=${MASK}&PASSWORD=${MASK}`);
  });

  it("masks a percent-encoded key such as pass%77ord and keeps the key as sent", () => {
    expect(maskUrl("/u?pass%77ord=x&a=1", PASSWORD, maskJsonInString)).toBe(`/u?pass%77ord=${MASK}&a=1`);
  });

  it("masks every occurrence of a repeated key", () => {
    expect(maskUrl("/u?password=a&x=1&password=b&password=", PASSWORD, maskJsonInString)).toBe(
      `/u?password=${MASK}&x=1&password=${MASK}&password=${MASK}`,
    );
  });

  it("returns a URL without a query string unchanged", () => {
    expect(maskUrl("https://shop.example.com/orders/42", PASSWORD, maskJsonInString)).toBe("https://shop.example.com/orders/42");
    expect(maskUrl("/path/password=x", PASSWORD, maskJsonInString)).toBe("/path/password=x");
  });

  it("keeps the fragment after the query string", () => {
    expect(maskUrl("/u?password=x&a=1#section-2", PASSWORD, maskJsonInString)).toBe(`/u?password=${MASK}&a=1#section-2`);
  });

  it("gives a masked key without = the mask as value and leaves other bare keys alone", () => {
    expect(maskUrl("/u?debug&password&a=1", PASSWORD, maskJsonInString)).toBe(`/u?debug&password=${MASK}&a=1`);
  });

  it("keeps every other byte of the URL exactly", () => {
    const url = "https://ex.com:8443/p%20ath/ü?a=%E2%9C%93&b=1+2&c=&&d==e&%zz=1&password=s%3Dcret&e=%7E;f#frag";
    expect(maskUrl(url, PASSWORD, maskJsonInString)).toBe(`https://ex.com:8443/p%20ath/ü?a=%E2%9C%93&b=1+2&c=&&d==e&%zz=1&password=${MASK}&e=%7E;f#frag`);
  });

  it("masks the whole userinfo of an absolute URL, a bare token as much as user:password", () => {
    expect(maskUrl("https://u:secret@h.example/p?q=1", PASSWORD, maskJsonInString)).toBe(`https://${MASK}@h.example/p?q=1`);
    expect(maskUrl("https://ghp_token@github.com/o/r.git", NOTHING, maskJsonInString)).toBe(`https://${MASK}@github.com/o/r.git`);
    expect(maskUrl("https://h.example/p?email=a@b.c", NOTHING, maskJsonInString)).toBe("https://h.example/p?email=a@b.c");
  });

  it("masks key=value pairs in the fragment, as OAuth's implicit flow puts tokens there", () => {
    expect(maskUrl("https://h/cb#state=s&password=x", PASSWORD, maskJsonInString)).toBe(`https://h/cb#state=s&password=${MASK}`);
    expect(maskUrl("https://h/p#section-2", PASSWORD, maskJsonInString)).toBe("https://h/p#section-2");
  });

  it("masks a URL or query held in a query value, as a redirect parameter holds one", () => {
    expect(maskUrl("/login?next=%2Freset%3Fpassword%3Dx%26a%3D1", PASSWORD, maskJsonInString)).toBe(`/login?next=${encodeURIComponent(`/reset?password=${MASK}&a=1`)}`);
    expect(maskUrl("/login?next=https://h/r?password=x", PASSWORD, maskJsonInString)).toBe(`/login?next=https://h/r?password=${MASK}`);
  });

  it("returns the very same string when nothing is masked", () => {
    const url = "/search?q=password&compass=dog&a=%41&bypass=1";
    expect(maskUrl(url, PASSWORD, maskJsonInString)).toBe(url);
  });

  it("does not mask values that merely contain a masked word", () => {
    expect(maskUrl("/u?q=password&r=my%20password", PASSWORD, maskJsonInString)).toBe("/u?q=password&r=my%20password");
  });

  it("masks nothing with an empty mask set", () => {
    expect(maskUrl("/u?password=x", NOTHING, maskJsonInString)).toBe("/u?password=x");
  });

  it("survives malformed percent-encoding in a key and still masks the rest", () => {
    expect(maskUrl("/u?%E0%A4%A=1&password=x", PASSWORD, maskJsonInString)).toBe(`/u?%E0%A4%A=1&password=${MASK}`);
  });

  it("uses the configured keys, matched case-insensitively", () => {
    expect(maskUrl("/u?TOKEN=a&secret=b&c=d", new MaskRules(["token", "Secret"], [], []), maskJsonInString)).toBe(`/u?TOKEN=${MASK}&secret=${MASK}&c=d`);
  });
});

describe("pickHeaders", () => {
  const headers = {
    "user-agent": "jest",
    "x-request-id": "req-1",
    accept: "application/json",
    authorization: "Bearer secret-token",
    "proxy-authorization": "Basic c2VjcmV0",
    cookie: "session=secret",
    "x-forwarded-for": ["10.0.0.1", "10.0.0.2"],
    "x-empty": undefined,
  };

  it("records only the whitelisted headers", () => {
    expect(pickHeaders(headers, ["user-agent", "x-request-id"], PASSWORD)).toEqual({ "user-agent": "jest", "x-request-id": "req-1" });
  });

  it("records nothing for an empty whitelist", () => {
    expect(pickHeaders(headers, [], PASSWORD)).toEqual({});
  });

  it("leaves out whitelisted headers the request does not have", () => {
    expect(pickHeaders(headers, ["x-missing", "x-empty", "accept"], PASSWORD)).toEqual({ accept: "application/json" });
  });

  it("stores authorization, proxy-authorization and cookie as MASK even when whitelisted", () => {
    expect([...ALWAYS_MASKED_HEADERS].sort()).toEqual(["authorization", "cookie", "proxy-authorization", "set-cookie"]);
    const picked = pickHeaders(headers, ["authorization", "proxy-authorization", "cookie"], PASSWORD);
    expect(picked).toEqual({ authorization: MASK, "proxy-authorization": MASK, cookie: MASK });
    expect(JSON.stringify(picked)).not.toContain("secret");
  });

  it("joins repeated header values with a comma", () => {
    expect(pickHeaders(headers, ["x-forwarded-for"], PASSWORD)).toEqual({ "x-forwarded-for": "10.0.0.1, 10.0.0.2" });
  });

  it("sanitizes header values like other stored strings", () => {
    expect(pickHeaders({ "x-odd": "a\u0000b\uD800" }, ["x-odd"], PASSWORD)).toEqual({ "x-odd": "a\u2400b\uFFFD" });
  });

  it("matches whitelist names case-insensitively and stores them lower-case", () => {
    // pickHeaders documents: "names compared case-insensitively, stored lower-case".
    expect(pickHeaders(headers, ["User-Agent", "X-Request-ID"], PASSWORD)).toEqual({ "user-agent": "jest", "x-request-id": "req-1" });
  });

  it("masks Authorization even when the whitelist spells it in mixed case", () => {
    const picked = pickHeaders(headers, ["Authorization", "Cookie"], PASSWORD);
    expect(picked).toEqual({ authorization: MASK, cookie: MASK });
  });

  it("ignores names that only exist on Object.prototype, such as constructor", () => {
    // node's req.headers is an ordinary object, so inherited names must not be read as headers.
    expect(pickHeaders({ accept: "text/html" }, ["constructor", "__proto__", "accept"], PASSWORD)).toEqual({ accept: "text/html" });
  });
});
