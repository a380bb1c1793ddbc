import { CHAIN_PART_RANK, type ChainPageRequest, type ChainPart, type ChainRow, type CheckpointPageRequest, type EventKey, type UnsignedEvents, type UnsignedRequest } from "../model/chain-read";
import type { AuditCheckpointRecord } from "../model/checkpoint";
import type { EventSource } from "../model/event-filter";
import type { ArchivedAuditEventRecord, AuditEventRecord } from "../model/event-record";

/** What a memory store holds, by key: its live events, its archived ones, its checkpoints (stored objects, copied before they are handed out). */
export interface MemoryTables {
  live: ReadonlyMap<string, AuditEventRecord>;
  archived: ReadonlyMap<string, ArchivedAuditEventRecord>;
  checkpoints: ReadonlyMap<string, AuditCheckpointRecord>;
}

/** An archived event without `archivedAt`: the stored fields only, as the chain sequence carries them. */
function storedFields({ archivedAt: _archivedAt, ...event }: ArchivedAuditEventRecord): AuditEventRecord {
  return event;
}

/** The events of `source` whose timestamp is in `[since, until)`, each with the table it is in. */
function* eventsOf(tables: MemoryTables, source: EventSource, since?: Date, until?: Date): Generator<{ part: "live" | "archive"; event: AuditEventRecord }> {
  const inWindow = (event: AuditEventRecord) => (since === undefined || event.timestamp >= since) && (until === undefined || event.timestamp < until);
  if (source !== "archive") for (const event of tables.live.values()) if (inWindow(event)) yield { part: "live", event };
  if (source !== "live") for (const archived of tables.archived.values()) if (inWindow(archived)) yield { part: "archive", event: storedFields(archived) };
}

/** Orders rows of the chain sequence by `(chainId, seq, part)`, chain ids by UTF-16 code units. */
function compareKeys(a: { chainId: string; seq: number; part: ChainPart }, b: { chainId: string; seq: number; part: ChainPart }): number {
  if (a.chainId !== b.chainId) return a.chainId < b.chainId ? -1 : 1;
  return a.seq - b.seq || CHAIN_PART_RANK[a.part] - CHAIN_PART_RANK[b.part];
}

const keyOf = (row: ChainRow) => (row.part === "checkpoint" ? { ...row.checkpoint, part: row.part } : { chainId: row.event.chainId!, seq: row.event.seq!, part: row.part });

/**
 * One page of the chain sequence of a memory store: see `AuditStore.readChainPage`. It
 * sorts the whole sequence for every page, which suits the few events a memory store
 * holds. The rows are copies.
 */
export function memoryChainPage(tables: MemoryTables, request: ChainPageRequest): ChainRow[] {
  const rows: ChainRow[] = [];
  for (const { part, event } of eventsOf(tables, request.source, request.since, request.until)) if (event.chainId !== null) rows.push({ part, event });
  for (const checkpoint of tables.checkpoints.values()) if (request.since === undefined || checkpoint.createdAt >= request.since) rows.push({ part: "checkpoint", checkpoint });
  const after = request.after;
  return rows
    .filter((row) => after === undefined || compareKeys(keyOf(row), after) > 0)
    .sort((a, b) => compareKeys(keyOf(a), keyOf(b)))
    .slice(0, request.limit)
    .map((row) => structuredClone(row));
}

/** One page of a memory store's checkpoints, oldest first: see `AuditStore.readCheckpointPage`. */
export function memoryCheckpointPage(tables: MemoryTables, request: CheckpointPageRequest): AuditCheckpointRecord[] {
  const order = (a: { createdAt: Date; chainId: string; seq: number }, b: { createdAt: Date; chainId: string; seq: number }) =>
    a.createdAt.getTime() - b.createdAt.getTime() || compareKeys({ ...a, part: "checkpoint" }, { ...b, part: "checkpoint" });
  const { since, after } = request;
  return [...tables.checkpoints.values()]
    .filter((c) => (since === undefined || c.createdAt >= since) && (after === undefined || order(c, after) > 0))
    .sort(order)
    .slice(0, request.limit)
    .map((c) => structuredClone(c));
}

/** How many events of a memory store carry no chain fields, and the oldest and newest: see `AuditStore.countUnsigned`. */
export function memoryUnsignedEvents(tables: MemoryTables, request: UnsignedRequest): UnsignedEvents {
  const result: UnsignedEvents = { count: 0, first: null, last: null };
  const before = (a: EventKey, b: EventKey) => a.timestamp < b.timestamp || (a.timestamp.getTime() === b.timestamp.getTime() && a.id < b.id);
  for (const { event } of eventsOf(tables, request.source, request.since, request.until)) {
    if (event.chainId !== null) continue;
    result.count++;
    const key: EventKey = { id: event.id, timestamp: new Date(event.timestamp) };
    if (result.first === null || before(key, result.first)) result.first = key;
    if (result.last === null || before(result.last, key)) result.last = key;
  }
  return result;
}
