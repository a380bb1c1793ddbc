import { AuditError, AuditStoreError } from "../errors";
import type { AuditEventRecord } from "../event-record";
import type { AuditStore, InsertOptions } from "./store";

/** A store that keeps events in this process's memory: for tests and demos. */
export interface MemoryStore extends AuditStore {
  /** Every stored event, oldest first, as copies. */
  list(): AuditEventRecord[];
  /** Forgets every event. */
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
    async getEvent(id: string): Promise<AuditEventRecord | null> {
      const event = events.get(id);
      return event === undefined ? null : structuredClone(event);
    },
    list: () => [...events.values()].map((event) => structuredClone(event)),
    clear: () => events.clear(),
  };
}
