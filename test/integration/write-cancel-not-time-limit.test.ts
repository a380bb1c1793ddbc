import { setTimeout as sleep } from "node:timers/promises";
import { Client } from "pg";

import { AuditContext, AuditStoreError, closeAudit, configureAudit, flushAudit, prismaStore } from "../../src";
import { openDatabase, type TestDatabase } from "../support/databases";

/**
 * `isTimeLimit` took every SQLSTATE 57014 (query_canceled) for a
 * statement_timeout, but PostgreSQL raises 57014 too for "canceling statement due to user
 * request" (pg_cancel_backend: an operator, a watchdog, a pooler's query_timeout), which
 * says nothing about the write's size. Here one cancelled statement of a buffered write
 * made the writer halve its writes, and warn that the write "ran out of time".
 * Real PostgreSQL: a trigger of 50 ms a row, no statement_timeout, one pg_cancel_backend.
 */
type Raw = { $executeRawUnsafe(sql: string): Promise<number> };

jest.setTimeout(60_000);

let db: TestDatabase<"postgresql">;

beforeAll(async () => {
  db = await openDatabase("postgresql", { name: "write_cancel" });
  const raw = db.prisma as unknown as Raw;
  await raw.$executeRawUnsafe(`CREATE FUNCTION slow_row() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.05); RETURN NEW; END $$`);
  await raw.$executeRawUnsafe(`CREATE TRIGGER slow_row BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION slow_row()`);
});
afterAll(async () => {
  await closeAudit().catch(() => undefined);
  configureAudit({});
  await db?.close();
});

it("a statement cancelled by request is not a time limit: writes keep their size", async () => {
  const warnings: string[] = [];
  configureAudit({
    store: prismaStore(db.prisma),
    writeMode: "buffered",
    flushIntervalMs: 600_000,
    logger: { warn: (message: string) => void warnings.push(message) },
  });
  const ctx = new AuditContext();
  for (let i = 0; i < 40; i++) await ctx.createEvent({ contentType: "Order", objectId: i }, { total: i, note: "x".repeat(25_000) });
  const admin = new Client({ connectionString: db.url });
  await admin.connect();
  const flushed = flushAudit().catch((error: unknown) => error);
  let cancelled = 0;
  for (let i = 0; i < 100 && cancelled === 0; i++) {
    await sleep(20);
    const { rows } = await admin.query(
      "SELECT pg_cancel_backend(pid) AS c FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'active' AND query ILIKE '%audit_events%'",
    );
    cancelled = rows.filter((r: { c: boolean }) => r.c).length;
  }
  await admin.end();
  expect(cancelled).toBeGreaterThan(0);
  expect(await flushed).toBeInstanceOf(AuditStoreError);
  expect(warnings.filter((m) => /ran out of time/.test(m))).toEqual([]);
});
