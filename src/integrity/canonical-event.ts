import { createHash } from "node:crypto";
import canonicalize from "canonicalize";
import { EVENT_FIELDS, type AuditEventRecord } from "../model/event-record";

/** The fields an event's hash covers: every stored field but the hash itself. */
export const HASHED_FIELDS = EVENT_FIELDS.filter((field) => field !== "hash");

/**
 * The canonical text of an event: every stored field but `hash` (so `chainId`, `seq` and
 * `prevHash` too), as JSON canonicalized by RFC 8785 (JCS: keys sorted by UTF-16 code
 * units, numbers in ECMAScript's shortest form, strings in minimal escapes), with the
 * timestamp as its ISO 8601 UTC text to the millisecond. Every supported database gives
 * these values back unchanged (millisecond timestamps; JSON whose key order and number
 * spelling may change, which the canonical form does not see), so the text computed from
 * a row read back equals the one computed when the event was written.
 *
 * @example
 * ```ts
 * canonicalEventText(record); // '{"action":"order.refund","chainId":"0193…","content":{…},…}'
 * ```
 */
export function canonicalEventText(record: AuditEventRecord): string {
  const fields: Record<string, unknown> = {};
  for (const field of HASHED_FIELDS) {
    const value = record[field];
    // Tag check, not instanceof: a Date from another realm (structuredClone under jest's vm) is a Date too.
    fields[field] = Object.prototype.toString.call(value) === "[object Date]" ? (value as Date).toISOString() : (value ?? null);
  }
  const text = canonicalize(fields);
  if (text === undefined) throw new TypeError("An audit event has no canonical form.");
  return text;
}

/**
 * The `hash` of an event: SHA-256 of its canonical text (see {@link canonicalEventText}),
 * lower-case hex, 64 characters.
 */
export function eventHash(record: AuditEventRecord): string {
  return createHash("sha256").update(canonicalEventText(record), "utf8").digest("hex");
}
