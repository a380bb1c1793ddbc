import { AuditError, AuditStoreError } from "../errors";
import type { ArchivedAuditEventRecord, AuditEventRecord } from "../model/event-record";
import type { EventFilter, EventPageRequest, EventSummary } from "../model/event-filter";
import type { AuditCheckpointRecord, CheckpointQuery } from "../model/checkpoint";
import { comparePositions, isAfter, matchesFilter } from "../query/match-event";
import { tallySummary } from "../query/tally-summary";
import { storedRecord } from "./stored-record";
import type { ArchiveBatchResult, ArchivePosition, AuditStore, EventRow, InsertOptions } from "./store";
import type { ChainPageRequest, ChainRow, CheckpointPageRequest, UnsignedEvents, UnsignedRequest } from "../model/chain-read";
import { isChainedBatch, storedReplays, type StoredPosition } from "./chain-conflict";
import { memoryChainPage, memoryCheckpointPage, memoryUnsignedEvents, type MemoryTables } from "./memory-chain-read";

/** A store that keeps events in this process's memory: for tests and demos. */
export interface MemoryStore extends AuditStore {
  /** Every live event, in the order written, as copies. */
  list(): AuditEventRecord[];
  /** Every archived event, in the order archived, as copies. */
  listArchived(): ArchivedAuditEventRecord[];
  /** Every checkpoint, in the order written, as copies. */
  listCheckpoints(): AuditCheckpointRecord[];
  /** Forgets every event, live and archived, and every checkpoint. */
  clear(): void;
}

/**
 * Creates a store that keeps events in memory. Events are copied in and out, so
 * changing a returned record never changes what is stored. It keeps every stored
 * field, the event model's included; a row without them (spooled by a version before
 * them) reads back as the database's defaults would give it. It cannot take part in a
 * database transaction: `opts.tx` is refused. Like the database's unique index, it keeps
 * each chain position `(chainId, seq)` of the live events for one event, and it reads
 * hash chains, so `verifyAuditTrail({ store })` checks what it holds.
 *
 * @example
 * ```ts
 * const store = memoryStore();
 * configureAudit({ store });
 * // ... exercise the app ...
 * expect(store.list()).toHaveLength(1);
 * ```
 */
export function memoryStore(): MemoryStore {
  const events = new Map<string, AuditEventRecord>();
  const archived = new Map<string, ArchivedAuditEventRecord>();
  const checkpoints = new Map<string, AuditCheckpointRecord>();
  /** The live event at each chain position, `"<chainId>#<seq>"` to id: the unique `(chainId, seq)` index of the table. */
  const positions = new Map<string, string>();
  const positionOf = (event: { chainId: string | null; seq: number | null }) => `${event.chainId}#${event.seq}`;
  const tables: MemoryTables = { live: events, archived, checkpoints };
  /** The live events holding one of the ids or chain positions of `rows`, for `storedReplays`. */
  function held(rows: readonly AuditEventRecord[]): StoredPosition[] {
    const found = new Map<string, AuditEventRecord>();
    for (const row of rows) {
      const byId = events.get(row.id);
      if (byId !== undefined) found.set(byId.id, byId);
      const atPosition = positions.get(positionOf(row));
      if (atPosition !== undefined) found.set(atPosition, events.get(atPosition)!);
    }
    return [...found.values()].map(({ id, chainId, seq, hash }) => ({ id, chainId, seq, hash }));
  }
  /** The chained `rows` stored already exactly so, to skip (see `storedReplays`, which throws on a clash). */
  function replaysOf(rows: readonly AuditEventRecord[]): Set<string> {
    const stored = held(rows);
    return stored.length === 0 ? new Set() : storedReplays("memory", rows, stored);
  }
  function put(row: AuditEventRecord): void {
    const record = structuredClone(storedRecord(row));
    events.set(record.id, record);
    if (record.chainId !== null) positions.set(positionOf(record), record.id);
  }
  const byAge = comparePositions;
  /** The matching events of the filter's source, as stored fields only. */
  function* matching(filter: EventFilter): Generator<AuditEventRecord> {
    if (filter.source !== "archive") for (const event of events.values()) if (matchesFilter(event, filter)) yield event;
    if (filter.source !== "live") {
      for (const { archivedAt: _archivedAt, ...event } of archived.values()) if (matchesFilter(event, filter)) yield event;
    }
  }
  return {
    name: "memory",
    async insert(batch: readonly AuditEventRecord[], options: InsertOptions): Promise<void> {
      if (options.tx !== undefined) {
        throw new AuditError("ERR_AUDIT_TX_UNSUPPORTED", "memoryStore() cannot write inside a database transaction: use prismaStore(prisma) for events written with { tx }.");
      }
      for (const event of batch) {
        if (events.has(event.id)) {
          throw new AuditStoreError(`memory: an event with id ${event.id} is stored already`, { code: "ERR_AUDIT_DUPLICATE_ID" });
        }
      }
      if (isChainedBatch(batch)) replaysOf(batch);
      for (const event of batch) put(event);
    },
    toRow: (event: AuditEventRecord): EventRow => ({ ...event }),
    async writeRows(rows: readonly EventRow[]): Promise<void> {
      // A chained row is skipped only when stored at its own position: anything else would leave its chain a hole.
      const replays = isChainedBatch(rows) ? replaysOf(rows) : undefined;
      for (const row of rows) if (replays === undefined ? !events.has(row.id) : !replays.has(row.id)) put(row);
    },
    async getEvent(id: string): Promise<AuditEventRecord | null> {
      const event = events.get(id);
      return event === undefined ? null : structuredClone(event);
    },
    async getArchivedEvent(id: string): Promise<ArchivedAuditEventRecord | null> {
      const event = archived.get(id);
      return event === undefined ? null : structuredClone(event);
    },
    async archiveBatch(before: Date, limit: number, after?: ArchivePosition): Promise<ArchiveBatchResult> {
      const batch = [...events.values()]
        .filter((e) => e.timestamp < before && (after === undefined || byAge(e, after) > 0))
        .sort(byAge)
        .slice(0, limit);
      const archivedAt = new Date();
      for (const event of batch) {
        if (!archived.has(event.id)) archived.set(event.id, { ...event, archivedAt });
        events.delete(event.id);
        if (positions.get(positionOf(event)) === event.id) positions.delete(positionOf(event));
      }
      const last = batch.at(-1);
      return { moved: batch.length, last: last === undefined ? null : { timestamp: new Date(last.timestamp), id: last.id } };
    },
    async countLiveBefore(before: Date): Promise<number> {
      let count = 0;
      for (const event of events.values()) if (event.timestamp < before) count++;
      return count;
    },
    async queryEvents(filter: EventFilter, { order, limit, after }: EventPageRequest): Promise<AuditEventRecord[]> {
      const page = [...matching(filter)].filter((event) => after === undefined || isAfter(event, after, order));
      page.sort(order === "asc" ? byAge : (a, b) => byAge(b, a));
      return page.slice(0, limit).map((event) => structuredClone(event));
    },
    async countEvents(filter: EventFilter): Promise<number> {
      let count = 0;
      for (const _event of matching(filter)) count++;
      return count;
    },
    async summarizeEvents(filter: EventFilter): Promise<EventSummary> {
      return tallySummary(matching(filter));
    },
    async insertCheckpoint(checkpoint: AuditCheckpointRecord, options: { tx?: unknown } = {}): Promise<void> {
      if (options.tx !== undefined) {
        throw new AuditError("ERR_AUDIT_TX_UNSUPPORTED", "memoryStore() cannot write inside a database transaction: use prismaStore(prisma) for events written with { tx }.");
      }
      const key = `${checkpoint.chainId}#${checkpoint.seq}`;
      if (checkpoints.has(key)) throw new AuditStoreError(`memory: a checkpoint of chain ${checkpoint.chainId} at seq ${checkpoint.seq} is stored already`);
      checkpoints.set(key, structuredClone(checkpoint));
    },
    async readCheckpoints(query: CheckpointQuery = {}): Promise<AuditCheckpointRecord[]> {
      return [...checkpoints.values()]
        .filter((c) => (query.chainId === undefined || c.chainId === query.chainId) && (query.since === undefined || c.createdAt >= query.since) && (query.until === undefined || c.createdAt < query.until))
        .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.chainId < b.chainId ? -1 : a.chainId > b.chainId ? 1 : a.seq - b.seq))
        .map((c) => structuredClone(c));
    },
    async storedIds(ids: readonly string[]): Promise<Set<string>> {
      return new Set(ids.filter((id) => events.has(id) || archived.has(id)));
    },
    async readChainPage(request: ChainPageRequest): Promise<ChainRow[]> {
      return memoryChainPage(tables, request);
    },
    async readCheckpointPage(request: CheckpointPageRequest): Promise<AuditCheckpointRecord[]> {
      return memoryCheckpointPage(tables, request);
    },
    async countUnsigned(request: UnsignedRequest): Promise<UnsignedEvents> {
      return memoryUnsignedEvents(tables, request);
    },
    list: () => [...events.values()].map((event) => structuredClone(event)),
    listCheckpoints: () => [...checkpoints.values()].map((c) => structuredClone(c)),
    listArchived: () => [...archived.values()].map((event) => structuredClone(event)),
    clear: () => {
      events.clear();
      positions.clear();
      archived.clear();
      checkpoints.clear();
    },
  };
}
