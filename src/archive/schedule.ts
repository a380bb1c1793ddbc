import cron from "node-cron";
import { AuditConfigError } from "../errors";
import { archiveOldEvents, validateArchiveLimits, type ArchiveOptions, type ArchiveResult, type AuditArchiveError } from "./archive";
import type { AuditStore } from "../stores/store";

/** Default of `cron`: every day at midnight. */
export const DEFAULT_ARCHIVE_CRON = "0 0 * * *";

/** Where the schedule reports; `console` by default. */
export interface ArchiveLogger {
  info(message: string): void;
  error(message: string, error?: unknown): void;
}

/** Options of {@link scheduleArchival}. */
export interface ScheduleArchivalOptions {
  /**
   * When to run, as a cron expression (five fields, or six with seconds).
   * @default "0 0 * * *"
   */
  cron?: string;
  /** @default 90 */
  olderThanDays?: number;
  /** @default 1000 */
  batchSize?: number;
  /** Batches in flight at once: see {@link ArchiveOptions.concurrency}. @default 1 */
  concurrency?: number;
  /** The store to archive; default: the configured one, looked up at each run. */
  store?: AuditStore;
  /** Where runs, skips and failures are reported. @default console */
  logger?: ArchiveLogger;
  /** Called after each successful run. */
  onRun?: (result: ArchiveResult) => void;
  /** Time zone of the cron expression, e.g. "Europe/Berlin". @default the process's */
  timezone?: string;
}

/** A running schedule. */
export interface ArchivalSchedule {
  /** Stops the schedule; a run in progress finishes its current batch loop. */
  stop(): void;
}

function isTimeZone(name: unknown): boolean {
  if (typeof name !== "string") return false;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs {@link archiveOldEvents} on a cron schedule (node-cron). A run never overlaps
 * the previous one: a tick that finds a run still going is skipped and logged. A
 * failed run is logged with how many events it moved, and the schedule goes on. The
 * timer does not keep the process alive.
 *
 * @example
 * ```ts
 * const schedule = scheduleArchival({ cron: "0 3 * * *", olderThanDays: 90 });
 * process.on("SIGTERM", () => schedule.stop());
 * ```
 * @throws {AuditConfigError} for an invalid cron expression or options.
 */
export function scheduleArchival(options: ScheduleArchivalOptions = {}): ArchivalSchedule {
  const { cron: expression = DEFAULT_ARCHIVE_CRON, olderThanDays, batchSize, concurrency, store, logger = console, onRun, timezone } = options;
  if (typeof expression !== "string" || !cron.validate(expression)) {
    throw new AuditConfigError(`scheduleArchival(): "${String(expression)}" is not a cron expression; for example cron: "0 3 * * *" (daily at 03:00).`);
  }
  validateArchiveLimits({ olderThanDays, batchSize, concurrency });
  if (timezone !== undefined && !isTimeZone(timezone)) {
    throw new AuditConfigError(`scheduleArchival(): "${String(timezone)}" is not a time zone; use an IANA name such as timezone: "Europe/Berlin".`);
  }
  let running = false;
  const task = cron.schedule(
    expression,
    async () => {
      if (running) {
        logger.info("audit-events: archival skipped, the previous run is still going");
        return;
      }
      running = true;
      try {
        const result = await archiveOldEvents({ olderThanDays, batchSize, concurrency, store });
        logger.info(`audit-events: archived ${result.archived} event(s) older than ${result.cutoff.toISOString()}`);
        onRun?.(result);
      } catch (error) {
        const moved = (error as AuditArchiveError).archived ?? 0;
        logger.error(`audit-events: archival failed after moving ${moved} event(s)`, error);
      } finally {
        running = false;
      }
    },
    { name: "audit-events archival", timezone, unref: true },
  );
  return {
    stop() {
      void task.destroy();
    },
  };
}
