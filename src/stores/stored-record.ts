import { CHAIN_FIELDS, DEFAULT_OUTCOME, DEFAULT_SEVERITY, EVENT_FIELDS, EVENT_MODEL_FIELDS, type AuditEventRecord } from "../model/event-record";

/** A field the event-model migration added: `action`, `outcome`, `severity`, `tenantId`, `requestId`. */
export type EventModelField = (typeof EVENT_MODEL_FIELDS)[number];

/** A field of the hash chain, which the integrity migration added: `chainId`, `seq`, `prevHash`, `hash`. */
export type ChainField = (typeof CHAIN_FIELDS)[number];

/** A field a model generated before a later migration lacks: read back as its default, never refused. */
export type OptionalField = EventModelField | ChainField;

/**
 * What an event-model field reads back as where it was never stored: the column's own
 * default, which is also what the migration gives the rows it finds. A row written by
 * a version of the library before these fields (spooled, or in a model without them)
 * has none of them.
 */
export const UNSTORED_FIELD_VALUES: Readonly<Record<OptionalField, AuditEventRecord[OptionalField]>> = Object.freeze({
  action: null,
  outcome: DEFAULT_OUTCOME,
  severity: DEFAULT_SEVERITY,
  tenantId: null,
  requestId: null,
  // An event written without `integrity` (or before its migration) is unsigned.
  chainId: null,
  seq: null,
  prevHash: null,
  hash: null,
});

/** The fields stored as JSON: a raw read gives them as text on MySQL/MariaDB and SQLite. */
const JSON_FIELDS: ReadonlySet<string> = new Set(["content", "queryParams", "postData", "headers"]);

/** Whether `value` is a Date, of this realm or another (a `structuredClone`, a `vm` context). */
const isDate = (value: unknown): value is Date => Object.prototype.toString.call(value) === "[object Date]";

/** Whether `value` is bytes: a Buffer, or a Uint8Array of a driver that reads text columns as binary. */
const isBytes = (value: unknown): value is Uint8Array => value instanceof Uint8Array;

/**
 * An instant as a driver reads it: a Date, epoch milliseconds (a number, a bigint, or
 * their text, as PostgreSQL pages carry it) or ISO 8601 text (SQLite, MySQL's raw reads).
 */
export function storedInstant(value: unknown): Date {
  if (isDate(value)) return new Date(value.getTime());
  if (typeof value === "number" || typeof value === "bigint") return new Date(Number(value));
  const text = isBytes(value) ? Buffer.from(value).toString("utf8") : String(value);
  return new Date(/^-?\d+(\.\d+)?$/.test(text) ? Number(text) : text);
}

/**
 * A chain position as a driver reads a `BigInt` column: a bigint (Prisma, every
 * database), text (node-postgres) or a Decimal (a MySQL expression): as a number, which
 * it stays exactly below 2^53.
 */
function storedPosition(value: unknown): number {
  const n = typeof value === "number" ? value : Number(typeof value === "bigint" || typeof value === "string" ? value : String(value));
  if (!Number.isSafeInteger(n)) throw new RangeError(`a stored seq of ${String(value)} is not a whole number below 2^53`);
  return n;
}

/** One stored field's value in the model's type (see {@link AuditEventRecord}); null for a missing one. */
function storedValue(field: (typeof EVENT_FIELDS)[number], value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (field === "timestamp") return storedInstant(value);
  if (field === "seq") return storedPosition(value);
  if (JSON_FIELDS.has(field)) {
    if (typeof value === "string") return JSON.parse(value);
    if (isBytes(value)) return JSON.parse(Buffer.from(value).toString("utf8"));
    return value;
  }
  // Every other field is text: bytes (a binary collation's read) as UTF-8, a number or a bigint (a cast) as its digits.
  if (isBytes(value)) return Buffer.from(value).toString("utf8");
  return typeof value === "string" ? value : String(value);
}

/**
 * The stored fields of `row` as a record of the model's types (see {@link AuditEventRecord}),
 * whatever the driver read them as: the one way every store and every read path (a
 * model's `findUnique`, a raw page, a spooled row) turns a row into a record, so a record
 * always goes through `JSON.stringify`. The extra columns of a user's own model are left
 * out; each optional field the row lacks reads as {@link UNSTORED_FIELD_VALUES} says;
 * `seq` is a number (Prisma reads a `BigInt` column as a bigint; positions stay far below
 * 2^53); `timestamp` a Date (from a Date, epoch milliseconds or ISO text); a JSON field
 * given as text is parsed; a text field given as bytes is decoded.
 *
 * @throws {RangeError} for a `seq` that is no whole number below 2^53; {@link SyntaxError}
 * for a JSON field whose text is not JSON.
 */
export function storedRecord(row: object): AuditEventRecord {
  const record: Record<string, unknown> = {};
  for (const field of EVENT_FIELDS) {
    const value = (row as Record<string, unknown>)[field];
    if (value === undefined && field in UNSTORED_FIELD_VALUES) record[field] = UNSTORED_FIELD_VALUES[field as OptionalField];
    else record[field] = storedValue(field, value);
  }
  return record as unknown as AuditEventRecord;
}
