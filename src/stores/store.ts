import type { ArchivedAuditEventRecord, AuditEventRecord } from "../model/event-record";
import type { EventFilter, EventPageRequest, EventSummary, JsonEventPage } from "../model/event-filter";
import type { ChainPageRequest, ChainRow, ChainStreamRequest, CheckpointPageRequest, UnsignedEvents, UnsignedRequest } from "../model/chain-read";
import type { AuditCheckpointRecord, CheckpointQuery } from "../model/checkpoint";

/**
 * What a store may read of the context an event was created in. `AuditContext` (the
 * request layer) satisfies it; the store contract names only this shape, so stores
 * depend on nothing above the model.
 */
export interface EventOrigin {
  /** The context's `extraData`, merged into every event's content. */
  readonly extraData: Record<string, unknown>;
}

/** What a store receives along with the events it writes. */
export interface InsertOptions {
  /**
   * A Prisma transaction client: the events must be written through it, so that
   * they commit and roll back with the caller's transaction.
   */
  tx?: unknown;
  /** The context the events were created in, for stores that fill extra columns. */
  context: EventOrigin;
  /**
   * The events are rows made by `toRow` already (chained ones, whose hash covers what
   * `toRow` filled): write them as they are.
   */
  prepared?: boolean;
}

/** The (timestamp, id) key of an event: where an archival pass has got to. */
export interface ArchivePosition {
  readonly timestamp: Date;
  readonly id: string;
}

/** What one {@link AuditStore.archiveBatch} call did. */
export interface ArchiveBatchResult {
  /** Events this batch moved into the archive. */
  moved: number;
  /**
   * The key of the newest event this batch took, to pass as `after` to the next
   * batch; null when it found no event to take, which ends the pass.
   */
  last: ArchivePosition | null;
}

/**
 * An event as a store writes it: the event's fields, plus the extra columns a
 * user's own model fills (see `prismaStore`'s `toRecord`).
 */
export type EventRow = AuditEventRecord & { readonly [column: string]: unknown };

/**
 * Where events are kept. Small on purpose: `prismaStore()` and `memoryStore()`
 * implement it, and every implementation must pass the conformance suite in
 * `test/conformance/`.
 */
export interface AuditStore {
  /** A short name for messages, e.g. `"prisma(auditEvent)"`. */
  readonly name: string;
  /**
   * Writes the events, all or none. Resolves once they are committed (or, with
   * `tx`, written in that transaction).
   *
   * @throws {AuditStoreError} when the store cannot take them: `ERR_AUDIT_DUPLICATE_ID`
   * for an id stored already; `ERR_AUDIT_STORE` naming the clash when a chained event's
   * `(chainId, seq)` is held by another event (outside a transaction), so that the writer
   * ends that chain instead of reusing the position.
   */
  insert(events: readonly AuditEventRecord[], options: InsertOptions): Promise<void>;
  /**
   * The row that will be written for `event`: the event plus any extra columns,
   * computed from `context` now. Buffered and spooled events are turned into rows
   * when they are created, so they keep their context's values.
   *
   * @throws {AuditError} `ERR_AUDIT_CONFIG` when the extra columns are unusable.
   */
  toRow(event: AuditEventRecord, context: EventOrigin): EventRow;
  /**
   * Writes rows outside any caller's transaction, all or none, the fastest way
   * the store allows. An id already stored is skipped, not an error, so a retry
   * or a replay never duplicates an event. Chained rows (with `chainId`) are skipped
   * only when stored exactly so (same id, `(chainId, seq)` and `hash`): a skipped row
   * would leave its chain a hole, so a position held by another event, or the id
   * stored at another position, fails the batch (see `storedReplays`).
   *
   * @throws {AuditStoreError} when the store cannot take them; `ERR_AUDIT_STORE` naming
   * the clash for chained rows that clash with stored ones (nothing written).
   */
  writeRows(rows: readonly EventRow[]): Promise<void>;
  /** Reads one live event by id, or null. */
  getEvent(id: string): Promise<AuditEventRecord | null>;
  /** Reads one archived event by id, or null. */
  getArchivedEvent(id: string): Promise<ArchivedAuditEventRecord | null>;
  /**
   * Moves up to `limit` live events whose timestamp is before `before` into the
   * archive, oldest first (by timestamp, then id), in one transaction. With `after`,
   * only events whose (timestamp, id) comes after it are considered, so a run can
   * continue where its previous batch ended instead of scanning from the oldest
   * event again. Every event it removes from the live table is in the archive when
   * it resolves; concurrent calls move disjoint events (an event another call holds
   * is skipped, not waited for).
   *
   * @throws {AuditStoreError} when the store cannot move them; nothing moved then.
   */
  archiveBatch(before: Date, limit: number, after?: ArchivePosition): Promise<ArchiveBatchResult>;
  /** Counts live events whose timestamp is before `before`. */
  countLiveBefore(before: Date): Promise<number>;

  // Reading. `findEvents()`, `iterateEvents()`, `exportEvents()` and the HTTP router
  // check their input and call these with a parsed filter.
  /**
   * Reads one page of the events matching `filter` (from the live table, the archive
   * or both, as `filter.source` says), ordered by timestamp then id, strictly after
   * `page.after` in that order, at most `page.limit` of them. Only the stored fields
   * are returned, never the extra columns of a user's own model.
   *
   * @throws {AuditStoreError} when the store cannot read.
   */
  queryEvents(filter: EventFilter, page: EventPageRequest): Promise<AuditEventRecord[]>;
  /**
   * Optional: the page `queryEvents` reads, each event already as JSON text, for
   * exports. A store that can have its database write the JSON saves parsing and
   * re-serializing every JSON column; `JSON.parse` of each text must equal the record
   * as `JSON.stringify` writes it (the timestamp as an ISO string).
   *
   * @throws {AuditStoreError} when the store cannot read.
   */
  queryEventsAsJson?(filter: EventFilter, page: EventPageRequest): Promise<JsonEventPage>;
  /** Counts the events matching `filter`. */
  countEvents(filter: EventFilter): Promise<number>;
  /**
   * Counts the events matching `filter` in total, by content type, user, UTC day, action,
   * outcome and severity (a store whose model lacks an event-model column counts none by it).
   */
  summarizeEvents(filter: EventFilter): Promise<EventSummary>;

  // Tamper evidence (see docs/integrity.md). A store without these cannot keep hash
  // chains: `configureAudit({ integrity })` refuses it.
  /**
   * Optional: throws when the store cannot keep hash chains (a model without the chain
   * columns or the checkpoint model). Called by `configureAudit()` when `integrity` is
   * configured, so the problem shows at start-up rather than at the first write.
   *
   * @throws {AuditConfigError} `ERR_AUDIT_STORE_SCHEMA` naming the migration.
   */
  requireIntegrity?(): void;
  /**
   * Optional: writes a checkpoint; with `tx`, in that transaction. A checkpoint already
   * stored at the same chain and seq is an error.
   *
   * @throws {AuditStoreError} when the store cannot take it.
   */
  insertCheckpoint?(checkpoint: AuditCheckpointRecord, options?: { tx?: unknown }): Promise<void>;
  /**
   * Optional: the checkpoints matching `query`, ordered by `createdAt`, then `chainId`,
   * then `seq`.
   *
   * @throws {AuditStoreError} when the store cannot read.
   */
  readCheckpoints?(query?: CheckpointQuery): Promise<AuditCheckpointRecord[]>;
  /**
   * Optional: which of `ids` the live or the archive table holds. A writer that retries
   * or replays events asks it before chaining them, so an event already stored is never
   * given a second chain position.
   *
   * @throws {AuditStoreError} when the store cannot read.
   */
  storedIds?(ids: readonly string[]): Promise<Set<string>>;
  // Integrity. `verifyAuditTrail()` and `audit-events verify` / `checkpoints` need these;
  // a store without them cannot be verified, and says so.
  /**
   * Optional: one page of the hash chains as one sequence, signed events of the source's
   * tables and the checkpoints, in `(chainId, seq, part)` order (see {@link ChainPageRequest}).
   * Reads in pages through the `(chainId, seq)` indexes, so memory stays bounded.
   *
   * @throws {AuditStoreError} when the store cannot read.
   */
  readChainPage?(request: ChainPageRequest): Promise<ChainRow[]>;
  /**
   * Optional, preferred by `verifyAuditTrail()` when present: the whole chain sequence of
   * the request in one read (one snapshot), as text in chunks of whole rows (see
   * {@link ChainStreamRequest}), which threads can parse and hash while the next chunks
   * are read. A Prisma store on PostgreSQL has it when given a `pgPool`.
   *
   * @throws {AuditStoreError} when the store cannot read.
   */
  readChainText?(request: ChainStreamRequest): AsyncIterable<Uint8Array>;
  /**
   * Optional: one page of checkpoints in `(createdAt, chainId, seq)` order, for copying them
   * out of the database (`audit-events checkpoints`).
   *
   * @throws {AuditStoreError} when the store cannot read.
   */
  readCheckpointPage?(request: CheckpointPageRequest): Promise<AuditCheckpointRecord[]>;
  /**
   * Optional: how many events of the source carry no chain fields, and the oldest and the
   * newest of them.
   *
   * @throws {AuditStoreError} when the store cannot read.
   */
  countUnsigned?(request: UnsignedRequest): Promise<UnsignedEvents>;
}
