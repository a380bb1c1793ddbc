import type { AuditEventRecord } from "../model/event-record";
import type { EventSummary } from "../model/event-filter";
import { utcDay } from "./match-event";

function bump(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

/**
 * Counts events by content type, user and UTC day, for stores that hold their events
 * in memory. The count objects have no prototype, so a key such as `"__proto__"`
 * (a user may be called that) is counted like any other.
 *
 * @example
 * ```ts
 * const summary = tallySummary(store.list());
 * ```
 */
export function tallySummary(events: Iterable<AuditEventRecord>): EventSummary {
  const summary: EventSummary = { total: 0, byContentType: Object.create(null), byUser: Object.create(null), byDay: Object.create(null) };
  for (const event of events) {
    summary.total++;
    bump(summary.byContentType, event.contentType);
    if (event.userId !== null) bump(summary.byUser, event.userId);
    bump(summary.byDay, utcDay(event.timestamp));
  }
  return summary;
}
