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

/**
 * The stored fields of `row` as a record: the extra columns of a user's own model left
 * out, each optional field the row lacks read as {@link UNSTORED_FIELD_VALUES} says, and
 * `seq` as a number (Prisma reads a `BigInt` column as a bigint; positions stay far below
 * 2^53).
 */
export function storedRecord(row: object): AuditEventRecord {
  const record: Record<string, unknown> = {};
  for (const field of EVENT_FIELDS) {
    const value = (row as Record<string, unknown>)[field];
    if (value === undefined && field in UNSTORED_FIELD_VALUES) record[field] = UNSTORED_FIELD_VALUES[field as OptionalField];
    else record[field] = typeof value === "bigint" ? Number(value) : value;
  }
  return record as unknown as AuditEventRecord;
}
