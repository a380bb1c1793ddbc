import { boundJson, boundRecord, boundText, JSON_COLUMN_MAX_BYTES } from "../column-limits";
import { newEventIdentity, type AuditEventRecord } from "../model/event-record";
import type { JsonObject } from "../model/json";
import { normalizeJson } from "../serialize";
import type { EventRow } from "../stores/store";

/**
 * The content type of the events audit-events records about events: a refused
 * event's stand-in has this content type and the refused event's id as `objectId`.
 */
export const REFUSED_EVENT_CONTENT_TYPE = "AuditEvent";

/** Longest refusal reason kept in a stand-in, in characters. */
const REASON_MAX_CHARS = 2_000;
/** Room left in the stand-in's content for its outcome and reason. */
const FRAME_BYTES = 16_384;

/** Whether `row` is a stand-in already: its own refusal gets no stand-in of its own, so refusals cannot chain. */
export function isStandIn(row: EventRow): boolean {
  return row.contentType === REFUSED_EVENT_CONTENT_TYPE;
}

/** The `action` of a stand-in event: a write of the audit trail that failed. */
export const REFUSED_EVENT_ACTION = "audit.write";

/**
 * The event that stands in the trail for `row`, which the store refused for what it
 * holds: contentType {@link REFUSED_EVENT_CONTENT_TYPE}, objectId = the refused id,
 * content `{ outcome: "refused", reason, event }` with the refused row as JSON (cut
 * like any JSON column when larger), action {@link REFUSED_EVENT_ACTION}, outcome
 * `"failure"`, severity `"error"`, the refused row's tenant and request id, and none of
 * its other columns, which may be what the store refused. A new id and the time of the
 * refusal.
 */
export function standInFor(row: EventRow, reason: string): EventRow {
  const event = normalizeJson(row, { strict: false }) as JsonObject;
  const { id, timestamp } = newEventIdentity();
  const record: AuditEventRecord = {
    id,
    timestamp,
    contentType: REFUSED_EVENT_CONTENT_TYPE,
    objectId: row.id,
    content: {
      outcome: "refused",
      reason: boundText(reason, { chars: REASON_MAX_CHARS }),
      event: boundJson(event, JSON_COLUMN_MAX_BYTES - FRAME_BYTES),
    },
    userId: null,
    url: null,
    method: null,
    remoteAddr: null,
    queryParams: {},
    postData: {},
    headers: {},
    action: REFUSED_EVENT_ACTION,
    outcome: "failure",
    severity: "error",
    // The tenant's and the request's own readers see the hole in their part of the trail.
    tenantId: typeof row.tenantId === "string" ? row.tenantId : null,
    requestId: typeof row.requestId === "string" ? row.requestId : null, chainId: null, seq: null, prevHash: null, hash: null,
  };
  return { ...boundRecord(record) };
}

/**
 * The event that stands in the trail for a spool line that cannot be read back (its
 * checksum fails, or it does not parse): built like {@link standInFor}, with objectId
 * the event id the line seems to carry (`"id":"..."`, or `"unreadable"`) and content
 * `{ outcome: "corrupt", reason, line }`, the line whole (cut like any JSON column when
 * larger). The line itself is kept aside by the spool (`<path>.refused`, `<key>:refused`).
 */
export function standInForLine(line: string, reason: string): EventRow {
  const id = /"id":"([^"\\]{1,200})"/.exec(line)?.[1] ?? "unreadable";
  const row = standInFor({ id } as EventRow, reason);
  const content = { outcome: "corrupt", reason: boundText(reason, { chars: REASON_MAX_CHARS }), line };
  return { ...row, content: boundJson(content as JsonObject, JSON_COLUMN_MAX_BYTES - FRAME_BYTES) };
}
