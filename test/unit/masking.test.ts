// Unit tests for src/masking.ts: what reaches postData, queryParams, the url and the
// headers of a stored event. Request data is attacker-controlled, so besides masking
// these tests pin down that hostile shapes (prototype keys, cycles, huge nesting,
// malformed strings) neither crash the library nor leak a masked value.

import { parse as parseQueryString } from "node:querystring";

import { ALWAYS_MASKED_HEADERS, MASK, maskKeySet, maskRequestData, maskUrl, pickHeaders } from "../../src/masking";
import { CIRCULAR_MARKER, DEPTH_LIMIT_MARKER, MAX_JSON_DEPTH, PROTO_KEY } from "../../src/serialize";

const PASSWORD = maskKeySet(["password"]);

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

describe("maskKeySet", () => {
  it("lower-cases the configured field names", () => {
    const keys = maskKeySet(["Password", "API_KEY", "token"]);
    expect([...keys].sort()).toEqual(["api_key", "password", "token"]);
  });

  it("is empty for no fields", () => {
    expect(maskKeySet([]).size).toBe(0);
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
    expect(maskRequestData({ token: "t", TOKEN: "u" }, maskKeySet(["Token"]))).toEqual({ token: MASK, TOKEN: MASK });
  });

  it("matches whole keys only, so passwordHint is kept", () => {
    expect(maskRequestData({ passwordHint: "pet's name", old_password_set: true }, PASSWORD)).toEqual({
      passwordHint: "pet's name",
      old_password_set: true,
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
    expect(maskRequestData({ password: "x" }, maskKeySet([]))).toEqual({ password: "x" });
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
      const masked = maskRequestData(input, maskKeySet(["__proto__"]));
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
    expect(maskRequestData(null, PASSWORD)).toEqual({ _body: null });
    expect(maskRequestData("password=x", PASSWORD)).toEqual({ _body: "password=x" });
    expect(maskRequestData(42, PASSWORD)).toEqual({ _body: 42 });
    expect(maskRequestData([{ password: "x", id: 1 }], PASSWORD)).toEqual({ _body: [{ password: MASK, id: 1 }] });
  });

  it("drops functions and symbols instead of throwing", () => {
    const data = { fn: () => 1, sym: Symbol("s"), list: [() => 1, "kept"], keep: 1 };
    expect(maskRequestData(data, PASSWORD)).toEqual({ list: [null, "kept"], keep: 1 });
  });
});

describe("maskUrl", () => {
  it("masks ?password=x and keeps the other parameters", () => {
    expect(maskUrl("/login?password=x&a=1", PASSWORD)).toBe(`/login?password=${MASK}&a=1`);
  });

  it("masks bracketed keys such as user[password]", () => {
    expect(maskUrl("/u?user[password]=x&user[name]=ada", PASSWORD)).toBe(`/u?user[password]=${MASK}&user[name]=ada`);
  });

  it("masks percent-encoded brackets such as user%5Bpassword%5D and keeps the key as sent", () => {
    expect(maskUrl("/u?user%5Bpassword%5D=x", PASSWORD)).toBe(`/u?user%5Bpassword%5D=${MASK}`);
  });

  it("masks dotted keys such as user.password", () => {
    expect(maskUrl("/u?user.password=x&user.name=ada", PASSWORD)).toBe(`/u?user.password=${MASK}&user.name=ada`);
  });

  it("matches keys case-insensitively, such as PassWord", () => {
    expect(maskUrl("/u?PassWord=x&PASSWORD=y", PASSWORD)).toBe(`/u?PassWord=${MASK}&PASSWORD=${MASK}`);
  });

  it("masks a percent-encoded key such as pass%77ord and keeps the key as sent", () => {
    expect(maskUrl("/u?pass%77ord=x&a=1", PASSWORD)).toBe(`/u?pass%77ord=${MASK}&a=1`);
  });

  it("masks every occurrence of a repeated key", () => {
    expect(maskUrl("/u?password=a&x=1&password=b&password=", PASSWORD)).toBe(
      `/u?password=${MASK}&x=1&password=${MASK}&password=${MASK}`,
    );
  });

  it("returns a URL without a query string unchanged", () => {
    expect(maskUrl("https://shop.example.com/orders/42", PASSWORD)).toBe("https://shop.example.com/orders/42");
    expect(maskUrl("/path/password=x", PASSWORD)).toBe("/path/password=x");
  });

  it("keeps the fragment after the query string", () => {
    expect(maskUrl("/u?password=x&a=1#section-2", PASSWORD)).toBe(`/u?password=${MASK}&a=1#section-2`);
  });

  it("gives a masked key without = the mask as value and leaves other bare keys alone", () => {
    expect(maskUrl("/u?debug&password&a=1", PASSWORD)).toBe(`/u?debug&password=${MASK}&a=1`);
  });

  it("keeps every other byte of the URL exactly", () => {
    const url = "https://user@ex.com:8443/p%20ath/ü?a=%E2%9C%93&b=1+2&c=&&d==e&%zz=1&password=s%3Dcret&e=%7E;f#frag?password=y";
    expect(maskUrl(url, PASSWORD)).toBe(
      `https://user@ex.com:8443/p%20ath/ü?a=%E2%9C%93&b=1+2&c=&&d==e&%zz=1&password=${MASK}&e=%7E;f#frag?password=y`,
    );
  });

  it("returns the very same string when nothing is masked", () => {
    const url = "/search?q=password&passwordHint=dog&a=%41";
    expect(maskUrl(url, PASSWORD)).toBe(url);
  });

  it("does not mask values that merely contain a masked word", () => {
    expect(maskUrl("/u?q=password%3Dx", PASSWORD)).toBe("/u?q=password%3Dx");
  });

  it("masks nothing with an empty mask set", () => {
    expect(maskUrl("/u?password=x", maskKeySet([]))).toBe("/u?password=x");
  });

  it("survives malformed percent-encoding in a key and still masks the rest", () => {
    expect(maskUrl("/u?%E0%A4%A=1&password=x", PASSWORD)).toBe(`/u?%E0%A4%A=1&password=${MASK}`);
  });

  it("uses the configured keys, matched case-insensitively", () => {
    expect(maskUrl("/u?TOKEN=a&secret=b&c=d", maskKeySet(["token", "Secret"]))).toBe(`/u?TOKEN=${MASK}&secret=${MASK}&c=d`);
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
    expect(pickHeaders(headers, ["user-agent", "x-request-id"])).toEqual({ "user-agent": "jest", "x-request-id": "req-1" });
  });

  it("records nothing for an empty whitelist", () => {
    expect(pickHeaders(headers, [])).toEqual({});
  });

  it("leaves out whitelisted headers the request does not have", () => {
    expect(pickHeaders(headers, ["x-missing", "x-empty", "accept"])).toEqual({ accept: "application/json" });
  });

  it("stores authorization, proxy-authorization and cookie as MASK even when whitelisted", () => {
    expect([...ALWAYS_MASKED_HEADERS].sort()).toEqual(["authorization", "cookie", "proxy-authorization"]);
    const picked = pickHeaders(headers, ["authorization", "proxy-authorization", "cookie"]);
    expect(picked).toEqual({ authorization: MASK, "proxy-authorization": MASK, cookie: MASK });
    expect(JSON.stringify(picked)).not.toContain("secret");
  });

  it("joins repeated header values with a comma", () => {
    expect(pickHeaders(headers, ["x-forwarded-for"])).toEqual({ "x-forwarded-for": "10.0.0.1, 10.0.0.2" });
  });

  it("sanitizes header values like other stored strings", () => {
    expect(pickHeaders({ "x-odd": "a\u0000b\uD800" }, ["x-odd"])).toEqual({ "x-odd": "a\u2400b\uFFFD" });
  });

  it("matches whitelist names case-insensitively and stores them lower-case", () => {
    // pickHeaders documents: "names compared case-insensitively, stored lower-case".
    expect(pickHeaders(headers, ["User-Agent", "X-Request-ID"])).toEqual({ "user-agent": "jest", "x-request-id": "req-1" });
  });

  it("masks Authorization even when the whitelist spells it in mixed case", () => {
    const picked = pickHeaders(headers, ["Authorization", "Cookie"]);
    expect(picked).toEqual({ authorization: MASK, cookie: MASK });
  });

  it("ignores names that only exist on Object.prototype, such as constructor", () => {
    // node's req.headers is an ordinary object, so inherited names must not be read as headers.
    expect(pickHeaders({ accept: "text/html" }, ["constructor", "__proto__", "accept"])).toEqual({ accept: "text/html" });
  });
});
