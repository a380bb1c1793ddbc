import type { AuditContext } from "../context";
import type { ArchivedAuditEventRecord, AuditEventRecord } from "../event-record";
import type { EventFilter, EventPageRequest, EventSummary, JsonEventPage } from "../query/audit-query";

/** What a store receives along with the events it writes. */
export interface InsertOptions {
  /**
   * A Prisma transaction client: the events must be written through it, so that
   * they commit and roll back with the caller's transaction.
   */
  tx?: unknown;
  /** The context the events were created in, for stores that fill extra columns. */
  context: AuditContext;
}

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
   * @throws {AuditStoreError} when the store cannot take them.
   */
  insert(events: readonly AuditEventRecord[], options: InsertOptions): Promise<void>;
  /** Reads one live event by id, or null. */
  getEvent(id: string): Promise<AuditEventRecord | null>;
  /** Reads one archived event by id, or null. */
  getArchivedEvent(id: string): Promise<ArchivedAuditEventRecord | null>;
  /**
   * Moves up to `limit` live events whose timestamp is before `before` into the
   * archive, oldest first, in one transaction, and returns how many it moved.
   * Every event it removes from the live table is in the archive when it resolves;
   * concurrent calls move disjoint events. 0 means nothing is left to move.
   *
   * @throws {AuditStoreError} when the store cannot move them; nothing moved then.
   */
  archiveBatch(before: Date, limit: number): Promise<number>;
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
  /** Counts the events matching `filter` in total, by content type, by user and by UTC day. */
  summarizeEvents(filter: EventFilter): Promise<EventSummary>;
}
