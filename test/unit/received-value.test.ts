import fc from "fast-check";

import { receivedValue } from "../../src/received-value";

describe("receivedValue", () => {
  it("shows a number, boolean, bigint or short string itself, so an error says what was passed", () => {
    expect(receivedValue(-1)).toBe("the number -1");
    expect(receivedValue(Number.NaN)).toBe("the number NaN");
    expect(receivedValue(false)).toBe("the boolean false");
    expect(receivedValue(10n)).toBe("the bigint 10n");
    expect(receivedValue("fast")).toBe('the string "fast"');
    expect(receivedValue(undefined)).toBe("undefined");
    expect(receivedValue(null)).toBe("null");
  });

  it("names objects, arrays and functions by kind only, never their contents (they may hold secrets), with the right article", () => {
    fc.assert(
      fc.property(fc.oneof(fc.object(), fc.array(fc.string({ minLength: 1 }), { minLength: 1 }), fc.func(fc.anything())), fc.string({ minLength: 8, maxLength: 20 }), (value, secret) => {
        const described = receivedValue(typeof value === "object" && value !== null && !Array.isArray(value) ? { ...value, secret } : Array.isArray(value) ? [...value, secret] : value);
        expect(described).toMatch(/^(an object|an array|a function)$/);
      }),
    );
  });

  it("cuts a long string at 60 characters", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 61, maxLength: 500 }), (text) => {
        expect(receivedValue(text)).toBe(`the string ${JSON.stringify(`${text.slice(0, 60)}…`)}`);
      }),
    );
  });
});
