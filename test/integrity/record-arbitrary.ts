import fc from "fast-check";
import { EVENT_OUTCOMES, EVENT_SEVERITIES, type AuditEventRecord } from "../../src/model/event-record";
import type { JsonObject } from "../../src/model/json";

/** Any code point, or half of a surrogate pair on its own. */
const anyChar = fc.oneof(fc.string({ unit: "binary", minLength: 1, maxLength: 1 }), fc.integer({ min: 0xd800, max: 0xdfff }).map((unit) => String.fromCharCode(unit)));
/** Any string, lone surrogates, control characters and noncharacters included. */
const anyText = fc.string({ unit: anyChar, maxLength: 40 });
const jsonObject = fc.dictionary(anyText, fc.jsonValue({ noUnicodeString: false, maxDepth: 3 }), { maxKeys: 5 }) as fc.Arbitrary<JsonObject>;
const hex64 = fc.stringMatching(/^[0-9a-f]{64}$/);

/** Any event a store could give back: every field, any text, chained or not. */
export const recordArbitrary: fc.Arbitrary<AuditEventRecord> = fc.record({
  id: fc.uuid(),
  timestamp: fc.date({ min: new Date("1000-01-01T00:00:00Z"), max: new Date("9999-12-31T23:59:59.999Z"), noInvalidDate: true }),
  contentType: anyText.filter((s) => s.length > 0),
  objectId: anyText.filter((s) => s.length > 0),
  content: jsonObject,
  userId: fc.option(anyText),
  url: fc.option(fc.webUrl()),
  method: fc.option(fc.constantFrom("GET", "POST", "PUT", "DELETE")),
  remoteAddr: fc.option(fc.ipV4()),
  queryParams: jsonObject,
  postData: jsonObject,
  headers: jsonObject,
  action: fc.option(anyText.filter((s) => s.trim().length > 0)),
  outcome: fc.constantFrom(...EVENT_OUTCOMES),
  severity: fc.constantFrom(...EVENT_SEVERITIES),
  tenantId: fc.option(anyText.filter((s) => s.length > 0)),
  requestId: fc.option(anyText.filter((s) => s.length > 0)),
  chainId: fc.option(fc.uuid()),
  seq: fc.option(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER })),
  prevHash: fc.option(hex64),
  hash: fc.option(hex64),
});

/** A JSON object with its keys in reverse order at every depth: what a database or a proxy may give back. */
export function reversedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reversedKeys);
  if (typeof value !== "object" || value === null || value instanceof Date) return value;
  return Object.fromEntries(Object.entries(value).reverse().map(([k, v]) => [k, reversedKeys(v)]));
}
