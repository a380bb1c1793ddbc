import type { ContentValue, EventOrder, EventSource } from "../model/event-filter";
import type { EventOutcome, EventSeverity } from "../model/event-record";
import type { AuditStore } from "../stores/store";

/**
 * What to read. Every field is optional; the filters given must all match.
 *
 * @example
 * ```ts
 * const query: AuditQuery = { contentType: "Order", objectId: "42", since: new Date("2026-01-01"), content: { reason: "damaged" } };
 * const refusals: AuditQuery = { action: "order.refund", outcome: "denied", tenantId: "acme" };
 * ```
 */
export interface AuditQuery {
  /** Events about objects of this type, e.g. `"Order"`. */
  contentType?: string;
  /** Events about the object with this id (compare as stored: a string). */
  objectId?: string;
  /** Events of this user. */
  userId?: string;
  /** Events recorded during requests with this HTTP method, e.g. `"POST"`. */
  method?: string;
  /** Events from this client IP. */
  remoteAddr?: string;
  /** Events with this action, e.g. `"order.refund"` (compared exactly, as stored). */
  action?: string;
  /** Events with this outcome: `"success"`, `"failure"` or `"denied"`. */
  outcome?: EventOutcome;
  /** Events of exactly this severity: `"debug"`, `"info"`, `"warning"`, `"error"` or `"critical"`. */
  severity?: EventSeverity;
  /** Events of this tenant (customer organisation). */
  tenantId?: string;
  /** Events created in the request with this id. */
  requestId?: string;
  /** Events at or after this instant (compared as UTC instants, whatever the database's or session's zone). */
  since?: Date;
  /** Events before this instant (see `since`). */
  until?: Date;
  /** Events whose content has each of these top-level keys with exactly this value. */
  content?: Record<string, ContentValue>;
  /** Events with a string value anywhere in their content that contains this text, ignoring case. */
  search?: string;
  /**
   * By timestamp, then id.
   * @default "desc"
   */
  order?: EventOrder;
  /**
   * The live table, the archive, or both.
   * @default "live"
   */
  source?: EventSource;
  /**
   * The store to read.
   * @default the store given to `configureAudit()`
   */
  store?: AuditStore;
}

/** A query with a page size and where to continue: what {@link findEvents} takes. */
export interface FindEventsQuery extends AuditQuery {
  /**
   * Events per page, 1 to 1000.
   * @default 50
   */
  limit?: number;
  /** The `nextCursor` of the previous page; absent for the first page. */
  cursor?: string;
}
