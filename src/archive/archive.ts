import { getAuditConfig } from "../config";
import { AuditConfigError, AuditStoreError } from "../errors";
import type { ArchiveBatchResult, ArchivePosition, AuditStore } from "../stores/store";

/** Default of `olderThanDays`. */
export const DEFAULT_OLDER_THAN_DAYS = 90;
/** Default of `batchSize`. */
export const DEFAULT_ARCHIVE_BATCH_SIZE = 1000;
/** The largest batch accepted: larger ones hold locks for too long. */
export const MAX_ARCHIVE_BATCH_SIZE = 100_000;
const DAY_MS = 86_400_000;
const RETRIES = 5;
const RETRY_BASE_MS = 50;

/** Options of {@link archiveOldEvents}. */
export interface ArchiveOptions {
  /**
   * Events whose timestamp is older than now minus this many days are archived.
   * @default 90
   */
  olderThanDays?: number;
  /**
   * Events moved per transaction.
   * @default 1000
   */
  batchSize?: number;
  /** The store to archive; default: the configured one. */
  store?: AuditStore;
  /** Called after each batch, e.g. to draw a progress bar. */
  onBatch?: (progress: ArchiveProgress) => void;
}

/** What {@link ArchiveOptions.onBatch} hears after each batch. */
export interface ArchiveProgress {
  /** Events moved so far in this run. */
  archived: number;
  /** Events moved by this batch. */
  moved: number;
  /** How long this batch took, in milliseconds. */
  batchMs: number;
}

/** What an archival run did. */
export interface ArchiveResult {
  /** Exactly how many events this run moved to the archive. */
  archived: number;
  /** Events older than this were archived. */
  cutoff: Date;
  /** Transactions that moved at least one event. */
  batches: number;
  /** The longest batch, in milliseconds. */
  longestBatchMs: number;
}

/**
 * Raised when an archival run stops on an error. Every event it moved before is
 * safely in the archive; `archived` says how many. Running again continues.
 */
export class AuditArchiveError extends AuditStoreError {
  constructor(
    /** Events moved before the failure. */
    readonly archived: number,
    cause: unknown,
  ) {
    super(`Archival stopped after moving ${archived} event(s): ${(cause as Error)?.message ?? String(cause)}. Nothing was lost; run it again to continue.`, {
      cause,
      code: "ERR_AUDIT_ARCHIVE",
    });
    this.name = "AuditArchiveError";
  }
}

/** The moment before which events are archived: now minus `olderThanDays` days. */
export function archiveCutoff(olderThanDays: number, now: Date = new Date()): Date {
  return new Date(now.getTime() - olderThanDays * DAY_MS);
}

/**
 * Validates `olderThanDays` and `batchSize`, filling their defaults.
 *
 * @throws {AuditConfigError} naming the fix.
 */
export function validateArchiveLimits(options: { olderThanDays?: number; batchSize?: number }): { olderThanDays: number; batchSize: number } {
  const { olderThanDays = DEFAULT_OLDER_THAN_DAYS, batchSize = DEFAULT_ARCHIVE_BATCH_SIZE } = options;
  if (typeof olderThanDays !== "number" || !Number.isFinite(olderThanDays) || olderThanDays < 0) {
    throw new AuditConfigError(`olderThanDays must be a number of days, 0 or more (got ${String(olderThanDays)}), for example olderThanDays: 90.`);
  }
  if (!Number.isSafeInteger(batchSize) || batchSize < 1 || batchSize > MAX_ARCHIVE_BATCH_SIZE) {
    throw new AuditConfigError(`batchSize must be a whole number from 1 to ${MAX_ARCHIVE_BATCH_SIZE} (got ${String(batchSize)}), for example batchSize: 1000.`);
  }
  return { olderThanDays, batchSize };
}

function storeToArchive(store: AuditStore | undefined): AuditStore {
  const resolved = store ?? getAuditConfig().store;
  if (resolved === undefined) {
    throw new AuditConfigError("No audit store to archive: pass { store } or call configureAudit({ store: prismaStore(prisma) }) first.", "ERR_AUDIT_NO_STORE");
  }
  return resolved;
}

const TRANSIENT = /deadlock|could not serialize|lock wait timeout|database is locked|SQLITE_BUSY|write conflict|P2034|P1008|40001|40P01/i;

/**
 * Whether an error is a lock conflict that a retry resolves. Looks through causes
 * and through Prisma's `meta.driverAdapterError`, where adapters put the driver's
 * own code.
 */
function isTransient(error: unknown): boolean {
  const pending = [error];
  for (let seen = 0; pending.length > 0 && seen < 10; seen++) {
    const e = pending.pop() as { message?: unknown; code?: unknown; cause?: unknown; meta?: { driverAdapterError?: unknown }; originalCode?: unknown } | null;
    if (typeof e !== "object" || e === null) continue;
    if ([e.message, e.code, e.originalCode].some((text) => TRANSIENT.test(String(text ?? "")))) return true;
    pending.push(e.cause, e.meta?.driverAdapterError);
  }
  return false;
}

async function withRetries<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (attempt >= RETRIES || !isTransient(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, RETRY_BASE_MS * 2 ** attempt));
    }
  }
}

/**
 * Moves every event older than `olderThanDays` days to the archive, `batchSize` at a
 * time, each batch in its own transaction (copy, then delete). Safe to interrupt and
 * to run twice or in parallel: no event is lost or archived twice, and none is
 * deleted unless it is in the archive. Lock conflicts are retried with backoff.
 *
 * @example
 * ```ts
 * const { archived } = await archiveOldEvents({ olderThanDays: 90 });
 * ```
 * @throws {AuditConfigError} for bad options or no store.
 * @throws {AuditArchiveError} when a batch fails; `archived` says how many moved before.
 */
export async function archiveOldEvents(options: ArchiveOptions = {}): Promise<ArchiveResult> {
  const { olderThanDays, batchSize } = validateArchiveLimits(options);
  const store = storeToArchive(options.store);
  const cutoff = archiveCutoff(olderThanDays);
  let archived = 0;
  let batches = 0;
  let longestBatchMs = 0;
  // Each batch starts where the batch before the previous one ended, not at the oldest
  // event: it walks only the index entries of the rows the previous batch moved, instead
  // of those of every row moved so far. Walking those once lets PostgreSQL mark them dead
  // in the index, so the final pass below skips them without reading the table; and it
  // retries at once any row the previous batch skipped because another archiver held it.
  // A pass that finds nothing more is followed by one from the oldest event: a writer may
  // have added an event older than the position (ids, and so timestamps, are made by
  // clients before they write), and a row another archiver held may be live again if that
  // archiver failed. The run ends when a pass from the oldest event finds nothing.
  let after: ArchivePosition | undefined;
  let previous: ArchivePosition | undefined;
  for (;;) {
    const started = performance.now();
    let batch: ArchiveBatchResult;
    try {
      batch = await withRetries(() => store.archiveBatch(cutoff, batchSize, after));
    } catch (error) {
      if (error instanceof AuditConfigError) throw error;
      throw new AuditArchiveError(archived, error);
    }
    if (batch.last === null) {
      if (after === undefined) break;
      after = previous = undefined;
      continue;
    }
    after = previous;
    previous = batch.last;
    if (batch.moved === 0) continue;
    const batchMs = performance.now() - started;
    archived += batch.moved;
    batches++;
    longestBatchMs = Math.max(longestBatchMs, batchMs);
    options.onBatch?.({ archived, moved: batch.moved, batchMs });
  }
  return { archived, cutoff, batches, longestBatchMs };
}

/**
 * Counts the events an archival run with these options would move now.
 *
 * @example
 * ```ts
 * const due = await countArchivableEvents({ olderThanDays: 90 });
 * ```
 */
export async function countArchivableEvents(options: { olderThanDays?: number; store?: AuditStore } = {}): Promise<number> {
  const { olderThanDays } = validateArchiveLimits(options);
  return storeToArchive(options.store).countLiveBefore(archiveCutoff(olderThanDays));
}
