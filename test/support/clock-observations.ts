import { randomUUID } from "node:crypto";
import { PassThrough } from "node:stream";

import { parse } from "csv-parse/sync";

import { AuditContext, countEvents, exportEvents, findEvents, summarizeEvents, type AuditEventRecord, type AuditStore } from "../../src";
import type { EventSource } from "../../src/model/event-filter";

/**
 * What the read side answers about a set of events, as plain data (instants as epoch
 * milliseconds or ISO text), so that a test process and a child process with another
 * `TZ` can compare it with what the events were created at.
 */
export interface ClockObservations {
  /** getEvent (or getArchivedEvent) of each id: its timestamp. */
  byId: Record<string, number | null>;
  /** The ids `findEvents({ since: t, until: t + 1 ms })` answers for each event's instant t. */
  tight: Record<string, string[]>;
  /** `countEvents` with the same bounds. */
  tightCounts: Record<string, number>;
  /** Every event, read through cursors two at a time, oldest first: [id, timestamp]. */
  pagedAsc: Array<[string, number]>;
  /** The same, newest first. */
  pagedDesc: Array<[string, number]>;
  /** `summarizeEvents().byDay`. */
  byDay: Record<string, number>;
  /** The timestamp text each export format writes for each id. */
  exports: Record<"ndjson" | "json" | "csv", Record<string, string>>;
}

/** An event at `millis`, about the object `objectId`, for writing through a store directly. */
export function eventAt(millis: number, objectId = "1"): AuditEventRecord {
  return {
    id: randomUUID(),
    timestamp: new Date(millis),
    contentType: "Clock",
    objectId,
    content: { at: new Date(millis).toISOString() },
    userId: null,
    url: null,
    method: null,
    remoteAddr: null,
    queryParams: {},
    postData: {},
    headers: {},
    action: null, outcome: "success", severity: "info", tenantId: null, requestId: null, chainId: null, seq: null, prevHash: null, hash: null,
  };
}

/** A Prisma client's interactive transactions, as the store's `{ tx }` writes use them. */
interface TransactionRunner {
  $transaction(work: (tx: unknown) => Promise<unknown>): Promise<unknown>;
}

/**
 * Writes five events through every path a store has: Prisma `create` (one event),
 * `createMany` (two), the caller's transaction (`{ tx }`), and the bulk insert of the
 * buffered writer (`writeRows`).
 */
export async function writeEveryWay(store: AuditStore, client: object, events: readonly AuditEventRecord[]): Promise<void> {
  if (events.length !== 5) throw new Error("writeEveryWay() takes five events");
  const context = new AuditContext();
  const [one, two, three, four, five] = events as [AuditEventRecord, AuditEventRecord, AuditEventRecord, AuditEventRecord, AuditEventRecord];
  await store.insert([one], { context });
  await store.insert([two, three], { context });
  await (client as TransactionRunner).$transaction((tx) => store.insert([four], { tx, context }));
  await store.writeRows([store.toRow(five, context)]);
}

async function exported(store: AuditStore, source: EventSource, format: "ndjson" | "json" | "csv"): Promise<Record<string, string>> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on("data", (chunk: Buffer) => chunks.push(chunk));
  await exportEvents({ store, source, format, order: "asc" }, out);
  const text = Buffer.concat(chunks).toString("utf8");
  const rows: Array<{ id: string; timestamp: string }> =
    format === "csv" ? parse(text, { columns: true }) : format === "json" ? JSON.parse(text) : text.trim().split("\n").filter(Boolean).map((line) => JSON.parse(line));
  return Object.fromEntries(rows.map((row) => [row.id, row.timestamp]));
}

/** Pages a test reads at most: a cursor whose position moved (an instant read in the wrong zone) can page forever. */
const MAX_PAGES = 50;

async function paged(store: AuditStore, source: EventSource, order: "asc" | "desc"): Promise<Array<[string, number]>> {
  const seen: Array<[string, number]> = [];
  let cursor: string | undefined;
  do {
    if (seen.length >= 2 * MAX_PAGES) throw new Error(`paging ${order} did not end after ${MAX_PAGES} pages: the cursors do not advance`);
    const page = await findEvents({ store, source, order, limit: 2, ...(cursor === undefined ? {} : { cursor }) });
    seen.push(...page.events.map((event): [string, number] => [event.id, event.timestamp.getTime()]));
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
  return seen;
}

/** Asks `store` everything the read side answers about `events` (all of them in `source`). */
export async function observe(store: AuditStore, events: readonly AuditEventRecord[], source: EventSource = "live"): Promise<ClockObservations> {
  const observations: ClockObservations = {
    byId: {},
    tight: {},
    tightCounts: {},
    pagedAsc: await paged(store, source, "asc"),
    pagedDesc: await paged(store, source, "desc"),
    byDay: (await summarizeEvents({ store, source })).byDay,
    exports: { ndjson: await exported(store, source, "ndjson"), json: await exported(store, source, "json"), csv: await exported(store, source, "csv") },
  };
  for (const event of events) {
    const stored = (await store.getEvent(event.id)) ?? (await store.getArchivedEvent(event.id));
    observations.byId[event.id] = stored?.timestamp.getTime() ?? null;
    const since = event.timestamp;
    const until = new Date(since.getTime() + 1);
    observations.tight[event.id] = (await findEvents({ store, source, since, until })).events.map((found) => found.id);
    observations.tightCounts[event.id] = await countEvents({ store, source, since, until });
  }
  return observations;
}

/** What {@link observe} must answer when every instant is read as it was created (each event at its own millisecond). */
export function expectedObservations(events: readonly AuditEventRecord[]): ClockObservations {
  const asc = [...events].sort((a, b) => a.timestamp.getTime() - b.timestamp.getTime() || (a.id < b.id ? -1 : 1));
  const byDay: Record<string, number> = {};
  for (const event of events) {
    const day = event.timestamp.toISOString().slice(0, 10);
    byDay[day] = (byDay[day] ?? 0) + 1;
  }
  const texts = Object.fromEntries(events.map((event) => [event.id, event.timestamp.toISOString()]));
  return {
    byId: Object.fromEntries(events.map((event) => [event.id, event.timestamp.getTime()])),
    tight: Object.fromEntries(events.map((event) => [event.id, [event.id]])),
    tightCounts: Object.fromEntries(events.map((event) => [event.id, 1])),
    pagedAsc: asc.map((event) => [event.id, event.timestamp.getTime()]),
    pagedDesc: [...asc].reverse().map((event) => [event.id, event.timestamp.getTime()]),
    byDay,
    exports: { ndjson: texts, json: texts, csv: texts },
  };
}

/** A stored instant read as text or number, in UTC whatever the session: epoch ms, ISO text with an offset, or MySQL's DATETIME text. */
function instantOfText(value: unknown): number {
  if (typeof value === "number") return value;
  const text = String(value);
  if (/^\d+$/.test(text)) return Number(text);
  return Date.parse(/[zZ]|[+-]\d{2}:\d{2}$/.test(text) ? text : `${text.replace(" ", "T")}Z`);
}

/** What the tables hold, read with SQL that no session setting moves: the database's own truth. */
export interface StoredInstants {
  live: Record<string, number>;
  archived: Record<string, { timestamp: number; archivedAt: number }>;
}

/** Reads {@link StoredInstants} of the reference tables through `client`'s raw SQL. */
export async function storedInstants(
  client: { $queryRawUnsafe<T>(sql: string): Promise<T> },
  provider: "postgresql" | "mysql" | "sqlite",
): Promise<StoredInstants> {
  const q = (name: string) => (provider === "mysql" ? `\`${name}\`` : `"${name}"`);
  const asText = (column: string) =>
    provider === "postgresql" ? `(extract(epoch from ${q(column)}) * 1000)::float8` : `CAST(${q(column)} AS ${provider === "mysql" ? "CHAR" : "TEXT"})`;
  const id = provider === "postgresql" ? `${q("id")}::text` : q("id");
  const live = await client.$queryRawUnsafe<Array<{ id: string; ts: unknown }>>(`SELECT ${id} AS id, ${asText("timestamp")} AS ts FROM ${q("audit_events")}`);
  const archived = await client.$queryRawUnsafe<Array<{ id: string; ts: unknown; at: unknown }>>(
    `SELECT ${id} AS id, ${asText("timestamp")} AS ts, ${asText("archivedAt")} AS at FROM ${q("archived_audit_events")}`,
  );
  return {
    live: Object.fromEntries(live.map((row) => [row.id, instantOfText(row.ts)])),
    archived: Object.fromEntries(archived.map((row) => [row.id, { timestamp: instantOfText(row.ts), archivedAt: instantOfText(row.at) }])),
  };
}
