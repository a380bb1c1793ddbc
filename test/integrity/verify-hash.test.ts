import fc from "fast-check";

import { eventHash } from "../../src/integrity/canonical-event";
import { fastEventHash } from "../../src/integrity/verify-hash";
import type { AuditEventRecord } from "../../src/model/event-record";
import type { JsonObject } from "../../src/model/json";

const json = fc.jsonValue() as fc.Arbitrary<unknown>;
const object = fc.dictionary(fc.oneof(fc.string(), fc.constantFrom("10", "9", "0", "01", "__proto__", "__proto__x", "é", "😀")), json) as fc.Arbitrary<JsonObject>;

describe("fastEventHash", () => {
  it("equals eventHash (RFC 8785 through canonicalize) on arbitrary JSON content and field values", () => {
    fc.assert(
      fc.property(object, object, fc.option(fc.string()), fc.option(fc.integer({ min: 1, max: 2 ** 40 })), fc.integer({ min: 0, max: 4e12 }), (content, headers, userId, seq, at) => {
        const record: AuditEventRecord = {
          id: "0193c0de-aaaa-7bbb-8ccc-123456789abc", timestamp: new Date(at), contentType: "Order", objectId: "1", content, userId, url: null, method: "POST", remoteAddr: null,
          queryParams: {}, postData: { nested: content }, headers, action: null, outcome: "success", severity: "info", tenantId: null, requestId: null,
          chainId: "c", seq, prevHash: null, hash: null,
        };
        expect(fastEventHash(record)).toBe(eventHash(record));
      }),
      { numRuns: 500 },
    );
  });
});
