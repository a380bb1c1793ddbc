import { DEFAULT_OUTCOME, DEFAULT_SEVERITY, EVENT_FIELDS, EVENT_MODEL_FIELDS, type AuditEventRecord } from "../model/event-record";

/** A field the event-model migration added: `action`, `outcome`, `severity`, `tenantId`, `requestId`. */
export type EventModelField = (typeof EVENT_MODEL_FIELDS)[number];

/**
 * What an event-model field reads back as where it was never stored: the column's own
 * default, which is also what the migration gives the rows it finds. A row written by
 * a version of the library before these fields (spooled, or in a model without them)
 * has none of them.
 */
export const UNSTORED_FIELD_VALUES: Readonly<Record<EventModelField, AuditEventRecord[EventModelField]>> = Object.freeze({
  action: null,
  outcome: DEFAULT_OUTCOME,
  severity: DEFAULT_SEVERITY,
  tenantId: null,
  requestId: null,
});

/**
 * The stored fields of `row` as a record: the extra columns of a user's own model left
 * out, and each event-model field the row lacks read as {@link UNSTORED_FIELD_VALUES} says.
 */
export function storedRecord(row: object): AuditEventRecord {
  const record: Record<string, unknown> = {};
  for (const field of EVENT_FIELDS) {
    const value = (row as Record<string, unknown>)[field];
    record[field] = value === undefined && field in UNSTORED_FIELD_VALUES ? UNSTORED_FIELD_VALUES[field as EventModelField] : value;
  }
  return record as unknown as AuditEventRecord;
}
