import { setTimeout as sleep } from "node:timers/promises";

import { AuditContext, AuditStoreError, closeAudit, configureAudit, flushAudit, prismaStore, verifyAuditTrail } from "../../src";
import { newEventIdentity } from "../../src/model/event-record";
import type { EventRow } from "../../src/stores/store";
import { isTimeLimit } from "../../src/stores/store-failure";
import { sampleRecord } from "../conformance/store-conformance";
import { connectClient, openDatabase, type Provider, type TestDatabase } from "../support/databases";

/**
 * A database that cannot write a whole batch within its time limit (here its own
 * statement limit of 400 ms, and a trigger that takes 50 ms a row: up to 7 rows a
 * statement go in) must still get every event. The buffered writer read the failure as
 * an outage and retried the same batch, which failed the same way at every retry: nothing
 * stored, for ever. A write that runs out of time now makes the writer's writes smaller
 * (half that write's weight), retried after its pause.
 * Everything here is real: the server's own limit stops the statement (PostgreSQL's
 * `statement_timeout`, SQLSTATE 57014; MariaDB's `max_statement_time`, error 1969) and
 * Prisma reports it.
 */
const KEY = "write-time-limit-key-0123456789abcdef";

/** Per database: the trigger that makes each row take 50 ms, and the client options that limit a statement to 400 ms. */
const SLOW = {
  postgresql: {
    trigger: [
      `CREATE FUNCTION slow_row() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.05); RETURN NEW; END $$`,
      `CREATE TRIGGER slow_row BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION slow_row()`,
    ],
    limited: { options: "-c statement_timeout=400" },
  },
  mysql: {
    trigger: ["CREATE TRIGGER slow_row BEFORE INSERT ON audit_events FOR EACH ROW SET @slept = SLEEP(0.05)"],
    limited: { initSql: "SET SESSION max_statement_time = 0.4" },
  },
} as const;

type Raw = { $executeRawUnsafe(sql: string): Promise<number>; $queryRawUnsafe<T>(sql: string): Promise<T>; $disconnect(): Promise<void> };

/** Flushes until a flush writes everything: a failed one leaves its events to the writer's next try. */
async function flushUntilStored(): Promise<void> {
  for (;;) {
    try {
      return await flushAudit();
    } catch (error) {
      if (!(error instanceof AuditStoreError)) throw error;
      await sleep(100);
    }
  }
}

async function within<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no progress in ${ms} ms: the writer retries the same batch`)), ms)));
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

jest.setTimeout(120_000);

/** A database of `provider` whose rows take 50 ms each to insert, and a client on it whose statements are limited to 400 ms. */
function slowDatabase(provider: "postgresql" | "mysql") {
  const opened = { db: undefined as unknown as TestDatabase, limited: undefined as unknown as Raw };
  beforeAll(async () => {
    opened.db = await openDatabase(provider as Provider, { name: "write_time_limit" });
    for (const sql of SLOW[provider].trigger) await (opened.db.prisma as unknown as Raw).$executeRawUnsafe(sql);
    opened.limited = connectClient(opened.db, SLOW[provider].limited) as unknown as Raw;
  });
  afterEach(async () => {
    await closeAudit();
    configureAudit({});
    await opened.db.reset();
  });
  afterAll(async () => {
    await opened.limited?.$disconnect();
    await opened.db?.close();
  });
  return opened;
}

describe.each(["postgresql", "mysql"] as const)("a statement limit on %s", (provider) => {
  const slow = slowDatabase(provider);

  it("is what the writer meets: a write of 20 rows is stopped, and read as a time limit; a refused row is not", async () => {
    const store = prismaStore(slow.limited as never);
    const rows = Array.from({ length: 20 }, (_, i) => store.toRow({ ...sampleRecord(), ...newEventIdentity(), objectId: String(i) }, { extraData: {} }) as EventRow);
    const error = await store.writeRows!(rows).then(
      () => "written",
      (e: unknown) => e,
    );
    expect(isTimeLimit(error)).toBe(true);
    expect(isTimeLimit(await store.writeRows!([{ ...rows[0]!, timestamp: null } as unknown as EventRow]).catch((e: unknown) => e))).toBe(false);
  });
});

// PostgreSQL's bulk insert sends large events in statements of about 128 KiB (here 5 rows),
// so there a large write meets only its transaction's 60 s limit: that error's path through
// the writer is in test/writer/bounded-write-progress.test.ts. MariaDB's statements hold up
// to 2 MiB (here about 80 rows), so its statement limit is met.
describe("a buffered batch under MariaDB's max_statement_time", () => {
  const slow = slowDatabase("mysql");

  it.each([
    { integrity: false, note: 25_000 },
    { integrity: true, note: 25_000 },
    // Small events: what a row costs here is the trigger's time, not its bytes.
    { integrity: false, note: 0 },
  ])("is stored, each event once, though no statement of more than 7 rows finishes in time (integrity: $integrity, notes of $note characters)", async ({ integrity, note }) => {
    const warnings: string[] = [];
    configureAudit({
      store: prismaStore(slow.limited as never),
      writeMode: "buffered",
      flushIntervalMs: 600_000,
      logger: { warn: (message: string) => void warnings.push(message) },
      ...(integrity ? { integrity: { key: KEY } } : {}),
    });
    const ctx = new AuditContext();
    const created = [];
    for (let i = 0; i < 40; i++) created.push(await ctx.createEvent({ contentType: "Order", objectId: i }, { total: i, note: "x".repeat(note) }));
    await within(60_000, flushUntilStored());
    const stored = await (slow.db.prisma as unknown as Raw).$queryRawUnsafe<{ id: string; objectId: string }[]>("SELECT id, objectId FROM audit_events");
    expect(stored.sort((a, b) => Number(a.objectId) - Number(b.objectId)).map((r) => String(r.id))).toEqual(created.map((e) => e.id));
    // Smaller each time: 40 events (stopped), about 20 (stopped), about 10 (stopped), then about 5.
    expect(warnings.filter((m) => /ran out of time; the next write holds at most/.test(m)).length).toBeGreaterThanOrEqual(2);
    if (integrity) expect(await verifyAuditTrail({ store: prismaStore(slow.db.prisma as never), key: KEY })).toMatchObject({ ok: true, problems: [], verified: 40 });
  });
});
