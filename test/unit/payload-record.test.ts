import fc from "fast-check";
import { MASK } from "../../src";
import { DEFAULT_MASK_FIELDS, MaskRules } from "../../src/mask-rules";
import { requestBodyPayload, textPayload } from "../../src/payload-record";

const rules = new MaskRules(DEFAULT_MASK_FIELDS, [], [{ label: "key", pattern: /\bsk_live_\w+/ }]);
const unstructured = fc.constantFrom("text/plain", "text/html; charset=utf-8", "application/xml", "image/svg+xml", "text/csv", "application/javascript", "application/octet-stream", "");

describe("textPayload and requestBodyPayload", () => {
  it("keep nothing of a body that is neither JSON nor a form: its type and size only", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), unstructured, (text, type) => {
        const bytes = Buffer.byteLength(text);
        const expected = { _contentType: type || null, _bytes: bytes };
        expect(textPayload(text, type, rules, 16384, bytes)).toEqual(expected);
        expect(requestBodyPayload(text, type, rules, 16384, undefined)).toEqual(expected);
        expect(requestBodyPayload(Buffer.from(text), type, rules, 16384, undefined)).toEqual(expected);
      }),
    );
  });

  it("mask a form or JSON body given as text as post data, and keep nothing of JSON that does not parse", () => {
    expect(textPayload("item=book&password=hunter2&tag=a&tag=b", "application/x-www-form-urlencoded", rules, 16384, 38)).toEqual({ item: "book", password: MASK, tag: ["a", "b"] });
    expect(requestBodyPayload('{"apiKey":"k","note":"sk_live_123"}', "application/json", rules, 16384, undefined)).toEqual({ apiKey: MASK, note: "[key]" });
    expect(textPayload('{"password": "hunt', "application/json", rules, 16384, 18)).toEqual({ _contentType: "application/json", _bytes: 18 });
  });

  it("do not parse a text body that could not fit its cap", () => {
    expect(textPayload(JSON.stringify({ a: "x".repeat(500) }), "application/json", rules, 100, 508)).toEqual({ _truncated: true, _bytes: 508 });
  });
});
