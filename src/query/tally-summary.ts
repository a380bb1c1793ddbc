import type { AuditEventRecord } from "../model/event-record";
import type { EventSummary } from "../model/event-filter";
import { utcDay } from "./match-event";

function bump(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

/**
 * Counts events by content type, user, UTC day, action, outcome and severity, for
 * stores that hold their events in memory. The count objects have no prototype, so a key such as `"__proto__"`
 * (a user may be called that) is counted like any other.
 *
 * @example
 * ```ts
 * const summary = tallySummary(store.list());
 * ```
 */
export function tallySummary(events: Iterable<AuditEventRecord>): EventSummary {
  const summary = emptySummary();
  for (const event of events) {
    summary.total++;
    bump(summary.byContentType, event.contentType);
    if (event.userId !== null) bump(summary.byUser, event.userId);
    bump(summary.byDay, utcDay(event.timestamp));
    if (typeof event.action === "string") bump(summary.byAction, event.action);
    bump(summary.byOutcome, event.outcome);
    bump(summary.bySeverity, event.severity);
  }
  return summary;
}

/**
 * A summary of no events, its count objects without a prototype (see {@link tallySummary}):
 * what stores add their counts to.
 *
 * @example
 * ```ts
 * const summary = emptySummary();
 * summary.byOutcome.denied = 3;
 * ```
 */
export function emptySummary(): EventSummary {
  const counts = (): Record<string, number> => Object.create(null) as Record<string, number>;
  return { total: 0, byContentType: counts(), byUser: counts(), byDay: counts(), byAction: counts(), byOutcome: counts(), bySeverity: counts() };
}
