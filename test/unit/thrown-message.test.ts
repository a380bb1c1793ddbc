// Unit tests for thrownMessage (src/thrown-message.ts): what a thrown value says, for a
// log line or an event, whatever was thrown.

import fc from "fast-check";

import { thrownMessage } from "../../src/thrown-message";

function revokedProxy(): object {
  const { proxy, revoke } = Proxy.revocable({}, {});
  revoke();
  return proxy;
}

describe("thrownMessage", () => {
  it("says an Error's message, a string as it is, an object's own string message, anything else as String() does", () => {
    expect(thrownMessage(new TypeError("boom"))).toBe("boom");
    expect(thrownMessage("plain")).toBe("plain");
    expect(thrownMessage({ message: "from an object" })).toBe("from an object");
    expect(thrownMessage(42)).toBe("42");
    expect(thrownMessage(undefined)).toBe("undefined");
    expect(thrownMessage(Symbol("s"))).toBe("Symbol(s)");
    expect(thrownMessage({ code: 7 })).toBe("[object Object]");
  });

  it("describes by its kind a value String() cannot convert", () => {
    const noToPrimitive = { [Symbol.toPrimitive]: () => { throw new Error("no"); } };
    const throwingMessage = Object.defineProperty(new Error(), "message", { get: () => { throw new Error("no"); } });
    const unprintableMessage = Object.assign(new Error(), { message: Object.create(null) as unknown });
    expect(thrownMessage(Object.create(null))).toBe("[unprintable thrown value: Object]");
    expect(thrownMessage(noToPrimitive)).toBe("[unprintable thrown value: Object]");
    expect(thrownMessage(Object.setPrototypeOf([], null))).toBe("[unprintable thrown value: Array]");
    expect(thrownMessage(throwingMessage)).toBe("[unprintable thrown value: Error]");
    expect(thrownMessage(unprintableMessage)).toBe("[unprintable thrown value: Error]");
    expect(thrownMessage(revokedProxy())).toBe("[unprintable thrown value: object]");
  });

  it("never throws and always answers a string, whatever is thrown", () => {
    const hostile = fc.constantFrom<() => unknown>(
      () => Object.create(null),
      revokedProxy,
      () => ({ toString: () => { throw new Error("no"); } }),
      () => new Proxy({}, { get: () => { throw new Error("no"); }, getPrototypeOf: () => { throw new Error("no"); } }),
    );
    fc.assert(
      fc.property(fc.anything({ withNullPrototype: true, withBigInt: true }), hostile, (value, make) => {
        expect(typeof thrownMessage(value)).toBe("string");
        expect(thrownMessage(make())).toMatch(/^\[unprintable thrown value: \w+\]$/);
      }),
    );
  });
});
