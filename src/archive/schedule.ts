import { Cron, type CronOptions } from "croner";
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
   * When to run, as a cron expression (five fields, or six with seconds), read on
   * the clock of `timezone`. Across daylight-saving changes it does what Vixie cron
   * does: a time that the spring change skips (02:30 when clocks jump from 02:00 to
   * 03:00) runs right after the gap, at 03:00 that day; a time that the autumn change
   * repeats runs once, at its first occurrence. So a daily schedule runs once every
   * day. This holds for a schedule whose seconds, minutes and hours are fixed values
   * (lists and ranges too, such as `30 2,14 * * *`); one with a wildcard or a step
   * there (`*\/30 * * * *`) runs by the clock instead: it skips times the gap
   * removes and runs in both passes of the repeated hour.
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

function notACronExpression(expression: unknown, why: string): AuditConfigError {
  return new AuditConfigError(`scheduleArchival(): "${String(expression)}" is not a cron expression (${why}); for example cron: "0 3 * * *" (daily at 03:00).`);
}

/**
 * How croner reads our expressions: five or six fields (a seventh, the year, is not
 * ours to take), and Vixie cron's rule for which schedules are fixed-time in DST handling.
 */
const CRON_OPTIONS = { mode: "5-or-6-parts", fixedTimeRule: "no-wildcard", unref: true } as const satisfies CronOptions;

/**
 * The croner job behind {@link scheduleArchival}, not started yet (`schedule(fn)`
 * starts it); its `nextRuns()` are the times the schedule runs.
 *
 * @example
 * ```ts
 * archivalCron("30 2 * * *", "America/New_York").nextRuns(3, new Date("2026-03-07T12:00:00Z"));
 * ```
 * @throws {AuditConfigError} when `expression` is not a cron expression of five or six fields.
 */
export function archivalCron(expression: unknown, timezone: string | undefined, onOverrun?: () => void): Cron {
  let task: Cron;
  try {
    task = new Cron(expression as string, { ...CRON_OPTIONS, timezone, protect: onOverrun ?? true });
  } catch (error) {
    throw notACronExpression(expression, error instanceof Error ? error.message.replace(/^CronPattern: /, "") : String(error));
  }
  // croner also takes a date for a single run; a schedule is a cron expression.
  if (task.getPattern() === undefined) throw notACronExpression(expression, "it is a date");
  return task;
}

/**
 * Runs {@link archiveOldEvents} on a cron schedule (croner). A run never overlaps
 * the previous one: a tick that finds a run still going is skipped and logged. A
 * failed run is logged with how many events it moved, and the schedule goes on. The
 * timer does not keep the process alive. Daylight-saving changes neither skip nor
 * repeat a daily run (see {@link ScheduleArchivalOptions.cron}).
 *
 * @example
 * ```ts
 * const schedule = scheduleArchival({ cron: "30 2 * * *", timezone: "America/New_York", olderThanDays: 90 });
 * process.on("SIGTERM", () => schedule.stop());
 * ```
 * @throws {AuditConfigError} for an invalid cron expression or options.
 */
export function scheduleArchival(options: ScheduleArchivalOptions = {}): ArchivalSchedule {
  const { cron: expression = DEFAULT_ARCHIVE_CRON, olderThanDays, batchSize, concurrency, store, logger = console, onRun, timezone } = options;
  validateArchiveLimits({ olderThanDays, batchSize, concurrency });
  if (timezone !== undefined && !isTimeZone(timezone)) {
    throw new AuditConfigError(`scheduleArchival(): "${String(timezone)}" is not a time zone; use an IANA name such as timezone: "Europe/Berlin".`);
  }
  const task = archivalCron(expression, timezone, () => logger.info("audit-events: archival skipped, the previous run is still going"));
  task.schedule(async () => {
    try {
      const result = await archiveOldEvents({ olderThanDays, batchSize, concurrency, store });
      logger.info(`audit-events: archived ${result.archived} event(s) older than ${result.cutoff.toISOString()}`);
      onRun?.(result);
    } catch (error) {
      const moved = (error as AuditArchiveError).archived ?? 0;
      logger.error(`audit-events: archival failed after moving ${moved} event(s)`, error);
    }
  });
  return {
    stop() {
      task.stop();
    },
  };
}
