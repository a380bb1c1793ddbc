import { getAuditConfig } from "../config/configure";
import { resolveContentObject } from "../content-object";
import type { AuditEventRecord } from "../model/event-record";
import type { AuditQuery, FindEventsQuery } from "./audit-query";
import type { EventFilter, EventOrder, EventPosition, EventSummary } from "../model/event-filter";
import { cursorKey, decodeCursor, encodeCursor, processCursorKey, type CursorKey, type CursorSecret } from "./cursor";
import { parseEventFilter, parseOrder, parsePageSize, readableStore } from "./parse-query";
import { AuditQueryError } from "./query-error";
import type { AuditStore } from "../stores/store";

/** Events per page that {@link iterateEvents} and exports read. */
export const ITERATION_PAGE_SIZE = 1000;

/** One page of {@link findEvents}. */
export interface EventPage {
  /** The events of this page, in the query's order. */
  events: AuditEventRecord[];
  /** Pass it as `cursor` to read the next page; null on the last page. */
  nextCursor: string | null;
}

/** A query checked once: its store, filters and order. */
export interface PreparedQuery {
  store: AuditStore;
  filter: EventFilter;
  order: EventOrder;
}

/**
 * Checks a query and resolves its store.
 *
 * @throws {AuditQueryError} when a field is wrong.
 * @throws {AuditConfigError} when no store can read.
 */
export function prepareQuery(query: AuditQuery = {}): PreparedQuery {
  const filter = parseEventFilter(query);
  return { filter, order: parseOrder(query?.order), store: readableStore(query?.store, () => getAuditConfig().store) };
}

let derived: { secret: CursorSecret; key: CursorKey } | undefined;

/**
 * The key cursors are signed with: `secret`'s, else that of the configured
 * `cursorSecret`, else this process's own random one.
 *
 * @example
 * ```ts
 * const page = await findPage({ userId: "u1" }, cursorKeyFor());
 * ```
 */
export function cursorKeyFor(secret: CursorSecret | undefined = getAuditConfig().cursorSecret): CursorKey {
  if (secret === undefined) return processCursorKey();
  if (derived?.secret !== secret) derived = { secret, key: cursorKey(secret) };
  return derived.key;
}

/**
 * Reads one page of matching events, newest first unless `order: "asc"`. Pages are
 * keyset-paginated on `(timestamp, id)`: page 10 000 costs what page 1 costs, and
 * events written while you page never make one appear twice. `nextCursor` is signed
 * with the configured `cursorSecret` (else a key of this process), so it reads on
 * only with the same filters and order, and cannot be forged or altered.
 *
 * @example
 * ```ts
 * let page = await findEvents({ contentType: "Order", objectId: "42", limit: 20 });
 * while (page.nextCursor) page = await findEvents({ contentType: "Order", objectId: "42", limit: 20, cursor: page.nextCursor });
 * ```
 * @throws {AuditQueryError} `ERR_AUDIT_QUERY` for a wrong field, `ERR_AUDIT_CURSOR` for a cursor of another query.
 * @throws {AuditStoreError} when the store cannot read.
 */
export async function findEvents(query: FindEventsQuery = {}): Promise<EventPage> {
  return findPage(query, cursorKeyFor());
}

/**
 * {@link findEvents} with cursors signed and checked under `key`: for the router and
 * the command line, which hold keys of their own.
 *
 * @example
 * ```ts
 * const { events, nextCursor } = await findPage({ store, limit: 20, cursor }, config.cursorKey);
 * ```
 * @throws {AuditQueryError} `ERR_AUDIT_QUERY` for a wrong field, `ERR_AUDIT_CURSOR` for a cursor of another query or key.
 */
export async function findPage(query: FindEventsQuery, key: CursorKey): Promise<EventPage> {
  const { store, filter, order } = prepareQuery(query);
  const limit = parsePageSize(query?.limit);
  const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor, filter, order, key);
  return readPage(store, filter, order, limit, key, after);
}

/** Reads a page and makes its cursor, reading one extra event to know whether more follow. */
export async function readPage(store: AuditStore, filter: EventFilter, order: EventOrder, limit: number, key: CursorKey, after?: EventPosition): Promise<EventPage> {
  const events = await store.queryEvents(filter, { order, limit: limit + 1, ...(after === undefined ? {} : { after }) });
  if (events.length <= limit) return { events, nextCursor: null };
  events.length = limit;
  return { events, nextCursor: encodeCursor(filter, order, events[limit - 1]!, key) };
}

/**
 * Counts the matching events.
 *
 * @example
 * ```ts
 * const refunds = await countEvents({ action: "refund", since: new Date("2026-01-01") });
 * ```
 * @throws {AuditQueryError} when a field is wrong.
 */
export async function countEvents(query: AuditQuery = {}): Promise<number> {
  const { store, filter } = prepareQuery(query);
  return store.countEvents(filter);
}

/**
 * Reads every page of a prepared query through `read`. The next page is requested as
 * soon as one arrives, so the database reads it while the caller works on this one:
 * at most two pages are held at a time.
 */
export async function* readPages<Page>(
  read: (after: EventPosition | undefined) => Promise<Page>,
  lastOf: (page: Page) => EventPosition | undefined,
  sizeOf: (page: Page) => number,
  pageSize: number,
): AsyncGenerator<Page> {
  let pending = read(undefined);
  for (;;) {
    const page = await pending;
    const last = sizeOf(page) === pageSize ? lastOf(page) : undefined;
    if (last !== undefined) {
      pending = read(last);
      // Should the caller stop early, a failure of the page read ahead is not theirs.
      pending.catch(() => undefined);
    }
    yield page;
    if (last === undefined) return;
  }
}

/** Reads every event of a prepared query, page by page (see {@link readPages}). */
export async function* iteratePrepared({ store, filter, order }: PreparedQuery, pageSize = ITERATION_PAGE_SIZE): AsyncGenerator<AuditEventRecord> {
  const read = (after: EventPosition | undefined) => store.queryEvents(filter, { order, limit: pageSize, ...(after === undefined ? {} : { after }) });
  for await (const events of readPages(read, (events) => events.at(-1), (events) => events.length, pageSize)) yield* events;
}

/**
 * Every matching event, for `for await`: read in pages of 1000, so memory stays flat
 * however many there are. The query is checked when iteration starts.
 *
 * @example
 * ```ts
 * for await (const event of iterateEvents({ userId: "u1", order: "asc" })) console.log(event.id);
 * ```
 * @throws {AuditQueryError} when a field is wrong.
 */
export function iterateEvents(query: AuditQuery = {}): AsyncIterable<AuditEventRecord> {
  return {
    [Symbol.asyncIterator]: () => iteratePrepared(prepareQuery(query)),
  };
}

/**
 * Counts the matching events in total, by content type, by user, by UTC day, by
 * action, by outcome and by severity. Users and actions that are null are not counted.
 *
 * @example
 * ```ts
 * const { total, byDay } = await summarizeEvents({ since: new Date(Date.now() - 7 * 86_400_000) });
 * const { byOutcome } = await summarizeEvents({ tenantId: "acme", action: "user.login" }); // { success: 812, failure: 37 }
 * ```
 * @throws {AuditQueryError} when a field is wrong.
 */
export async function summarizeEvents(query: AuditQuery = {}): Promise<EventSummary> {
  const { store, filter } = prepareQuery(query);
  return store.summarizeEvents(filter);
}

/**
 * The events of one user: what they did, newest first (cased-python's `list_by_actor`).
 *
 * @example
 * ```ts
 * const { events, nextCursor } = await eventsOfUser("user-7", { limit: 20 });
 * ```
 * @throws {AuditQueryError} when a field is wrong.
 */
export async function eventsOfUser(userId: string, query: Omit<FindEventsQuery, "userId"> = {}): Promise<EventPage> {
  // Without this check an undefined id would drop the filter and list everyone's events.
  if (typeof userId !== "string") throw new AuditQueryError(`eventsOfUser() needs a user id string, not ${typeof userId}.`);
  return findEvents({ ...query, userId });
}

/**
 * The whole history of one object: every event about it, oldest first unless
 * `order` says otherwise, for `for await`. Read in pages of 1000, so memory stays flat
 * however long the history is. The object takes the forms `createEvent` takes: a
 * reference `{ contentType, objectId }`, a record of a client extended with
 * `auditModels()`, a class instance with an `id`, or what `contentTypeResolver`
 * names. The object is named at once; the rest of the query is checked when
 * iteration starts.
 *
 * @example
 * ```ts
 * for await (const event of historyOf(order)) console.log(event.timestamp.toISOString(), event.action);
 * const refunds = [];
 * for await (const event of historyOf({ contentType: "Order", objectId: 42 }, { action: "refund" })) refunds.push(event);
 * ```
 * @throws {AuditError} `ERR_AUDIT_CONTENT_OBJECT` when the object cannot be named.
 * @throws {AuditQueryError} `ERR_AUDIT_QUERY` when the query names `contentType` or `objectId` (the object does), or a field is wrong.
 */
export function historyOf(object: unknown, query: Omit<AuditQuery, "contentType" | "objectId"> = {}): AsyncIterable<AuditEventRecord> {
  const { contentType, objectId } = resolveContentObject(object, getAuditConfig().contentTypeResolver);
  // A query's own contentType or objectId would be overwritten silently, or widen the history to another object.
  for (const field of ["contentType", "objectId"]) {
    if (typeof query === "object" && query !== null && Object.hasOwn(query, field)) {
      throw new AuditQueryError(`historyOf() takes the object as its first argument; leave ${field} out of the query.`);
    }
  }
  return iterateEvents({ order: "asc", ...query, contentType, objectId });
}
