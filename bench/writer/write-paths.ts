import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";

import type { Client as PgClient, Pool } from "pg";
import { from as copyFrom } from "pg-copy-streams";

import { AuditContext, closeAudit, configureAudit, prismaStore, type IntegrityOptions } from "../../src/index";
import { EVENT_FIELDS, type AuditEventRecord } from "../../src/model/event-record";
import type { TestPrismaClient } from "../../test/support/databases";

/** The Prisma client of the benchmark database. */
export type Prisma = TestPrismaClient<"postgresql">;

/** One way of writing events, timed by the caller from its call to its return. */
export type WritePath = (events: readonly AuditEventRecord[], batchSize: number) => Promise<void>;

function batches<T>(items: readonly T[], size: number): T[][] {
  return Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));
}

// Prisma's input types want its own JSON types; the records are plain JSON already.
type PrismaRow = Parameters<Prisma["auditEvent"]["create"]>[0]["data"];
const asRow = (event: AuditEventRecord) => event as unknown as PrismaRow;

/** Prisma `create`, one event per statement (and per commit): what a naive integration does. */
export function prismaCreate(prisma: Prisma): WritePath {
  return async (events) => {
    for (const event of events) await prisma.auditEvent.create({ data: asRow(event), select: { id: true } });
  };
}

/** Prisma `createMany`, one statement per batch. */
export function prismaCreateMany(prisma: Prisma): WritePath {
  return async (events, batchSize) => {
    for (const batch of batches(events, batchSize)) await prisma.auditEvent.createMany({ data: batch.map(asRow) });
  };
}

/** Our sync write path today: `prismaStore(prisma).insert(batch)`, a batch at a time. */
export function storeInsert(prisma: Prisma): WritePath {
  const store = prismaStore(prisma);
  const context = new AuditContext();
  return async (events, batchSize) => {
    for (const batch of batches(events, batchSize)) await store.insert(batch, { context });
  };
}

/**
 * The buffered writer of API.md: `createEvent` per event in a request-like context, in
 * `writeMode: "buffered"` with `maxBatchSize` = the batch size, yielding to the event loop
 * after each batch's worth (as a server does between requests), then `closeAudit()`, which
 * returns once everything is written. Ids and timestamps are the writer's own. With
 * `integrity`, every event is chained and the chain's head signed (docs/integrity.md);
 * with `pgPool`, the store writes each batch with COPY through that pool.
 */
export function bufferedWriter(prisma: Prisma, integrity?: IntegrityOptions, pgPool?: Pool): WritePath {
  return async (events, batchSize) => {
    configureAudit({ store: prismaStore(prisma, pgPool === undefined ? {} : { pgPool }), writeMode: "buffered", maxBatchSize: batchSize, integrity });
    try {
      let created = 0;
      for (const event of events) {
        const context = new AuditContext({
          user: event.userId,
          url: event.url,
          method: event.method,
          remoteAddr: event.remoteAddr,
          queryParams: event.queryParams,
          postData: event.postData,
          headers: event.headers as Record<string, string>,
        });
        await context.createEvent({ contentType: event.contentType, objectId: event.objectId }, event.content);
        // A server's requests give the event loop back between them, so flushes run while
        // events are being created; a loop that never did would time creation and writing
        // one after the other (a buffered createEvent settles without I/O).
        if (++created % batchSize === 0) await new Promise<void>((resolve) => setImmediate(resolve));
      }
      await closeAudit();
    } finally {
      configureAudit({});
    }
  };
}

/**
 * The buffered writer's store write alone: `prismaStore(prisma, { pgPool }).writeRows` of
 * each batch of rows made by `toRow`, as the writer hands them over, without `createEvent`
 * before it: what the write path moves, apart from what building the events costs.
 */
export function storeWriteRows(prisma: Prisma, pgPool: Pool): WritePath {
  const store = prismaStore(prisma, { pgPool });
  const context = new AuditContext();
  return async (events, batchSize) => {
    for (const batch of batches(events, batchSize)) await store.writeRows(batch.map((event) => store.toRow(event, context)));
  };
}

/** A value in PostgreSQL's COPY text format: `\N` for null, backslash escapes for the rest. */
function copyValue(value: unknown): string {
  if (value === null || value === undefined) return "\\N";
  const text = value instanceof Date ? value.toISOString() : typeof value === "object" ? JSON.stringify(value) : String(value);
  return text.replace(/[\\\t\n\r]/g, (c) => (c === "\\" ? "\\\\" : c === "\t" ? "\\t" : c === "\n" ? "\\n" : "\\r"));
}

const COPY_SQL = `COPY audit_events (${EVENT_FIELDS.map((f) => `"${f}"`).join(", ")}) FROM STDIN`;

/** Raw `COPY ... FROM STDIN` over one `pg` connection, one COPY per batch: the ceiling. */
export function pgCopy(pg: PgClient): WritePath {
  return async (events, batchSize) => {
    for (const batch of batches(events, batchSize)) {
      const text = batch.map((event) => EVENT_FIELDS.map((field) => copyValue(event[field])).join("\t")).join("\n") + "\n";
      await pipeline(Readable.from([text]), pg.query(copyFrom(COPY_SQL)));
    }
  };
}
