// The capped walk of request data (postData, queryParams): its work follows the cap, not
// the body. What lies past the cap is not stored, so it is neither read nor masked,
// whatever the body's shape (many keys, a form's fields, wide arrays, deep nesting, many
// small objects) and whoever answers its reads (getters, Proxies); work is counted in
// reads, never timed. And what it stores is what masking the whole body and measuring it
// would store: the body byte for byte when it fits, else the truncation marker.

import fc from "fast-check";

import { DEFAULT_MASK_FIELDS, MaskRules } from "../../src/mask-rules";
import { MASK, maskRequestData } from "../../src/masking";
import { DEPTH_LIMIT_MARKER, MAX_JSON_DEPTH } from "../../src/serialize";

const RULES = new MaskRules(DEFAULT_MASK_FIELDS, [], []);
/** The default `maxPostDataBytes`. */
const CAP = 16_384;
/**
 * The most reads a walk to the cap may make: every key or item it visits is charged
 * at least 2 bytes (an item and its comma; a key, its quotes and colon take more), and
 * is read at most twice (its descriptor, its value), so a walk that stops at the cap
 * reads fewer than one property per byte of the cap.
 */
const READS_WITHIN_CAP = CAP;

const TRUNCATED = { _truncated: true, _bytes: expect.any(Number), _bytesAtLeast: true };

/**
 * A body of `count` keys (`field0: "value0"`, …) answered by a Proxy, as an ORM's or a
 * validation library's objects may be, counting every read of a field (its descriptor,
 * its value, whether it exists). Its keys exist only in the trap, so a million of them
 * cost no object of that size.
 */
function countingBody(count: number, prototype: object | null): { body: object; reads: () => number } {
  const names = Array.from({ length: count }, (_, i) => `field${i}`);
  const index = (key: string | symbol): number => (typeof key === "string" && key.startsWith("field") ? Number(key.slice(5)) : NaN);
  const exists = (key: string | symbol): boolean => Number.isInteger(index(key)) && index(key) >= 0 && index(key) < count;
  let reads = 0;
  const body = new Proxy(Object.create(prototype) as object, {
    ownKeys: () => names,
    getOwnPropertyDescriptor(target, key) {
      if (!exists(key)) return Reflect.getOwnPropertyDescriptor(target, key);
      reads++;
      return { value: `value${index(key)}`, enumerable: true, configurable: true, writable: true };
    },
    get(target, key, receiver) {
      if (!exists(key)) return Reflect.get(target, key, receiver) as unknown;
      reads++;
      return `value${index(key)}`;
    },
    has(target, key) {
      if (!exists(key)) return Reflect.has(target, key);
      reads++;
      return true;
    },
  });
  return { body, reads: () => reads };
}

describe("the capped walk's work follows the cap, not the body", () => {
  it.each([
    ["a JSON body's object", Object.prototype],
    ["a form's fields (a null-prototype object, as querystring and express.urlencoded leave them)", null],
  ])("reads a Proxy of 100 000 keys only as far as the cap: %s", (_name, prototype) => {
    const { body, reads } = countingBody(100_000, prototype);
    expect(maskRequestData(body, RULES, CAP)).toEqual(TRUNCATED);
    expect(reads()).toBeLessThan(READS_WITHIN_CAP);
  });

  it("calls no getter past the cap: 100 000 getters", () => {
    let calls = 0;
    const body: Record<string, unknown> = {};
    for (let i = 0; i < 100_000; i++) {
      Object.defineProperty(body, `field${i}`, { get: () => (calls++, `value${i}`), enumerable: true, configurable: true });
    }
    expect(maskRequestData(body, RULES, CAP)).toEqual(TRUNCATED);
    expect(calls).toBeLessThan(READS_WITHIN_CAP);
  });

  it("reads an array of 1 000 000 items only as far as the cap", () => {
    let reads = 0;
    const items = new Proxy([] as unknown[], {
      get(target, key, receiver) {
        if (key === "length") return 1_000_000;
        if (typeof key === "string" && /^\d+$/.test(key)) return (reads++, { sku: `SKU-${key}`, quantity: 1 });
        return Reflect.get(target, key, receiver) as unknown;
      },
    });
    expect(maskRequestData({ items }, RULES, CAP)).toEqual(TRUNCATED);
    expect(reads).toBeLessThan(READS_WITHIN_CAP);
  });

  it("builds no more of an endless nesting than the depth limit", () => {
    let built = 0;
    const level = (): object => {
      built++;
      return Object.defineProperty({ note: "x" }, "child", { get: level, enumerable: true });
    };
    const stored = maskRequestData(level(), RULES, CAP);
    expect(JSON.stringify(stored)).toContain(JSON.stringify(DEPTH_LIMIT_MARKER));
    expect(built).toBeLessThanOrEqual(MAX_JSON_DEPTH + 1);
  });

  it("masks every stored key of many small objects and stops at the cap: 1 000 000 of them", () => {
    let built = 0;
    const lines = new Proxy([] as unknown[], {
      get(target, key, receiver) {
        if (key === "length") return 1_000_000;
        if (typeof key === "string" && /^\d+$/.test(key)) return (built++, { id: Number(key), password: `S3CR3T${key}` });
        return Reflect.get(target, key, receiver) as unknown;
      },
    });
    expect(maskRequestData(lines, RULES, CAP)).toEqual(TRUNCATED);
    expect(built).toBeLessThan(READS_WITHIN_CAP);
    // Under a cap they fit, all of them are stored, every secret masked.
    const few = Array.from({ length: 100 }, (_, i) => ({ id: i, password: `S3CR3T${i}` }));
    expect(maskRequestData(few, RULES, CAP)).toEqual({ _body: few.map(({ id }) => ({ id, password: MASK })) });
  });

  it("masks a secret that comes after 1 000 harmless keys, or stores none of it when the cap is reached first", () => {
    const body: Record<string, unknown> = Object.fromEntries(Array.from({ length: 1000 }, (_, i) => [`field${i}`, `value${i}`]));
    body.password = "S3CR3T-after-many";
    const whole = maskRequestData(body, RULES, 64 * 1024);
    expect(whole.password).toBe(MASK);
    expect(JSON.stringify(whole)).not.toContain("S3CR3T");
    expect(maskRequestData(body, RULES, CAP)).toEqual(TRUNCATED);
  });
});

/** Keys of harmless fields, and of secrets (under the default maskFields). */
const harmlessKey = fc.oneof(fc.stringMatching(/^[a-z][a-zA-Z0-9_]{0,12}$/), fc.constantFrom("id", "name", "note", "items", "0", "10", "2"));
const secretKey = fc.constantFrom("password", "newPassword", "api_key", "accessToken", "client-secret", "pin", "cvv");
/** Values holding neither a URL nor JSON text nor a query, so masking never shortens a string. */
const plainValue = fc.oneof(fc.stringMatching(/^[\w .,-]{0,40}$/), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null));
const secretValue = fc.stringMatching(/^[A-Za-z0-9]{4,12}$/).map((s) => `S3CR3T${s}`);

/** How an object is built: a literal, without a prototype (a form's fields), or over a prototype with an enumerable key (which JSON leaves out). */
type Build = "literal" | "null-prototype" | "inherited";

function built(entries: readonly (readonly [string, unknown])[], how: Build, getters: boolean): Record<string, unknown> {
  const out: Record<string, unknown> =
    how === "literal" ? {} : how === "null-prototype" ? (Object.create(null) as Record<string, unknown>) : (Object.create({ inherited: "S3CR3T-inherited" }) as Record<string, unknown>);
  for (const [key, value] of entries) {
    Object.defineProperty(out, key, getters ? { get: () => value, enumerable: true, configurable: true } : { value, enumerable: true, configurable: true, writable: true });
  }
  return out;
}

/** Bodies of every shape the walk meets: wide and narrow objects, arrays, nesting, secrets anywhere. */
const body = fc.letrec((tie) => ({
  value: fc.oneof({ depthSize: "small", withCrossShrink: true }, plainValue, tie("array"), tie("object")),
  array: fc.array(tie("value"), { maxLength: 20 }),
  object: fc
    .tuple(
      fc.array(fc.oneof(fc.tuple(harmlessKey, tie("value")), fc.tuple(secretKey, fc.oneof(secretValue, tie("value")))), { maxLength: 25 }),
      fc.constantFrom<Build>("literal", "null-prototype", "inherited"),
      fc.boolean(),
    )
    .map(([entries, how, getters]) => built(entries, how, getters)),
})).object;

describe("what the capped walk stores, as a property of any body", () => {
  it("is the whole masked body, byte for byte, when it fits the cap, else the marker; never larger than the cap; never a secret", () => {
    fc.assert(
      fc.property(body, fc.integer({ min: -60, max: 60 }), fc.boolean(), (data, offset, aroundIt) => {
        // The reference: a plain copy of what JSON sees (own enumerable keys), masked whole, then measured.
        const whole = maskRequestData(JSON.parse(JSON.stringify(data)) as unknown, RULES);
        const bytes = Buffer.byteLength(JSON.stringify(whole), "utf8");
        const cap = Math.max(1, aroundIt ? bytes + offset : Math.abs(offset) * 50);
        const stored = maskRequestData(data, RULES, cap);
        const text = JSON.stringify(stored);
        expect(text).not.toContain("S3CR3T");
        if (bytes <= cap) {
          expect(text).toBe(JSON.stringify(whole));
          expect(Buffer.byteLength(text, "utf8")).toBeLessThanOrEqual(cap);
        } else {
          expect(stored).toEqual(TRUNCATED);
          expect(stored._bytes).toBeGreaterThan(cap);
          expect(stored._bytes).toBeLessThanOrEqual(bytes);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
