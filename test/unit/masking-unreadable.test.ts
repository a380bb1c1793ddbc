// Request data is whatever a parser or a framework left on the request: objects whose
// getters throw, Proxies whose traps throw, getters that hand out a fresh object on every
// read. maskRequestData promises never to throw, so such a part must become a bounded
// marker that says nothing of what it held, and the rest must still be stored masked.

import fc from "fast-check";

import { DEFAULT_MASK_FIELDS, MaskRules } from "../../src/mask-rules";
import { MASK, maskRequestData } from "../../src/masking";
import { requestBodyPayload } from "../../src/payload-record";
import { normalizeCapped, UNREADABLE_MARKER } from "../../src/serialize";

const DEFAULTS = new MaskRules(DEFAULT_MASK_FIELDS, [], []);
const SECRET = "S3CR3T-in-the-error";

/** Every way an object can throw when it is read, each with the secret in its error's message. */
const THROWING: Readonly<Record<string, () => object>> = {
  "a throwing getter": () => ({ get field(): unknown { throw new Error(`password=${SECRET}`); } }),
  "a throwing toJSON": () => ({ toJSON(): unknown { throw new Error(SECRET); } }),
  "a Proxy whose ownKeys trap throws": () => new Proxy({}, { ownKeys() { throw new Error(SECRET); } }),
  "a Proxy whose get trap throws": () => new Proxy({ a: 1 }, { get() { throw new Error(SECRET); } }),
  "a Proxy whose getPrototypeOf trap throws": () => new Proxy({}, { getPrototypeOf() { throw new Error(SECRET); } }),
  "a Decimal-like Proxy whose has trap throws": () => new Proxy({ toFixed() {}, isNaN() {} }, { has() { throw new Error(SECRET); } }),
  "a Map whose iterator throws": () => Object.assign(new Map([["a", 1]]), { [Symbol.iterator]() { throw new Error(SECRET); } }),
  "a Set whose values() throws": () => Object.assign(new Set([1]), { values() { throw new Error(SECRET); } }),
  "an array Proxy whose length read throws": () => new Proxy([1, 2], { get(target, key) { if (key === "length") throw new Error(SECRET); return Reflect.get(target, key); } }),
  "a getter throwing a non-Error": () => ({ get field(): unknown { throw { password: SECRET }; } }),
  "a getter throwing a stack overflow": () => ({ get field(): unknown { const loop = (): number => loop() + 1; return loop(); } }),
};

/** An object whose own getters hand out a new object of its kind on every read, without end. */
function fresh(): object {
  return {
    get left(): object { return fresh(); },
    get right(): object { return fresh(); },
    get password(): string { return SECRET; },
  };
}

/** A toJSON that hands out a new object with a toJSON of its own, without end. */
function freshToJson(): object {
  return { toJSON: () => freshToJson() };
}

describe("maskRequestData on data that throws when read", () => {
  it.each(Object.keys(THROWING))("stores %s as the unreadable marker, keeps the rest masked, and never throws", (kind) => {
    const data = { user: "ada", password: "hunter2", odd: THROWING[kind]!() };
    const masked = maskRequestData(data, DEFAULTS);
    expect(masked).toEqual({ user: "ada", password: MASK, odd: UNREADABLE_MARKER });
    expect(JSON.stringify(masked)).not.toContain(SECRET);
  });

  it("stores data that throws at its top as the unreadable marker under _body", () => {
    for (const make of Object.values(THROWING)) {
      expect(maskRequestData(make(), DEFAULTS)).toEqual({ _body: UNREADABLE_MARKER });
    }
  });

  it("stores getters that hand out fresh objects forever within the cap, masked", () => {
    expect(maskRequestData(fresh(), DEFAULTS, 4096)).toEqual({ _truncated: true, _bytes: expect.any(Number), _bytesAtLeast: true });
    expect(JSON.stringify(maskRequestData({ deep: fresh() }, DEFAULTS, 1_000_000))).not.toContain(SECRET);
  });

  it("cuts a toJSON that hands out a fresh toJSON forever at the depth limit instead of overflowing the stack", () => {
    expect(() => maskRequestData({ a: freshToJson() }, DEFAULTS)).not.toThrow();
    expect(() => normalizeCapped({ a: freshToJson() }, DEFAULTS, Infinity)).not.toThrow();
  });

  it("never throws and never stores the thrown text, wherever the throwing part sits", () => {
    const kinds = fc.constantFrom(...Object.keys(THROWING));
    const path = fc.array(fc.constantFrom("object" as const, "array" as const, "map" as const), { maxLength: 6 });
    fc.assert(
      fc.property(kinds, path, fc.integer({ min: 1, max: 2000 }), (kind, steps, cap) => {
        let node: unknown = { kept: "yes", odd: THROWING[kind]!() };
        for (const step of steps) node = step === "object" ? { level: node } : step === "array" ? [1, node] : new Map([["m", node]]);
        const whole = maskRequestData(node, DEFAULTS);
        const capped = maskRequestData(node, DEFAULTS, cap);
        const body = requestBodyPayload(node, "application/json", DEFAULTS, cap, undefined);
        return [whole, capped, body].every((out) => !JSON.stringify(out).includes(SECRET)) && JSON.stringify(whole).includes(UNREADABLE_MARKER);
      }),
      { numRuns: 1000 },
    );
  });
});
