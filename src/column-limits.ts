import type { AuditEventRecord } from "./model/event-record";
import type { JsonObject, JsonValue } from "./model/json";
import { sanitizeString } from "./serialize";

// The narrowest column of every supported database, so an event is stored alike
// everywhere (and moves between them, or into the archive, unchanged):
// - MySQL/MariaDB (prisma/mysql/schema.prisma): VARCHAR(191) and VARCHAR(16) and
//   VARCHAR(64) count characters (utf8mb4); TEXT holds 65 535 bytes; JSON is refused
//   by MariaDB's json_valid() from 32 nesting levels on, and a row must fit the
//   server's max_allowed_packet (16 MiB by default on MariaDB 10.5+, 64 MiB on MySQL 8).
// - PostgreSQL: text is unbounded, but a B-tree index entry must stay under 2 704
//   bytes; 191 characters of at most 4 bytes each keep every indexed pair well under it.
// - SQLite: no limit below a gigabyte.

/** Longest `contentType`, in characters: MySQL's `VARCHAR(191)`. */
export const CONTENT_TYPE_MAX_CHARS = 191;
/** Longest `objectId`, in characters: MySQL's `VARCHAR(191)`. */
export const OBJECT_ID_MAX_CHARS = 191;
/** Longest `userId`, in characters: MySQL's `VARCHAR(191)`. */
export const USER_ID_MAX_CHARS = 191;
/** Longest `action`, in characters: MySQL's `VARCHAR(191)`. */
export const ACTION_MAX_CHARS = 191;
/** Longest `tenantId`, in characters: MySQL's `VARCHAR(191)`. */
export const TENANT_ID_MAX_CHARS = 191;
/** Longest `requestId`, in characters: MySQL's `VARCHAR(191)`. */
export const REQUEST_ID_MAX_CHARS = 191;
/** Longest `method`, in characters: MySQL's `VARCHAR(16)`. */
export const METHOD_MAX_CHARS = 16;
/** Longest `remoteAddr`, in characters: MySQL's `VARCHAR(64)`. */
export const REMOTE_ADDR_MAX_CHARS = 64;
/** Longest `url`, in UTF-8 bytes: MySQL's `TEXT`. */
export const URL_MAX_BYTES = 65_535;
/**
 * Largest JSON column (`content`, `queryParams`, `postData`, `headers`), in UTF-8
 * bytes of its JSON text: four of them and a full `url` stay within the 16 MiB
 * `max_allowed_packet` of MariaDB even when the driver escapes every byte.
 */
export const JSON_COLUMN_MAX_BYTES = 1_048_576;
/** Deepest nesting of a JSON column, the column's own object being level 1: MariaDB refuses 32. */
export const JSON_COLUMN_MAX_DEPTH = 31;

/**
 * What a cut text value ends with: `…[+N chars]`, N being how many characters
 * (Unicode code points) were cut. Only where even that does not fit (a `method`
 * longer than a million characters) is it the short `…[+N]`. The cut value, marker
 * included, is never longer than its column allows.
 */
export const CUT_MARKER = /…\[\+(\d+)(?: chars)?\]$/u;

/** What stands for a JSON part nested deeper than {@link JSON_COLUMN_MAX_DEPTH}. */
export const JSON_DEPTH_MARKER = `[cut: nested deeper than ${JSON_COLUMN_MAX_DEPTH} levels]`;

/**
 * A JSON column value too large for its column is stored as this object: the size
 * of the JSON it replaces, and as much of its start (as JSON text, cut with
 * {@link CUT_MARKER}) as fits.
 */
export interface CutJson {
  [key: string]: JsonValue;
  _truncated: true;
  _bytes: number;
  _head: string;
}

/** A text column's limit: characters (`VARCHAR`), or UTF-8 bytes (`TEXT`). */
export type TextLimit = { readonly chars: number } | { readonly bytes: number };

/** The bounded text columns of an event and their limits. */
export const TEXT_COLUMN_LIMITS: Readonly<
  Record<"contentType" | "objectId" | "userId" | "method" | "remoteAddr" | "url" | "action" | "tenantId" | "requestId", TextLimit>
> = {
  contentType: { chars: CONTENT_TYPE_MAX_CHARS },
  objectId: { chars: OBJECT_ID_MAX_CHARS },
  userId: { chars: USER_ID_MAX_CHARS },
  method: { chars: METHOD_MAX_CHARS },
  remoteAddr: { chars: REMOTE_ADDR_MAX_CHARS },
  url: { bytes: URL_MAX_BYTES },
  action: { chars: ACTION_MAX_CHARS },
  tenantId: { chars: TENANT_ID_MAX_CHARS },
  requestId: { chars: REQUEST_ID_MAX_CHARS },
};

const TEXT_COLUMNS = Object.entries(TEXT_COLUMN_LIMITS) as [keyof typeof TEXT_COLUMN_LIMITS, TextLimit][];
const JSON_COLUMNS = ["content", "queryParams", "postData", "headers"] as const;

/**
 * JSON values known to fit, so a request's shared query, body and headers are checked once.
 * Only values whose JSON is at least {@link REMEMBERED_FROM_CHARS} long are kept: checking a
 * smaller one again (a walk and a `JSON.stringify` of a few hundred bytes) costs less than
 * a WeakSet entry, which the garbage collector pays for on every scavenge it survives (it
 * was a quarter of a buffered `createEvent`'s CPU when every event's content was added).
 */
const fitting = new WeakSet<object>();

/** The JSON length from which a value that fits is remembered in {@link fitting}. */
const REMEMBERED_FROM_CHARS = 4096;

function isEmptyObject(value: object): boolean {
  for (const _ in value) return false;
  return true;
}

function utf8Bytes(codePoint: number): number {
  return codePoint < 0x80 ? 1 : codePoint < 0x800 ? 2 : codePoint < 0x10000 ? 3 : 4;
}

function codePointCount(text: string): number {
  let count = 0;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    // A well-formed high surrogate is always followed by its low one.
    if (unit >= 0xd800 && unit <= 0xdbff) i++;
    count++;
  }
  return count;
}

/** The marker for `cut` characters, in the long form unless `short`. */
function markerFor(cut: number, short: boolean): string {
  return short ? `…[+${cut}]` : `…[+${cut} chars]`;
}

/** The end (UTF-16 index) of the longest prefix of `text` within `chars` code points and `bytes` UTF-8 bytes. */
function prefixEnd(text: string, chars: number, bytes: number): { end: number; kept: number } {
  let end = 0;
  let kept = 0;
  let used = 0;
  while (end < text.length && kept < chars) {
    const codePoint = text.codePointAt(end)!;
    const size = utf8Bytes(codePoint);
    if (used + size > bytes) break;
    used += size;
    end += codePoint > 0xffff ? 2 : 1;
    kept++;
  }
  return { end, kept };
}

/**
 * `text` as a column with `limit` stores it: sanitized (NUL, lone surrogates), and
 * when too long cut at a character boundary (never inside a surrogate pair) and
 * ended with {@link CUT_MARKER}, the whole within the limit. Text that fits is
 * returned as it is.
 *
 * @example
 * ```ts
 * boundText("x".repeat(200), { chars: 191 }); // 179 "x" and "…[+21 chars]": 191 characters
 * ```
 */
export function boundText(text: string, limit: TextLimit): string {
  const clean = sanitizeString(text);
  if ("chars" in limit) {
    // UTF-16 units are never fewer than code points.
    if (clean.length <= limit.chars) return clean;
    const total = codePointCount(clean);
    if (total <= limit.chars) return clean;
    // The long form whenever it fits even for the total count, so one column never mixes forms needlessly.
    const short = markerFor(total, false).length > limit.chars;
    let room = limit.chars - markerFor(total, short).length;
    // The count of cut characters may have fewer digits than the total: use that room too.
    while (room + 1 + markerFor(total - room - 1, short).length <= limit.chars) room++;
    const { end, kept } = prefixEnd(clean, room, Infinity);
    return clean.slice(0, end) + markerFor(total - kept, short);
  }
  // A UTF-16 unit is at most 3 UTF-8 bytes (a pair of them, 4).
  if (clean.length * 3 <= limit.bytes || Buffer.byteLength(clean, "utf8") <= limit.bytes) return clean;
  const total = codePointCount(clean);
  const room = limit.bytes - Buffer.byteLength(markerFor(total, false), "utf8");
  const { end, kept } = prefixEnd(clean, Infinity, room);
  return clean.slice(0, end) + markerFor(total - kept, false);
}

/** Whether `value` holds a container `depth` levels below itself (itself at 0). */
function deeperThan(value: JsonValue, depth: number): boolean {
  if (value === null || typeof value !== "object") return false;
  if (depth === 0) return true;
  const items = Array.isArray(value) ? value : Object.values(value);
  for (const item of items) if (deeperThan(item, depth - 1)) return true;
  return false;
}

/** The most UTF-8 bytes `JSON.stringify` writes for one UTF-16 unit of a string (`\u001f`). */
const MAX_JSON_BYTES_PER_UNIT = 6;
/** The most characters `JSON.stringify` writes for a number (`-1.2345678901234567e-308`). */
const MAX_NUMBER_CHARS = 24;

/**
 * What is left of `budget` UTF-8 bytes after `value`'s JSON at its largest (every
 * character escaped), or -1 when that could exceed the budget or `value` holds a
 * container `depth` levels below itself (itself at 0, as {@link deeperThan} counts): a
 * value this walk sizes within the budget fits a column for sure, without stringifying it.
 */
function surelyFits(value: JsonValue, depth: number, budget: number): number {
  if (value === null) return budget - 4;
  switch (typeof value) {
    case "string":
      return budget - (value.length * MAX_JSON_BYTES_PER_UNIT + 2);
    case "number":
      return budget - MAX_NUMBER_CHARS;
    case "boolean":
      return budget - 5;
  }
  if (typeof value !== "object" || depth <= 0) return -1;
  let left = budget - 2;
  if (Array.isArray(value)) {
    for (const item of value) {
      left = surelyFits(item, depth - 1, left - 1);
      if (left < 0) return -1;
    }
    return left;
  }
  const object = value as JsonObject;
  // for-in rather than Object.keys: no array of keys per object sized. An inherited
  // enumerable key (a polluted Object.prototype), which JSON leaves out, is skipped.
  for (const key in object) {
    if (!Object.hasOwn(object, key)) continue;
    // `"key":` and a comma.
    left = surelyFits(object[key]!, depth - 1, left - (key.length * MAX_JSON_BYTES_PER_UNIT + 4));
    if (left < 0) return -1;
  }
  return left;
}

/** `value` with every container `depth` levels below itself replaced by {@link JSON_DEPTH_MARKER}. */
function cutDepth(value: JsonValue, depth: number): JsonValue {
  if (value === null || typeof value !== "object") return value;
  if (depth === 0) return JSON_DEPTH_MARKER;
  if (Array.isArray(value)) return value.map((item) => cutDepth(item, depth - 1));
  const out: JsonObject = {};
  for (const [key, item] of Object.entries(value)) {
    Object.defineProperty(out, key, { value: cutDepth(item, depth - 1), enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** The stand-in for JSON text of `bytes` bytes that does not fit in `maxBytes`. */
function cutJson(text: string, bytes: number, maxBytes: number): CutJson {
  const frame = (head: string): CutJson => ({ _truncated: true, _bytes: bytes, _head: head });
  let budget = maxBytes - Buffer.byteLength(JSON.stringify(frame("")), "utf8");
  for (;;) {
    const head = boundText(text, { bytes: budget });
    // Quotes and backslashes of the JSON text are escaped again inside `_head`.
    const excess = Buffer.byteLength(JSON.stringify(frame(head)), "utf8") - maxBytes;
    if (excess <= 0) return frame(head);
    budget -= excess;
  }
}

/**
 * `value` as a JSON column stores it: parts nested deeper than
 * {@link JSON_COLUMN_MAX_DEPTH} replaced by {@link JSON_DEPTH_MARKER}, and a value
 * whose JSON is larger than {@link JSON_COLUMN_MAX_BYTES} replaced by a
 * {@link CutJson}. A value that fits is returned as it is (the same object).
 *
 * @example
 * ```ts
 * boundJson({ file: "A".repeat(2_000_000) }); // { _truncated: true, _bytes: 2000011, _head: "{\"file\":\"AAA…[+…]" }
 * ```
 */
export function boundJson(value: JsonObject, maxBytes = JSON_COLUMN_MAX_BYTES): JsonObject {
  const shared = maxBytes === JSON_COLUMN_MAX_BYTES;
  // `{}` (no query, body or headers recorded) fits any column.
  if (isEmptyObject(value) && Object.getPrototypeOf(value) === Object.prototype && maxBytes >= 2) return value;
  if (shared && fitting.has(value)) return value;
  // Most values (an event's content, a request's headers) are small and shallow: sized
  // at their largest without a `JSON.stringify`.
  const left = surelyFits(value, JSON_COLUMN_MAX_DEPTH, maxBytes);
  if (left >= 0) {
    if (shared && maxBytes - left >= REMEMBERED_FROM_CHARS) fitting.add(value);
    return value;
  }
  const shallow = deeperThan(value, JSON_COLUMN_MAX_DEPTH) ? (cutDepth(value, JSON_COLUMN_MAX_DEPTH) as JsonObject) : value;
  const text = JSON.stringify(shallow);
  // A UTF-16 unit is at most 3 UTF-8 bytes; most JSON is far below the limit.
  const bytes = text.length * 3 <= maxBytes ? text.length : Buffer.byteLength(text, "utf8");
  const bounded = bytes <= maxBytes ? shallow : cutJson(text, bytes, maxBytes);
  if (shared && text.length >= REMEMBERED_FROM_CHARS) fitting.add(bounded);
  return bounded;
}

/**
 * `record` with every column bounded to the limits above ({@link boundText},
 * {@link boundJson}), so that no value, whatever its length or depth, keeps the
 * event out of any supported database. Fields other than the event's own (extra
 * columns) are left alone. Returns `record` itself when everything fits.
 *
 * @example
 * ```ts
 * const stored = boundRecord(record); // stored.objectId.length <= OBJECT_ID_MAX_CHARS
 * ```
 */
export function boundRecord<T extends AuditEventRecord>(record: T): T {
  let out: T | undefined;
  for (const [field, limit] of TEXT_COLUMNS) {
    const value = record[field];
    if (typeof value !== "string") continue;
    const bounded = boundText(value, limit);
    if (bounded !== value) (out ??= { ...record })[field] = bounded;
  }
  for (const field of JSON_COLUMNS) {
    const value = record[field];
    if (typeof value !== "object" || value === null) continue;
    const bounded = boundJson(value);
    if (bounded !== value) (out ??= { ...record })[field] = bounded;
  }
  return out ?? record;
}
