import type { AuditStore } from "../stores/store";

/** Which table a query reads: the live events, the archive, or both as one sequence. */
export type EventSource = "live" | "archive" | "all";

/** The order of results: by timestamp, then by id. */
export type EventOrder = "asc" | "desc";

/** A value a top-level content key is compared with. */
export type ContentValue = string | number | boolean;

/**
 * What to read. Every field is optional; the filters given must all match.
 *
 * @example
 * ```ts
 * const query: AuditQuery = { contentType: "Order", objectId: "42", since: new Date("2026-01-01"), content: { action: "refund" } };
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

/**
 * The filters of a query, checked and normalised: what a store receives. Stores read
 * it, never the raw {@link AuditQuery}.
 */
export interface EventFilter {
  readonly contentType?: string;
  readonly objectId?: string;
  readonly userId?: string;
  readonly method?: string;
  readonly remoteAddr?: string;
  readonly since?: Date;
  readonly until?: Date;
  /** Top-level content keys and the value each must hold, in the order given. */
  readonly content: ReadonlyArray<readonly [key: string, value: ContentValue]>;
  readonly search?: string;
  readonly source: EventSource;
}

/** The position of an event in the `(timestamp, id)` order: a page continues after it. */
export interface EventPosition {
  readonly timestamp: Date;
  readonly id: string;
}

/** One page a store reads: its order, size and the position it continues after. */
export interface EventPageRequest {
  readonly order: EventOrder;
  readonly limit: number;
  readonly after?: EventPosition;
}

/** Counts of matching events: what {@link summarizeEvents} returns. */
export interface EventSummary {
  /** All matching events. */
  total: number;
  /** Events per content type. */
  byContentType: Record<string, number>;
  /** Events per user id; events without a user are not in it. */
  byUser: Record<string, number>;
  /** Events per UTC day, keyed `"YYYY-MM-DD"`. */
  byDay: Record<string, number>;
}

/**
 * A page of events as JSON text, in order: what `AuditStore.queryEventsAsJson` returns.
 * `last` is the position of the page's last event (where the next page continues), or
 * undefined when the page is empty.
 */
export interface JsonEventPage {
  readonly json: readonly string[];
  readonly last?: EventPosition;
}
