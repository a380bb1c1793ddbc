import { AuditConfigError } from "../errors";
import type { ArchivedAuditEventRecord, AuditEventRecord } from "../model/event-record";
import type { EventFilter, EventPageRequest, EventSummary, JsonEventPage } from "../model/event-filter";
import type { AuditStore } from "../stores/store";
import { readableStore, storedTenantId } from "./parse-query";
import { AuditQueryError } from "./query-error";
import { emptySummary } from "./tally-summary";

/**
 * A read-only view of `store` that holds one tenant's events and nothing else: every
 * read it answers (pages, JSON pages, counts, summaries, from the live table, the
 * archive or both) has `tenantId` set to that tenant, a filter naming another tenant
 * matches nothing, and an event of another tenant read by id is `null`, as a missing
 * one is. The HTTP router reads through such a view when `authorize` answers
 * `{ tenantId }`, and the command line when given `--tenant`; use it for reads of
 * your own that must stay within a tenant. Writes and archival are refused: they
 * are not a tenant's to do.
 *
 * @example
 * ```ts
 * const acme = tenantScopedStore(prismaStore(prisma), "acme");
 * const { events } = await findEvents({ store: acme, action: "order.refund" }); // acme's refunds only
 * ```
 * @throws {AuditConfigError} `ERR_AUDIT_CONFIG` when `tenantId` is not a non-empty string a stored
 * tenant id can hold, or the store cannot read.
 */
export function tenantScopedStore(store: AuditStore, tenantId: string): AuditStore {
  const inner = readableStore(store, () => undefined);
  let tenant: string;
  try {
    tenant = storedTenantId(tenantId);
  } catch (error) {
    if (!(error instanceof AuditQueryError)) throw error;
    throw new AuditConfigError(`tenantScopedStore(): the tenant id is not usable: ${error.message} Pass the reader's own tenant id, such as "acme".`);
  }
  /** The filter limited to the tenant; null when it names another one, which nothing of this view matches. */
  const within = (filter: EventFilter): EventFilter | null => (filter.tenantId === undefined || filter.tenantId === tenant ? { ...filter, tenantId: tenant } : null);
  const own = <T extends AuditEventRecord>(event: T | null): T | null => (event !== null && event.tenantId === tenant ? event : null);
  const name = `tenant ${JSON.stringify(tenant)} of ${inner.name}`;
  const refusal = (what: string) => new AuditConfigError(`${name}: a tenant's view of a store only reads; ${what} through the store itself.`);
  const refuse = (what: string) => async (): Promise<never> => {
    throw refusal(what);
  };
  const view: AuditStore = {
    name,
    insert: refuse("write events"),
    toRow: () => {
      throw refusal("write events");
    },
    writeRows: refuse("write events"),
    archiveBatch: refuse("archive events"),
    countLiveBefore: refuse("count archivable events"),
    getEvent: async (id: string): Promise<AuditEventRecord | null> => own(await inner.getEvent(id)),
    getArchivedEvent: async (id: string): Promise<ArchivedAuditEventRecord | null> => own(await inner.getArchivedEvent(id)),
    async queryEvents(filter: EventFilter, page: EventPageRequest): Promise<AuditEventRecord[]> {
      const scoped = within(filter);
      return scoped === null ? [] : inner.queryEvents(scoped, page);
    },
    async countEvents(filter: EventFilter): Promise<number> {
      const scoped = within(filter);
      return scoped === null ? 0 : inner.countEvents(scoped);
    },
    async summarizeEvents(filter: EventFilter): Promise<EventSummary> {
      const scoped = within(filter);
      return scoped === null ? emptySummary() : inner.summarizeEvents(scoped);
    },
    ...(typeof inner.queryEventsAsJson === "function"
      ? {
          async queryEventsAsJson(filter: EventFilter, page: EventPageRequest): Promise<JsonEventPage> {
            const scoped = within(filter);
            return scoped === null ? { json: [] } : inner.queryEventsAsJson!(scoped, page);
          },
        }
      : {}),
  };
  return Object.freeze(view);
}
