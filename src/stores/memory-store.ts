import { AuditError, AuditStoreError } from "../errors";
import type { ArchivedAuditEventRecord, AuditEventRecord } from "../event-record";
import type { ArchiveBatchResult, ArchivePosition, AuditStore, EventRow, InsertOptions } from "./store";

/** A store that keeps events in this process's memory: for tests and demos. */
export interface MemoryStore extends AuditStore {
  /** Every live event, in the order written, as copies. */
  list(): AuditEventRecord[];
  /** Every archived event, in the order archived, as copies. */
  listArchived(): ArchivedAuditEventRecord[];
  /** Forgets every event, live and archived. */
  clear(): void;
}

/**
 * Creates a store that keeps events in memory. Events are copied in and out, so
 * changing a returned record never changes what is stored. It cannot take part in a
 * database transaction: `opts.tx` is refused.
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
  const byAge = (a: ArchivePosition, b: ArchivePosition) =>
    a.timestamp.getTime() - b.timestamp.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
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
      for (const event of batch) events.set(event.id, structuredClone(event));
    },
    toRow: (event: AuditEventRecord): EventRow => ({ ...event }),
    async writeRows(rows: readonly EventRow[]): Promise<void> {
      for (const row of rows) if (!events.has(row.id)) events.set(row.id, structuredClone(row));
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
      }
      const last = batch.at(-1);
      return { moved: batch.length, last: last === undefined ? null : { timestamp: new Date(last.timestamp), id: last.id } };
    },
    async countLiveBefore(before: Date): Promise<number> {
      let count = 0;
      for (const event of events.values()) if (event.timestamp < before) count++;
      return count;
    },
    list: () => [...events.values()].map((event) => structuredClone(event)),
    listArchived: () => [...archived.values()].map((event) => structuredClone(event)),
    clear: () => {
      events.clear();
      archived.clear();
    },
  };
}
