import { getAuditConfig } from "../config/configure";
import { AuditConfigError, AuditStoreError } from "../errors";
import { EARLIEST_INSTANT, isInstantInRange } from "../query/instant-range";
import type { ArchiveBatchResult, ArchivePosition, AuditStore } from "../stores/store";
import { thrownMessage } from "../thrown-message";

/** Default of `olderThanDays`. */
export const DEFAULT_OLDER_THAN_DAYS = 90;
/** Default of `batchSize`. */
export const DEFAULT_ARCHIVE_BATCH_SIZE = 1000;
/** The largest batch accepted: larger ones hold locks for too long. */
export const MAX_ARCHIVE_BATCH_SIZE = 100_000;
/** Default of `concurrency`. */
export const DEFAULT_ARCHIVE_CONCURRENCY = 1;
/** The most batches one run keeps in flight at once. */
export const MAX_ARCHIVE_CONCURRENCY = 16;
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
  /**
   * Batches in flight at once, each in its own transaction on its own connection of
   * the client's pool (which needs at least this many connections; both PostgreSQL's
   * and MariaDB's driver adapters default to 10). Two moved about 1.5 times as many
   * rows a second on PostgreSQL and 1.2 times on MariaDB on a 2-core machine (see the
   * README's "Archival speed"); each batch still moves at most `batchSize` events.
   * SQLite writes one transaction at a time, so more than one gains nothing there.
   * @default 1
   */
  concurrency?: number;
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
    super(`Archival stopped after moving ${archived} event(s): ${thrownMessage(cause)}. Nothing was lost; run it again to continue.`, {
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
 * Validates `olderThanDays`, `batchSize` and `concurrency`, filling their defaults.
 *
 * @throws {AuditConfigError} naming the fix.
 */
export function validateArchiveLimits(options: { olderThanDays?: number; batchSize?: number; concurrency?: number }): {
  olderThanDays: number;
  batchSize: number;
  concurrency: number;
} {
  const { olderThanDays = DEFAULT_OLDER_THAN_DAYS, batchSize = DEFAULT_ARCHIVE_BATCH_SIZE, concurrency = DEFAULT_ARCHIVE_CONCURRENCY } = options;
  if (typeof olderThanDays !== "number" || !Number.isFinite(olderThanDays) || olderThanDays < 0) {
    throw new AuditConfigError(`olderThanDays must be a number of days, 0 or more (got ${String(olderThanDays)}), for example olderThanDays: 90.`);
  }
  if (!isInstantInRange(archiveCutoff(olderThanDays))) {
    throw new AuditConfigError(`olderThanDays (${olderThanDays}) reaches back before ${EARLIEST_INSTANT.toISOString()}, which no supported database holds: give fewer days, for example olderThanDays: 90.`);
  }
  if (!Number.isSafeInteger(batchSize) || batchSize < 1 || batchSize > MAX_ARCHIVE_BATCH_SIZE) {
    throw new AuditConfigError(`batchSize must be a whole number from 1 to ${MAX_ARCHIVE_BATCH_SIZE} (got ${String(batchSize)}), for example batchSize: 1000.`);
  }
  if (!Number.isSafeInteger(concurrency) || concurrency < 1 || concurrency > MAX_ARCHIVE_CONCURRENCY) {
    throw new AuditConfigError(`concurrency must be a whole number from 1 to ${MAX_ARCHIVE_CONCURRENCY} (got ${String(concurrency)}), for example concurrency: 2.`);
  }
  return { olderThanDays, batchSize, concurrency };
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

/**
 * Runs `fn`, retrying lock conflicts with jittered exponential backoff (so batch chains
 * that collided do not collide again in step), unless `stopped()` says the run is over.
 */
async function withRetries<T>(fn: () => Promise<T>, stopped: () => boolean): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (attempt >= RETRIES || !isTransient(error) || stopped()) throw error;
      await new Promise((resolve) => setTimeout(resolve, RETRY_BASE_MS * 2 ** attempt * (0.5 + Math.random())));
      if (stopped()) throw error;
    }
  }
}

/** What the chains of one run share. */
interface ArchiveRun {
  readonly store: AuditStore;
  readonly cutoff: Date;
  readonly batchSize: number;
  readonly onBatch: ArchiveOptions["onBatch"];
  /** A chain records a waypoint every this many of its batches: see {@link BATCHES_PER_SEGMENT}. */
  readonly waypointEvery: number;
  archived: number;
  batches: number;
  longestBatchMs: number;
  /** The first error a chain failed with: the others stop after their batch in flight, without retrying it. */
  error?: { reason: unknown };
}

/**
 * The pass from the oldest event that ends a chain is cut into segments of about this
 * many batches of the run (all chains together), so that no call of it walks more than
 * that many rows' index entries (at 1 000 000 rows, one unbounded call walked them all:
 * 29-45 ms with one chain, 85-117 ms with two).
 */
const BATCHES_PER_SEGMENT = 20;

/** One batch of a chain: retried on lock conflicts, counted and reported when it moved events. */
async function archiveOne(run: ArchiveRun, before: Date, after: ArchivePosition | undefined): Promise<ArchiveBatchResult> {
  const started = performance.now();
  const batch = await withRetries(
    () => run.store.archiveBatch(before, run.batchSize, after),
    () => run.error !== undefined,
  );
  if (batch.moved > 0) {
    const batchMs = performance.now() - started;
    run.archived += batch.moved;
    run.batches++;
    run.longestBatchMs = Math.max(run.longestBatchMs, batchMs);
    run.onBatch?.({ archived: run.archived, moved: batch.moved, batchMs });
  }
  return batch;
}

/**
 * Batches from the oldest event until one finds nothing. Each batch starts where the
 * batch before the previous one ended, not at the oldest event: it walks only the index
 * entries of the rows the previous batch moved, instead of those of every row moved so
 * far. Walking those once lets PostgreSQL mark them dead in the index, so later passes
 * skip them without reading the table; and it retries at once any row the previous
 * batch skipped because another archiver held it.
 *
 * @returns positions the pass reached, {@link ArchiveRun.waypointEvery} batches apart, or
 *   null when its first batch, from the oldest event, found nothing: then it was itself
 *   the pass from the oldest event that ends a chain.
 */
async function seekingPass(run: ArchiveRun): Promise<ArchivePosition[] | null> {
  const waypoints: ArchivePosition[] = [];
  let after: ArchivePosition | undefined;
  let previous: ArchivePosition | undefined;
  for (let taken = 0; run.error === undefined; taken++) {
    const batch = await archiveOne(run, run.cutoff, after);
    if (batch.last === null) return taken === 0 ? null : waypoints;
    after = previous;
    previous = batch.last;
    if ((taken + 1) % run.waypointEvery === 0) waypoints.push(batch.last);
  }
  return waypoints;
}

/**
 * A pass from the oldest event to the cut-off, in segments that end just after each
 * waypoint (so consecutive segments overlap by at most the rows of one millisecond, and
 * leave no gap whatever the timestamps' precision).
 *
 * @returns whether it found events to move.
 */
async function passInSegments(run: ArchiveRun, waypoints: readonly ArchivePosition[]): Promise<boolean> {
  let found = false;
  const starts = [undefined, ...waypoints];
  for (let i = 0; i < starts.length && run.error === undefined; i++) {
    const end = waypoints[i];
    const before = end === undefined ? run.cutoff : new Date(Math.min(end.timestamp.getTime() + 1, run.cutoff.getTime()));
    let after = starts[i];
    while (run.error === undefined) {
      const batch = await archiveOne(run, before, after);
      if (batch.last === null) break;
      found = true;
      after = batch.last;
    }
  }
  return found;
}

/**
 * One chain of batches: a seeking pass, then passes from the oldest event until one finds
 * nothing. Those passes catch what the seeking pass could not see: an event a writer
 * added behind its position (ids, and so timestamps, are made by clients before they
 * write), and a row another archiver held that is live again because that archiver failed.
 *
 * Chains of one run are independent archivers: each skips the rows another one holds,
 * so they move disjoint rows and their counts add up exactly.
 */
async function runChain(run: ArchiveRun): Promise<void> {
  const waypoints = await seekingPass(run);
  if (waypoints === null) return;
  while (run.error === undefined && (await passInSegments(run, waypoints))) {
    // It found events: pass again, until a whole pass finds none.
  }
}

/**
 * Moves every event older than `olderThanDays` days to the archive, `batchSize` at a
 * time, each batch in its own transaction (copy, then delete), with up to
 * `concurrency` batches in flight. Safe to interrupt and to run twice or in
 * parallel: no event is lost or archived twice, and none is deleted unless it is in
 * the archive. Lock conflicts are retried with backoff.
 *
 * @example
 * ```ts
 * const { archived } = await archiveOldEvents({ olderThanDays: 90 });
 * ```
 * @throws {AuditConfigError} for bad options or no store.
 * @throws {AuditArchiveError} when a batch fails; `archived` says how many moved before.
 */
export async function archiveOldEvents(options: ArchiveOptions = {}): Promise<ArchiveResult> {
  const { olderThanDays, batchSize, concurrency } = validateArchiveLimits(options);
  const run: ArchiveRun = {
    store: storeToArchive(options.store),
    cutoff: archiveCutoff(olderThanDays),
    batchSize,
    onBatch: options.onBatch,
    waypointEvery: Math.ceil(BATCHES_PER_SEGMENT / concurrency),
    archived: 0,
    batches: 0,
    longestBatchMs: 0,
  };
  await Promise.all(
    Array.from({ length: concurrency }, () =>
      runChain(run).catch((reason: unknown) => {
        run.error ??= { reason };
      }),
    ),
  );
  // Every chain has ended here, so `archived` counts every batch that moved events.
  if (run.error !== undefined) {
    if (run.error.reason instanceof AuditConfigError) throw run.error.reason;
    throw new AuditArchiveError(run.archived, run.error.reason);
  }
  return { archived: run.archived, cutoff: run.cutoff, batches: run.batches, longestBatchMs: run.longestBatchMs };
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
