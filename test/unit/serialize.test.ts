// Unit tests for src/serialize.ts: how event content and request data become the JSON
// that every supported database stores as it is.

import { Decimal } from "@prisma/client/runtime/client";

import { AuditError } from "../../src/errors";
import { MASK, MaskRules } from "../../src/mask-rules";
import { maskRequestData } from "../../src/masking";
import { thrownBy } from "../support/thrown";
import {
  CIRCULAR_MARKER,
  DEPTH_LIMIT_MARKER,
  MAX_JSON_DEPTH,
  normalizeContent,
  normalizeJson,
  PROTO_KEY,
  sanitizeString,
} from "../../src/serialize";

const STRICT = { strict: true } as const;
const LENIENT = { strict: false } as const;

/** Freezes `value` and everything reachable from it, cycles included. */
function deepFreeze<T>(value: T, seen = new Set<object>()): T {
  if (typeof value !== "object" || value === null || seen.has(value) || ArrayBuffer.isView(value)) return value;
  seen.add(value);
  for (const key of Reflect.ownKeys(value)) {
    deepFreeze((value as Record<PropertyKey, unknown>)[key], seen);
  }
  return Object.freeze(value);
}

/** `{ a: { a: ... { leaf } } }` with `depth` objects, built without recursion. */
function nested(depth: number, leaf: unknown = "bottom"): Record<string, unknown> {
  let node: Record<string, unknown> = { leaf };
  for (let i = 1; i < depth; i++) node = { a: node };
  return node;
}

/** Runs `fn` and returns the AuditError it throws. */
function auditErrorFrom(fn: () => unknown): AuditError {
  return thrownBy(fn, AuditError);
}

describe("sanitizeString", () => {
  it("returns well-formed text unchanged", () => {
    const text = "Grüße ✓ 😀 \t\n\r \u0001\u001f\u007f";
    expect(sanitizeString(text)).toBe(text);
  });

  it("replaces NUL by the visible symbol U+2400", () => {
    expect(sanitizeString("a\u0000b\u0000")).toBe("a\u2400b\u2400");
  });

  it("replaces lone surrogates by U+FFFD and keeps surrogate pairs", () => {
    expect(sanitizeString("\uD800")).toBe("\uFFFD");
    expect(sanitizeString("x\uDC00y")).toBe("x\uFFFDy");
    expect(sanitizeString("\uDBFF\uD83D\uDE00")).toBe("\uFFFD😀");
  });

  it("returns the empty string unchanged", () => {
    expect(sanitizeString("")).toBe("");
  });
});

describe("normalizeJson", () => {
  it("keeps strings, finite numbers, booleans and null", () => {
    const input = { s: "text", n: -1.5, z: 0, t: true, f: false, nothing: null };
    expect(normalizeJson(input, STRICT)).toEqual(input);
  });

  it("turns a Date into its ISO string", () => {
    expect(normalizeJson({ at: new Date("2026-11-23T09:15:30.123Z") }, STRICT)).toEqual({ at: "2026-11-23T09:15:30.123Z" });
  });

  it("turns an invalid Date into null", () => {
    expect(normalizeJson({ at: new Date("not a date") }, STRICT)).toEqual({ at: null });
  });

  it("turns a bigint into its decimal string, beyond 2^53 too", () => {
    expect(normalizeJson({ id: 2n ** 64n, small: -5n }, STRICT)).toEqual({ id: "18446744073709551616", small: "-5" });
  });

  it("turns a Prisma Decimal into its exact plain-notation string", () => {
    const input = {
      price: new Decimal("12.50"),
      tiny: new Decimal("1e-7"),
      huge: new Decimal("123456789012345678901234567890.123456789"),
      negative: new Decimal(-3.25),
    };
    expect(normalizeJson(input, STRICT)).toEqual({
      price: "12.5",
      tiny: "0.0000001",
      huge: "123456789012345678901234567890.123456789",
      negative: "-3.25",
    });
  });

  it("turns a Prisma Decimal inside an array into a string", () => {
    expect(normalizeJson([new Decimal("0.1").plus("0.2")], STRICT)).toEqual(["0.3"]);
  });

  it("drops undefined object values and turns undefined array items into null", () => {
    expect(normalizeJson({ a: undefined, b: 1, list: [undefined, 2] }, STRICT)).toEqual({ b: 1, list: [null, 2] });
    const out = normalizeJson({ a: undefined }, STRICT) as Record<string, unknown>;
    expect(Object.keys(out)).toEqual([]);
  });

  it("returns undefined for undefined itself", () => {
    expect(normalizeJson(undefined, STRICT)).toBeUndefined();
  });

  it("turns NaN and the infinities into strings", () => {
    expect(normalizeJson({ nan: NaN, inf: Infinity, ninf: -Infinity }, STRICT)).toEqual({
      nan: "NaN",
      inf: "Infinity",
      ninf: "-Infinity",
    });
  });

  it("turns a Map into an object with string keys", () => {
    const map = new Map<unknown, unknown>([
      ["a", 1],
      [2, new Date("2026-01-01T00:00:00.000Z")],
      ["nested", new Map([["b", 2n]])],
    ]);
    expect(normalizeJson({ map }, STRICT)).toEqual({ map: { a: 1, "2": "2026-01-01T00:00:00.000Z", nested: { b: "2" } } });
  });

  it("turns a Set into an array", () => {
    expect(normalizeJson({ set: new Set(["a", 1, 3n]) }, STRICT)).toEqual({ set: ["a", 1, "3"] });
  });

  it("turns a Buffer into base64", () => {
    expect(normalizeJson({ bytes: Buffer.from("hello, world") }, STRICT)).toEqual({ bytes: "aGVsbG8sIHdvcmxk" });
  });

  it("turns only the viewed bytes of a typed-array slice into base64", () => {
    const whole = Uint8Array.from([0, 1, 2, 3, 4, 5]);
    expect(normalizeJson(whole.subarray(2, 4), STRICT)).toBe(Buffer.from([2, 3]).toString("base64"));
  });

  it("honours toJSON", () => {
    class Money {
      constructor(
        private readonly cents: number,
        private readonly currency: string,
      ) {}
      toJSON() {
        return { amount: this.cents / 100, currency: this.currency, when: new Date(0) };
      }
    }
    expect(normalizeJson({ total: new Money(1250, "EUR"), url: new URL("https://ex.com/a?b=1") }, STRICT)).toEqual({
      total: { amount: 12.5, currency: "EUR", when: "1970-01-01T00:00:00.000Z" },
      url: "https://ex.com/a?b=1",
    });
  });

  it("allows the same object twice when it is not a cycle", () => {
    const shared = { id: 1 };
    expect(normalizeJson({ a: shared, b: shared, list: [shared, [shared]] }, STRICT)).toEqual({
      a: { id: 1 },
      b: { id: 1 },
      list: [{ id: 1 }, [{ id: 1 }]],
    });
  });

  it("stores a __proto__ key as [__proto__], without changing the prototype", () => {
    const out = normalizeJson(JSON.parse('{"__proto__": {"x": 1}}'), STRICT) as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(out).toEqual({ [PROTO_KEY]: { x: 1 } });
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it("sanitizes strings in keys and values", () => {
    expect(normalizeJson({ "k\u0000": "v\uD800" }, STRICT)).toEqual({ "k\u2400": "v\uFFFD" });
  });

  it("keeps the key order of objects", () => {
    expect(Object.keys(normalizeJson({ z: 1, a: 2, m: 3 }, STRICT) as object)).toEqual(["z", "a", "m"]);
  });

  it("never mutates its input", () => {
    const input = {
      when: new Date("2026-11-23T09:15:30.123Z"),
      id: 10n,
      nothing: undefined,
      list: [1, undefined, { deep: [new Date(0)] }],
      map: new Map([["k", { v: 1 }]]),
      set: new Set([1, 2]),
      price: new Decimal("9.99"),
    };
    const before = structuredClone({ ...input, price: undefined });
    deepFreeze(input);

    normalizeJson(input, STRICT);
    normalizeJson(input, LENIENT);

    expect({ ...input, price: undefined }).toEqual(before);
    expect(input.price.toFixed()).toBe("9.99");
    expect(Object.prototype.hasOwnProperty.call(input, "nothing")).toBe(true);
  });

  describe("in strict mode", () => {
    it("throws ERR_AUDIT_SERIALIZE for a cycle, naming the path such as a.b[0]", () => {
      const root: { a: { b: unknown[] } } = { a: { b: [] } };
      root.a.b.push(root);
      const error = auditErrorFrom(() => normalizeJson(root, STRICT));
      expect(error.code).toBe("ERR_AUDIT_SERIALIZE");
      expect(error.message).toContain("a.b[0]");
      expect(error.message).toMatch(/cycle/);
    });

    it("throws for an object that contains itself directly", () => {
      const self: Record<string, unknown> = {};
      self.me = self;
      const error = auditErrorFrom(() => normalizeJson(self, STRICT));
      expect(error.code).toBe("ERR_AUDIT_SERIALIZE");
      expect(error.message).toContain("me");
    });

    it("throws for a cycle through a Map", () => {
      const map = new Map<string, unknown>();
      map.set("again", { map });
      expect(auditErrorFrom(() => normalizeJson({ map }, STRICT)).code).toBe("ERR_AUDIT_SERIALIZE");
    });

    it("names the path from the value's root after walks that stopped part way (a refusal, a cap reached, JSON text inside a string)", () => {
      const root: Record<string, unknown> = { deep: { deeper: {} } };
      (root.deep as { deeper: Record<string, unknown> }).deeper.back = root;
      expect(auditErrorFrom(() => normalizeJson(root, STRICT)).message).toContain("deep.deeper.back");
      expect(maskRequestData({ outer: { inner: "x".repeat(100) } }, new MaskRules([], [], []), 20)).toMatchObject({ _truncated: true });
      const inner = { data: '{"a":{"b":1}}', hook: () => undefined };
      const error = auditErrorFrom(() => normalizeJson({ first: inner }, { strict: true, rules: new MaskRules([], [], []) }));
      expect(error.message).toContain("Cannot store first.hook:");
      // What a walk was inside when it stopped is no ancestor in the next walk.
      const shared = { deeper: {} };
      expect(() => normalizeJson({ a: shared, hook: Symbol("x") }, STRICT)).toThrow("Cannot store hook:");
      expect(normalizeJson({ b: shared }, LENIENT)).toEqual({ b: { deeper: {} } });
    });

    it("throws for a function, naming its path", () => {
      const error = auditErrorFrom(() => normalizeJson({ order: { onSave: () => undefined } }, STRICT));
      expect(error.code).toBe("ERR_AUDIT_SERIALIZE");
      expect(error.message).toContain("order.onSave");
      expect(error.message).toContain("function");
    });

    it("throws for a symbol, naming its path", () => {
      const error = auditErrorFrom(() => normalizeJson({ tags: ["ok", Symbol("x")] }, STRICT));
      expect(error.code).toBe("ERR_AUDIT_SERIALIZE");
      expect(error.message).toContain("tags[1]");
      expect(error.message).toContain("symbol");
    });

    it("accepts nesting up to MAX_JSON_DEPTH objects", () => {
      expect(MAX_JSON_DEPTH).toBeGreaterThan(0);
      const out = normalizeJson(nested(MAX_JSON_DEPTH), STRICT);
      expect(JSON.stringify(out)).toContain("bottom");
    });

    it("cuts nesting deeper than MAX_JSON_DEPTH with the depth marker, as a client's body copied into content may nest", () => {
      const json = JSON.stringify(normalizeJson(nested(MAX_JSON_DEPTH + 1), STRICT));
      expect(json).toContain(DEPTH_LIMIT_MARKER);
      expect(json).not.toContain("bottom");
    });

    it("cuts 10 000-deep nesting without a stack overflow", () => {
      expect(JSON.stringify(normalizeJson(nested(10_000), STRICT))).toContain(DEPTH_LIMIT_MARKER);
    });
  });

  describe("in lenient mode", () => {
    it("drops functions and symbols from objects and turns them into null in arrays", () => {
      expect(normalizeJson({ fn: () => 1, sym: Symbol("s"), list: [() => 1, Symbol("t"), 3], keep: true }, LENIENT)).toEqual({
        list: [null, null, 3],
        keep: true,
      });
    });

    it("replaces a cycle by the circular marker", () => {
      const root: Record<string, unknown> = { a: 1 };
      root.self = root;
      expect(normalizeJson(root, LENIENT)).toEqual({ a: 1, self: CIRCULAR_MARKER });
    });

    it("replaces nesting deeper than MAX_JSON_DEPTH by the depth marker", () => {
      const json = JSON.stringify(normalizeJson(nested(MAX_JSON_DEPTH + 1), LENIENT));
      expect(json).toContain(DEPTH_LIMIT_MARKER);
      expect(json).not.toContain("bottom");
    });

    it("masks the keys its rules name, at any depth", () => {
      const rules = new MaskRules(["secret"], [], []);
      expect(normalizeJson({ Secret: 1, inner: [{ client_secret: { x: 1 } }] }, { strict: false, rules })).toEqual({
        Secret: MASK,
        inner: [{ client_secret: MASK }],
      });
    });
  });
});

describe("normalizeContent", () => {
  it("returns the normalized plain object", () => {
    expect(normalizeContent({ action: "refund", at: new Date(0), amount: new Decimal("12.30"), skip: undefined })).toEqual({
      action: "refund",
      at: "1970-01-01T00:00:00.000Z",
      amount: "12.3",
    });
  });

  it("accepts an empty object", () => {
    expect(normalizeContent({})).toEqual({});
  });

  it.each([
    ["an array", ["refund"]],
    ["null", null],
    ["undefined", undefined],
    ["a string", "refund"],
    ["a number", 42],
    ["a Date", new Date(0)],
  ])("rejects %s with ERR_AUDIT_CONTENT", (_label, content) => {
    const error = auditErrorFrom(() => normalizeContent(content as unknown as Record<string, unknown>));
    expect(error.code).toBe("ERR_AUDIT_CONTENT");
    expect(error.message).toContain("plain object");
  });

  it("is strict: a cycle in content throws ERR_AUDIT_SERIALIZE", () => {
    const content: Record<string, unknown> = { order: { id: 1 } };
    (content.order as Record<string, unknown>).parent = content;
    const error = auditErrorFrom(() => normalizeContent(content));
    expect(error.code).toBe("ERR_AUDIT_SERIALIZE");
    expect(error.message).toContain("order.parent");
  });

  it("is strict: a function in content throws ERR_AUDIT_SERIALIZE", () => {
    expect(auditErrorFrom(() => normalizeContent({ callback: () => 1 })).code).toBe("ERR_AUDIT_SERIALIZE");
  });

  it("never mutates its input", () => {
    const content = { a: { b: [1, { c: undefined }] }, d: new Date(0) };
    const before = structuredClone(content);
    deepFreeze(content);
    normalizeContent(content);
    expect(content).toEqual(before);
    expect(Object.prototype.hasOwnProperty.call((content.a.b[1] as object), "c")).toBe(true);
  });
});
