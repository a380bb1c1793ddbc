import { hash } from "node:crypto";
import { EVENT_FIELDS, type AuditEventRecord } from "../model/event-record";
import { canonicalRecordText } from "./canonical-json";

/** The fields an event's hash covers: every stored field but the hash itself. */
export const HASHED_FIELDS = EVENT_FIELDS.filter((field) => field !== "hash");

const hashedText = canonicalRecordText<AuditEventRecord>(HASHED_FIELDS);

/**
 * The canonical text of an event: every stored field but `hash` (so `chainId`, `seq` and
 * `prevHash` too), as JSON canonicalized by RFC 8785 (JCS: keys sorted by UTF-16 code
 * units, numbers in ECMAScript's shortest form, strings in minimal escapes; written by
 * `canonicalJson`), with the timestamp as its ISO 8601 UTC text to the millisecond and a
 * missing field as null. Every supported database gives these values back unchanged
 * (millisecond timestamps; JSON whose key order and number spelling may change, which the
 * canonical form does not see), so the text computed from a row read back equals the one
 * computed when the event was written.
 *
 * @example
 * ```ts
 * canonicalEventText(record); // '{"action":"order.refund","chainId":"0193…","content":{…},…}'
 * ```
 * @throws {Error} for a field value RFC 8785 cannot write (see `canonicalJson`).
 */
export function canonicalEventText(record: AuditEventRecord): string {
  return hashedText(record);
}

/**
 * The `hash` of an event: SHA-256 of its canonical text (see {@link canonicalEventText}),
 * lower-case hex, 64 characters. The writers compute it when they chain an event, and
 * `verifyAuditTrail()` from the row as read back.
 *
 * @throws {Error} for a field value RFC 8785 cannot write (see `canonicalJson`).
 */
export function eventHash(record: AuditEventRecord): string {
  return hash("sha256", hashedText(record), "hex");
}
