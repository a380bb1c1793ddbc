import fc from "fast-check";
import type { Pool } from "pg";

import { prismaStore } from "../../src";
import { newEventIdentity } from "../../src/model/event-record";
import type { AuditStore, EventRow } from "../../src/stores/store";
import { BufferedWriter } from "../../src/writer/buffered-writer";
import { sampleRecord } from "../conformance/store-conformance";
import { connectClient, openDatabase, type Provider, type TestDatabase } from "../support/databases";
import { testPgPool } from "../support/test-pg-pool";
import { recordTransactions, type RecordedTransaction } from "../support/transaction-recording-adapter";

/**
 * The buffered writer hands the store its batches in writes of a bounded size, so one
 * transaction does not grow with the events': a batch of 1 000 events whose JSON columns
 * hold up to 1 MiB each, written in one transaction, outlasted the store's 60 s
 * transaction limit on a slow database, and was retried as it was, forever. What each
 * transaction sent to the database is recorded under Prisma's driver adapter.
 */
const MiB = 1024 * 1024;
/** The writer's bound when none is given: `WRITE_SLICE_BYTES`. */
const DEFAULT_BOUND = 32 * MiB;

/** Events whose content holds a note of each of `sizes` characters, in order. */
function rows(sizes: readonly number[]): EventRow[] {
  return sizes.map((size, i) => ({ ...sampleRecord(), ...newEventIdentity(), objectId: String(i), content: { note: "x".repeat(size) } }) as EventRow);
}

/** Writes `batch` to `store` as one batch of the buffered writer (no spool), whose writes hold at most `maxWriteBytes`. */
async function writeAsOneBatch(store: AuditStore, batch: readonly EventRow[], maxWriteBytes?: number): Promise<void> {
  const writer = new BufferedWriter({ store, flushIntervalMs: 600_000, maxBatchSize: 1000, maxBufferedEvents: 1000, spool: undefined, onSpoolFull: "block", logger: { warn: () => undefined }, maxWriteBytes });
  for (const row of batch) await writer.enqueue(row);
  await writer.flush();
  await writer.close();
}

jest.setTimeout(600_000);

describe.each(["postgresql", "mysql", "sqlite"] as Provider[])("buffered batches on %s", (provider) => {
  let db: TestDatabase;
  let client: { $disconnect(): Promise<void> };
  const transactions: RecordedTransaction[] = [];
  beforeAll(async () => {
    db = await openDatabase(provider, { name: "batch_byte_bound" });
    client = connectClient(db, {}, (adapter) => recordTransactions(adapter, transactions)) as typeof client;
  });
  afterAll(async () => {
    await client?.$disconnect();
    await db?.close();
  });

  /** Writes `batch` as one batch of the buffered writer (no spool), recording its transactions. */
  async function writeBatch(batch: EventRow[], maxWriteBytes?: number): Promise<RecordedTransaction[]> {
    await db.reset();
    transactions.length = 0;
    await writeAsOneBatch(prismaStore(client), batch, maxWriteBytes);
    return transactions.filter((t) => t.committed);
  }

  /**
   * The batch's ids each committed transaction wrote, in the order it was given them: as
   * arguments of their own (MariaDB, SQLite) or inside one JSON argument (PostgreSQL).
   */
  function idsOf(committed: readonly RecordedTransaction[], batch: readonly EventRow[]): string[][] {
    return committed
      .map((t) => {
        const text = t.strings.join("\n");
        const found = batch.map((r) => ({ id: r.id, at: text.indexOf(r.id) })).filter((f) => f.at >= 0);
        return found.sort((a, b) => a.at - b.at).map((f) => f.id);
      })
      .filter((written) => written.length > 0);
  }

  async function storedIds(): Promise<string[]> {
    const found = await (db.prisma as unknown as { $queryRawUnsafe<T>(sql: string): Promise<T> }).$queryRawUnsafe<{ id: string }[]>("SELECT id FROM audit_events");
    return found.map((r) => r.id).sort();
  }

  /** What every write of `batch` must show: each event stored once, in order, and no transaction of several events above `bound`. */
  async function expectBounded(batch: EventRow[], committed: RecordedTransaction[], bound: number): Promise<void> {
    const written = idsOf(committed, batch);
    expect(written.flat()).toEqual(batch.map((r) => r.id));
    expect(await storedIds()).toEqual(batch.map((r) => r.id).sort());
    const oversized = committed.map((t) => ({ bytes: t.bytes, events: idsOf([t], batch)[0]?.length ?? 0 })).filter((t) => t.bytes > bound && t.events > 1);
    expect(oversized).toEqual([]);
  }

  it("writes 40 events of 1 MB in several transactions, none above 32 MiB, and stores each once, in order", async () => {
    const batch = rows(Array.from({ length: 40 }, () => 1_000_000));
    const committed = await writeBatch(batch);
    await expectBounded(batch, committed, DEFAULT_BOUND);
    expect(idsOf(committed, batch).length).toBeGreaterThan(1);
  });

  it("holds for any event sizes and counts: no transaction of several events above the bound", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.nat({ max: 300_000 }), { minLength: 1, maxLength: 24 }), async (sizes) => {
        const batch = rows(sizes);
        await expectBounded(batch, await writeBatch(batch, MiB), MiB);
      }),
      { numRuns: 6, examples: [[Array.from({ length: 12 }, () => 300_000)]] },
    );
  });
});

describe("buffered batches on postgresql through COPY (pgPool)", () => {
  let db: TestDatabase<"postgresql">;
  let pool: Pool;
  beforeAll(async () => {
    db = await openDatabase("postgresql", { name: "batch_byte_bound_copy" });
    pool = testPgPool(db.url, { max: 2 });
  });
  afterAll(async () => {
    await pool?.end();
    await db?.close();
  });

  /**
   * The rows of each transaction that wrote them (PostgreSQL's `xmin`), in id order, and the
   * size of their text: what reached the database, whatever path it took.
   */
  async function transactions(): Promise<{ rows: number; bytes: number }[]> {
    return (db.prisma as unknown as { $queryRawUnsafe<T>(sql: string): Promise<T> }).$queryRawUnsafe<{ rows: number; bytes: number }[]>(
      "SELECT count(*)::int AS rows, sum(octet_length(row_to_json(t)::text))::float8 AS bytes FROM audit_events t GROUP BY xmin::text",
    );
  }

  it("writes 40 events of 1 MB as several transactions, none above 32 MiB, and stores each once", async () => {
    const batch = rows(Array.from({ length: 40 }, () => 1_000_000));
    await writeAsOneBatch(prismaStore(db.prisma, { pgPool: pool }), batch);
    const written = await transactions();
    expect({ rows: written.reduce((sum, t) => sum + t.rows, 0), several: written.length > 1, oversized: written.filter((t) => t.rows > 1 && t.bytes > DEFAULT_BOUND) }).toEqual({
      rows: 40,
      several: true,
      oversized: [],
    });
  });
});
