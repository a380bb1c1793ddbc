import { uuidV7 } from "./uuid-v7";
import type { JsonObject } from "./json";

/**
 * Whether what the event records worked: `"success"`, `"failure"` (it was tried and
 * failed), or `"denied"` (it was refused, e.g. by an access check). The three values of
 * WorkOS Audit Logs' and audit-log-sdk's outcome.
 */
export type EventOutcome = "success" | "failure" | "denied";

/** Every {@link EventOutcome}, in the order above. */
export const EVENT_OUTCOMES: readonly EventOutcome[] = Object.freeze(["success", "failure", "denied"]);

/**
 * How serious the event is, least first: syslog's levels (RFC 5424) that audit trails
 * use, as mobius and audit-log-sdk name them.
 */
export type EventSeverity = "debug" | "info" | "warning" | "error" | "critical";

/** Every {@link EventSeverity}, least serious first. */
export const EVENT_SEVERITIES: readonly EventSeverity[] = Object.freeze(["debug", "info", "warning", "error", "critical"]);

/** The outcome of an event that names none, and of every row written before the column existed. */
export const DEFAULT_OUTCOME: EventOutcome = "success";

/** The severity of an event that names none, and of every row written before the column existed. */
export const DEFAULT_SEVERITY: EventSeverity = "info";

/** One stored audit event: a row of the `audit_events` table. */
export interface AuditEventRecord {
  /** UUID v7: time-ordered, generated in the library before the event leaves the process. */
  id: string;
  /** When the event was created; the same millisecond as the one in `id`. */
  timestamp: Date;
  /** Which kind of object the event is about, e.g. `"Order"`. */
  contentType: string;
  /** The object's id, as a string. */
  objectId: string;
  /** `{ ...extraData, ...fieldValues, ...content }`, as JSON. */
  content: JsonObject;
  /** The acting user's id, or null. */
  userId: string | null;
  /** The absolute request URL with its query string, masked keys reading `MASK`. */
  url: string | null;
  /** The HTTP method. */
  method: string | null;
  /** The client IP. */
  remoteAddr: string | null;
  /** The parsed query string when `includeQueryParams` is on, masked; else `{}`. */
  queryParams: JsonObject;
  /** The parsed body when `includePostData` is on, masked and size-capped; else `{}`. */
  postData: JsonObject;
  /** The whitelisted request headers; else `{}`. */
  headers: JsonObject;
  /** What was done, in the application's words, e.g. `"order.refund"`; null when not given. */
  action: string | null;
  /** Whether it worked. @default "success" */
  outcome: EventOutcome;
  /** How serious it is. @default "info" */
  severity: EventSeverity;
  /** The tenant (customer organisation) the event belongs to, or null in a single-tenant app. */
  tenantId: string | null;
  /** The request the event was created in (its `x-request-id`, its trace id, or a UUID v7), or null outside a request. */
  requestId: string | null;
  /** The hash chain the event belongs to (one per writer), or null when written without `integrity`. */
  chainId: string | null;
  /** The event's position in its chain, from 1; null when unsigned. */
  seq: number | null;
  /** The `hash` of the event before it in its chain; null for the first event, and when unsigned. */
  prevHash: string | null;
  /** SHA-256 (lower-case hex) of the event's canonical form (see `canonicalEventText`); null when unsigned. */
  hash: string | null;
}

/** An event in the archive table: the same fields, plus when it was archived. */
export interface ArchivedAuditEventRecord extends AuditEventRecord {
  archivedAt: Date;
}

/**
 * The names of the stored fields, in column order (the order of CSV exports). The event
 * model's fields (`action` to `requestId`) were added by the migration
 * `*_audit_events_event_model`, the hash chain's (`chainId` to `hash`) by
 * `*_audit_events_integrity`.
 */
export const EVENT_FIELDS = [
  "id",
  "timestamp",
  "contentType",
  "objectId",
  "content",
  "userId",
  "url",
  "method",
  "remoteAddr",
  "queryParams",
  "postData",
  "headers",
  "action",
  "outcome",
  "severity",
  "tenantId",
  "requestId",
  "chainId",
  "seq",
  "prevHash",
  "hash",
] as const satisfies readonly (keyof AuditEventRecord)[];

/** The fields of an event's hash chain, which the integrity migration added. */
export const CHAIN_FIELDS = ["chainId", "seq", "prevHash", "hash"] as const satisfies readonly (keyof AuditEventRecord)[];

/** The fields the event-model migration added, which a model generated before it lacks. */
export const EVENT_MODEL_FIELDS = ["action", "outcome", "severity", "tenantId", "requestId"] as const satisfies readonly (keyof AuditEventRecord)[];

/**
 * A new event id (UUID v7, see {@link uuidV7}: strictly increasing within a process,
 * even within one millisecond) and its timestamp, the time the id carries, so that the
 * two never disagree.
 */
export function newEventIdentity(): { id: string; timestamp: Date } {
  const { id, millis } = uuidV7();
  return { id, timestamp: new Date(millis) };
}
