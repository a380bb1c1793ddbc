import { thrownMessage } from "../thrown-message";

/** What `auditMetrics()` returns. */
export interface AuditMetrics {
  /** Events the store committed since the process started, replays included. */
  written: number;
  /**
   * Events in memory right now that are durable nowhere yet: without a spool, all that
   * wait for the store; with one, those waiting for the next spool append, and those
   * larger than the spool (or all, while the spool cannot be used).
   */
  buffered: number;
  /**
   * Events in the spool right now, not yet in the store. With a spool, every buffered
   * event passes through it (it is the write-ahead log), so under load this is rarely 0;
   * it is 0 once everything is stored.
   */
  spooled: number;
  /**
   * Events written to the store from the spool since the process started, after waiting
   * in it through a store failure, or left in it by an earlier process. Events the writer
   * feeds from the spool in the ordinary course count in `written` only.
   */
  replayed: number;
  /**
   * Events given up since the process started: dropped by `onSpoolFull: "drop-oldest"`,
   * or lost from a `redisSpool`'s list evicted or deleted under the process
   * (`ERR_AUDIT_SPOOL_LOST`, logged at error level): only lines an earlier process left
   * there, since the process appends again those it appended itself.
   */
  dropped: number;
  /**
   * Events the store refused for what they hold (a constraint of your schema) since
   * the process started. None is lost silently: a sync caller gets
   * `ERR_AUDIT_EVENT_REFUSED`; a buffered one is logged whole at error level and
   * stands in the trail as an `AuditEvent` event naming it (see the README). Also spool
   * lines refused at replay for a wrong or missing MAC under `integrity`
   * (`ERR_AUDIT_SPOOL_FORGED`: logged whole at error level, kept aside, not replayed),
   * and spool lines that cannot be read back (checksum, format: logged whole, kept
   * aside, a stand-in stored in their place).
   */
  rejected: number;
  /** The message of the last write or spool failure, or null if none happened yet. */
  lastError: string | null;
}

/**
 * One change the write path reports to `onMetrics`, as it happens. `spooled`: events
 * appended to the spool (with a spool, every buffered event, at its acknowledgement).
 */
export type AuditMetricsEvent =
  | { type: "written" | "replayed" | "spooled" | "dropped" | "rejected"; count: number }
  | { type: "error"; error: unknown };

/** A user's hook for their metrics library (Prometheus, StatsD, ...). */
export type AuditMetricsHook = (event: AuditMetricsEvent) => void;

const totals = { written: 0, replayed: 0, dropped: 0, rejected: 0 };
let lastError: string | null = null;
let gauges: () => { buffered: number; spooled: number } = () => ({ buffered: 0, spooled: 0 });
let hook: AuditMetricsHook | undefined;

/** Sets the hook that hears every change (the `onMetrics` option); undefined removes it. */
export function setMetricsHook(next: AuditMetricsHook | undefined): void {
  hook = next;
}

/** Sets where the current `buffered` and `spooled` figures come from. */
export function setMetricsGauges(next: () => { buffered: number; spooled: number }): void {
  gauges = next;
}

function tell(event: AuditMetricsEvent): void {
  try {
    hook?.(event);
  } catch {
    // A failing metrics hook must never fail or slow an audit write.
  }
}

/** Counts events that reached the store, or the spool, or were given up or refused. */
export function countMetric(type: "written" | "replayed" | "spooled" | "dropped" | "rejected", count: number): void {
  if (count <= 0) return;
  if (type !== "spooled") totals[type] += count;
  if (type === "replayed") totals.written += count;
  tell({ type, count });
}

/** Records a failure of the store or of the spool. */
export function recordMetricError(error: unknown): void {
  lastError = thrownMessage(error);
  tell({ type: "error", error });
}

/**
 * What the write path has done since the process started, and what waits now.
 *
 * @example
 * ```ts
 * const { written, buffered, spooled, lastError } = auditMetrics();
 * ```
 */
export function auditMetrics(): AuditMetrics {
  return { ...totals, ...gauges(), lastError };
}
