/**
 * Thrown values `String()` cannot convert, each with its name in a test title and the
 * kind `thrownMessage` describes it by (`[unprintable thrown value: <kind>]`). Made fresh
 * for each test: a revoked Proxy cannot be passed through fast-check or a promise.
 */
export const UNPRINTABLE_THROWS: [name: string, make: () => unknown, kind: string][] = [
  ["Object.create(null)", () => Object.create(null), "Object"],
  [
    "an object whose toString throws",
    () => ({
      toString() {
        throw new Error("no");
      },
    }),
    "Object",
  ],
  [
    "an object whose Symbol.toPrimitive throws",
    () => ({
      [Symbol.toPrimitive]: () => {
        throw new Error("no");
      },
    }),
    "Object",
  ],
  [
    "a revoked Proxy",
    () => {
      const { proxy, revoke } = Proxy.revocable({}, {});
      revoke();
      return proxy;
    },
    "object",
  ],
];
