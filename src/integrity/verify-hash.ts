import { createHash } from "node:crypto";
import { eventHash, HASHED_FIELDS } from "./canonical-event";
import type { AuditEventRecord } from "../model/event-record";

/** The hashed fields in RFC 8785 order (sorted by UTF-16 code units), none of them an array index. */
const SORTED_FIELDS = [...HASHED_FIELDS].sort();

/** A key JavaScript objects order before the others whatever their insertion order. */
const ARRAY_INDEX = /^(?:0|[1-9]\d{0,9})$/;

/** Marks a value the fast path cannot copy in canonical order. */
const NOT_PLAIN = Symbol("not plain");

/**
 * `value` with every object's keys inserted in RFC 8785 order, so that the native
 * `JSON.stringify` writes its canonical text (JCS serializes strings and numbers exactly
 * as `JSON.stringify` does); {@link NOT_PLAIN} for what that would not hold for: a key that
 * is an array index (objects list those first, in numeric order), a number that is not
 * finite (JCS refuses it), a `__proto__` key (which an assignment would not copy),
 * anything JSON text read from a database does not hold.
 */
function inCanonicalOrder(value: unknown): unknown {
  if (value === null || typeof value === "string" || typeof value === "boolean") return value;
  if (typeof value === "number") return Number.isFinite(value) ? value : NOT_PLAIN;
  if (Array.isArray(value)) {
    const copy = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) {
      const item = inCanonicalOrder(value[i] ?? null);
      if (item === NOT_PLAIN) return NOT_PLAIN;
      copy[i] = item;
    }
    return copy;
  }
  if (typeof value !== "object" || Object.getPrototypeOf(value) !== Object.prototype) return NOT_PLAIN;
  const keys = Object.keys(value).sort();
  const copy: Record<string, unknown> = {};
  for (const key of keys) {
    // "__proto__" (an own key of parsed JSON) would set the copy's prototype instead of a key.
    if (ARRAY_INDEX.test(key) || key === "__proto__") return NOT_PLAIN;
    const item = (value as Record<string, unknown>)[key];
    if (item === undefined) continue;
    const ordered = inCanonicalOrder(item);
    if (ordered === NOT_PLAIN) return NOT_PLAIN;
    copy[key] = ordered;
  }
  return copy;
}

/**
 * The same hash as `eventHash` (SHA-256 of the RFC 8785 text of the event), computed
 * several times faster for events read back from a database: their JSON is copied in
 * canonical key order and written by the native `JSON.stringify` in one pass, instead of
 * one `JSON.stringify` per value. Whatever this path cannot write exactly falls back to
 * `eventHash` itself; a property test holds the two equal on arbitrary JSON.
 *
 * @example
 * ```ts
 * fastEventHash(record) === eventHash(record); // always
 * ```
 */
export function fastEventHash(record: AuditEventRecord): string {
  const ordered: Record<string, unknown> = {};
  for (const field of SORTED_FIELDS) {
    const value = record[field];
    const copy = value instanceof Date ? value.toISOString() : inCanonicalOrder(value ?? null);
    if (copy === NOT_PLAIN) return eventHash(record);
    ordered[field] = copy;
  }
  return createHash("sha256").update(JSON.stringify(ordered), "utf8").digest("hex");
}
