import fc from "fast-check";

import { REQUEST_ID_MAX_CHARS } from "../../src";
import { requestIdOf, traceIdOf } from "../../src/request-id";

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const hex = (length: number) => fc.string({ unit: fc.constantFrom(..."0123456789abcdef"), minLength: length, maxLength: length });

describe("requestIdOf", () => {
  it("keeps a header value only when it is 1 to 191 visible ASCII characters, whatever else a client sends", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: "binary", maxLength: 300 }), fc.string({ unit: "grapheme-ascii", maxLength: 250 })), (given) => {
        const id = requestIdOf({ "x-request-id": given }, "x-request-id");
        const acceptable = given.length >= 1 && given.length <= REQUEST_ID_MAX_CHARS && /^[!-~]+$/.test(given);
        expect(id).toEqual(acceptable ? given : expect.stringMatching(UUID_V7));
        expect(id.length).toBeLessThanOrEqual(REQUEST_ID_MAX_CHARS);
        expect(id).toMatch(/^[!-~]+$/);
      }),
      { numRuns: 500 },
    );
  });

  it("ignores a header given twice (Node joins them with a comma and a space), and a non-string", () => {
    expect(requestIdOf({ "x-request-id": "a, b" }, "x-request-id")).toMatch(UUID_V7);
    expect(requestIdOf({ "x-request-id": ["a", "b"] as never }, "x-request-id")).toMatch(UUID_V7);
  });
});

describe("traceIdOf", () => {
  it("takes the trace id of every valid version-00 traceparent", () => {
    fc.assert(
      fc.property(hex(32), hex(16), hex(2), (trace, parent, flags) => {
        fc.pre(!/^0+$/.test(trace) && !/^0+$/.test(parent));
        expect(traceIdOf(`00-${trace}-${parent}-${flags}`)).toBe(trace);
        expect(requestIdOf({ traceparent: `00-${trace}-${parent}-${flags}` }, "x-request-id")).toBe(trace);
      }),
    );
  });

  it("reads a later version by version 00's layout, with the fields it may add, but never version ff", () => {
    fc.assert(
      fc.property(hex(2), hex(32), hex(16), hex(2), fc.option(fc.string({ maxLength: 20 }), { nil: undefined }), (version, trace, parent, flags, more) => {
        fc.pre(version !== "00" && !/^0+$/.test(trace) && !/^0+$/.test(parent));
        const header = `${version}-${trace}-${parent}-${flags}${more === undefined ? "" : `-${more}`}`;
        expect(traceIdOf(header)).toBe(version === "ff" ? undefined : trace);
      }),
    );
    expect(traceIdOf(`00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra`)).toBeUndefined();
  });

  it("refuses every string that is not one", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (text) => {
        fc.pre(!/^(00|(?!ff|00)[0-9a-f]{2})-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}(-.*)?$/s.test(text.trim()));
        expect(traceIdOf(text)).toBeUndefined();
      }),
    );
    expect(traceIdOf(`00-${"0".repeat(32)}-00f067aa0ba902b7-01`)).toBeUndefined();
    expect(traceIdOf(`00-4bf92f3577b34da6a3ce929d0e0e4736-${"0".repeat(16)}-01`)).toBeUndefined();
    expect(traceIdOf(`ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01`)).toBeUndefined();
  });
});
