/**
 * What a store is asked to read: the checked, normalised form of a query, and what it
 * returns. The ground floor of the read side: it imports nothing but the record.
 */

import type { EventOutcome, EventSeverity } from "./event-record";

/** Which table a query reads: the live events, the archive, or both as one sequence. */
export type EventSource = "live" | "archive" | "all";

/** The order of results: by timestamp, then by id. */
export type EventOrder = "asc" | "desc";

/** A value a top-level content key is compared with. */
export type ContentValue = string | number | boolean;

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
  readonly action?: string;
  readonly outcome?: EventOutcome;
  readonly severity?: EventSeverity;
  /** The tenant; the HTTP router and the command line's `--tenant` set it to the reader's own, whatever was asked. */
  readonly tenantId?: string;
  readonly requestId?: string;
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
  /** Events per action; events without an action are not in it. */
  byAction: Record<string, number>;
  /** Events per outcome (`"success"`, `"failure"`, `"denied"`); an outcome no event has is not in it. */
  byOutcome: Record<string, number>;
  /** Events per severity (`"debug"` to `"critical"`); a severity no event has is not in it. */
  bySeverity: Record<string, number>;
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
