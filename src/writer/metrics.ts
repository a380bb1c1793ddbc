import { thrownMessage } from "../thrown-message";

/** What `auditMetrics()` returns. */
export interface AuditMetrics {
  /** Events the store committed since the process started, replays included. */
  written: number;
  /** Events waiting in memory right now. */
  buffered: number;
  /** Events waiting in the spool right now, not yet in the store. */
  spooled: number;
  /** Events written to the store from the spool since the process started. */
  replayed: number;
  /** Events given up since the process started: dropped by `onSpoolFull: "drop-oldest"`, or corrupt spool lines skipped. */
  dropped: number;
  /**
   * Events the store refused for what they hold (a constraint of your schema) since
   * the process started. None is lost silently: a sync caller gets
   * `ERR_AUDIT_EVENT_REFUSED`; a buffered one is logged whole at error level and
   * stands in the trail as an `AuditEvent` event naming it (see the README). Also spool
   * lines refused at replay for a wrong or missing MAC under `integrity`
   * (`ERR_AUDIT_SPOOL_FORGED`: logged whole at error level, kept aside, not replayed).
   */
  rejected: number;
  /** The message of the last write or spool failure, or null if none happened yet. */
  lastError: string | null;
}

/** One change the write path reports to `onMetrics`, as it happens. */
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
