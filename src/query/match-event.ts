import type { AuditEventRecord } from "../model/event-record";
import type { JsonValue } from "../model/json";
import type { EventFilter, EventOrder, EventPosition } from "../model/event-filter";

function containsText(value: JsonValue, needle: string): boolean {
  if (typeof value === "string") return value.toLowerCase().includes(needle);
  if (Array.isArray(value)) return value.some((item) => containsText(item, needle));
  if (typeof value === "object" && value !== null) return Object.values(value).some((item) => containsText(item, needle));
  return false;
}

/**
 * Whether `event` matches `filter`, by the rules every store follows: exact column
 * values, `since <= timestamp < until`, content keys holding exactly the value (not
 * an array containing it), and a case-insensitive search over every string value of
 * the content. The memory store filters with it; SQL stores must agree with it.
 *
 * @example
 * ```ts
 * events.filter((event) => matchesFilter(event, parseEventFilter({ userId: "u1" })));
 * ```
 */
export function matchesFilter(event: AuditEventRecord, filter: EventFilter): boolean {
  if (filter.contentType !== undefined && event.contentType !== filter.contentType) return false;
  if (filter.objectId !== undefined && event.objectId !== filter.objectId) return false;
  if (filter.userId !== undefined && event.userId !== filter.userId) return false;
  if (filter.method !== undefined && event.method !== filter.method) return false;
  if (filter.remoteAddr !== undefined && event.remoteAddr !== filter.remoteAddr) return false;
  if (filter.action !== undefined && event.action !== filter.action) return false;
  if (filter.outcome !== undefined && event.outcome !== filter.outcome) return false;
  if (filter.severity !== undefined && event.severity !== filter.severity) return false;
  if (filter.tenantId !== undefined && event.tenantId !== filter.tenantId) return false;
  if (filter.requestId !== undefined && event.requestId !== filter.requestId) return false;
  if (filter.since !== undefined && event.timestamp < filter.since) return false;
  if (filter.until !== undefined && event.timestamp >= filter.until) return false;
  for (const [key, value] of filter.content) {
    if (!Object.hasOwn(event.content, key) || event.content[key] !== value) return false;
  }
  return filter.search === undefined || containsText(event.content, filter.search.toLowerCase());
}

/** Compares two events by timestamp, then id, ascending. */
export function comparePositions(a: EventPosition, b: EventPosition): number {
  return a.timestamp.getTime() - b.timestamp.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** Whether `event` comes strictly after `position` in `order`. */
export function isAfter(event: EventPosition, position: EventPosition, order: EventOrder): boolean {
  const compared = comparePositions(event, position);
  return order === "asc" ? compared > 0 : compared < 0;
}

/** The UTC day of a moment, `"YYYY-MM-DD"`. */
export function utcDay(moment: Date): string {
  return moment.toISOString().slice(0, 10);
}
