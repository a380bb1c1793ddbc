/**
 * Archival through `prismaStore(prisma, { pgPool })` on PostgreSQL: each batch runs on a
 * connection of the pool instead of through Prisma. The same
 * guarantees as through Prisma (test/integration/archive.test.ts): exact counts, every event
 * unchanged and in one table only, archivers and a writer at once, replayed duplicates, a
 * failed batch undone whole.
 */
import { Pool } from "pg";

import { AuditArchiveError, archiveOldEvents, prismaStore, type AuditEventRecord } from "../../src";
import { openDatabase, type TestDatabase } from "../support/databases";
import { DAY_MS, archiveRecord, duplicatesIn, idDifference, idsOf, insertRecords, seedEvents, sqlCountBefore } from "../support/archive-fixtures";
import { testPgPool } from "../support/test-pg-pool";
import { takingPartTogether } from "../support/taking-part";

const none = { missing: [], unexpected: [] };

describe("archiveOldEvents() through pgPool on postgresql", () => {
  // Typed as the suites over every provider type it (see TestPrismaClient), for the shared fixtures.
  let db: TestDatabase;
  let pool: Pool;

  beforeAll(async () => {
    db = (await openDatabase("postgresql", { name: "archive_pool" })) as unknown as TestDatabase;
    pool = testPgPool(db.url, { max: 4 });
  });
  afterAll(async () => {
    await pool?.end();
    await db?.close();
  });
  beforeEach(async () => {
    await db.reset();
  });

  it("moves exactly the events older than the cut-off, each unchanged field by field, at concurrency 1 and 2", async () => {
    for (const concurrency of [1, 2]) {
      await db.reset();
      const store = prismaStore(db.prisma, { pgPool: pool });
      const seeded = seedEvents(1_500, { days: 90, now: Date.now(), seed: 23 + concurrency });
      // Chained events too: the hash chain's columns travel with the row.
      const records = seeded.map(({ record }, i) => (i % 3 === 0 ? { ...record, chainId: `chain-${concurrency}`, seq: i + 1, prevHash: "a".repeat(64), hash: "b".repeat(64) } : record));
      await insertRecords(store, records);
      const old = records.filter((_, i) => seeded[i]!.ageDays >= 30);

      const started = Date.now();
      const result = await archiveOldEvents({ olderThanDays: 30, batchSize: 97, concurrency, store });
      const finished = Date.now();

      expect(result.archived).toBe(old.length);
      expect(await sqlCountBefore("postgresql", db.prisma, "audit_events", result.cutoff)).toBe(0);
      const rows = await db.prisma.archivedAuditEvent.findMany();
      expect(rows).toHaveLength(old.length);
      const byId = new Map(rows.map((row) => [row.id, row]));
      for (const record of old) {
        const row = byId.get(record.id);
        // Prisma reads the BigInt column seq as a bigint.
        expect(row).toEqual({ ...record, seq: record.seq == null ? null : BigInt(record.seq), archivedAt: expect.any(Date) });
        expect(row!.archivedAt.getTime()).toBeGreaterThanOrEqual(started - 1);
        expect(row!.archivedAt.getTime()).toBeLessThanOrEqual(finished + 1);
      }
      const { live } = await idsOf(db.prisma);
      expect(idDifference(live, records.filter((record) => !byId.has(record.id)).map((record) => record.id))).toEqual(none);
    }
  }, 60_000);

  it("lets an archiver through the pool, one through Prisma and a writer run at once: nothing lost, nothing twice", async () => {
    const writerStore = prismaStore(db.prisma);
    const seeded = seedEvents(4_000, { days: 200, now: Date.now(), seed: 29 });
    await insertRecords(writerStore, seeded.map((event) => event.record));
    const old = seeded.filter((event) => event.ageDays >= 30);
    const written: AuditEventRecord[] = [];
    let running = true;
    const writer = (async () => {
      for (let round = 0; running; round++) {
        const batch = Array.from({ length: 10 }, (_, i) => archiveRecord(Date.now(), { objectId: `new-${round}-${i}` }));
        await insertRecords(writerStore, batch);
        written.push(...batch);
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    })();
    // Both must take part: each one's first moving batch is done before either goes on (the
    // pool's archiver may have connections to open first, Prisma's has them already).
    const [throughPool, throughPrisma] = takingPartTogether([prismaStore(db.prisma, { pgPool: pool }), prismaStore(db.prisma)]);
    const results = await Promise.all([
      archiveOldEvents({ olderThanDays: 30, batchSize: 100, concurrency: 2, store: throughPool! }),
      archiveOldEvents({ olderThanDays: 30, batchSize: 100, store: throughPrisma! }),
    ]).finally(() => {
      running = false;
    });
    await writer;

    expect(written.length).toBeGreaterThan(0);
    expect(results[0].archived).toBeGreaterThan(0);
    expect(results[1].archived).toBeGreaterThan(0);
    expect(results[0].archived + results[1].archived).toBe(old.length);
    const { live, archived } = await idsOf(db.prisma);
    expect(duplicatesIn([...live, ...archived])).toEqual([]);
    expect(idDifference(archived, old.map((event) => event.record.id))).toEqual(none);
    expect(live.length).toBe(seeded.length - old.length + written.length);
  }, 90_000);

  it("takes an event the archive already holds (a replayed duplicate) out of the live table, keeps its archived copy, and counts it", async () => {
    const store = prismaStore(db.prisma, { pgPool: pool });
    const now = Date.now();
    const old = Array.from({ length: 120 }, (_, i) => archiveRecord(now - 60 * DAY_MS + i * 60_000, { objectId: `old-${i}` }));
    await insertRecords(store, old);
    const replayed = [old[0]!, old[75]!, ...old.slice(100)];
    const earlier = new Date(now - 20 * DAY_MS);
    await db.prisma.archivedAuditEvent.createMany({ data: replayed.map((record) => ({ ...record, archivedAt: earlier })) });

    const result = await archiveOldEvents({ olderThanDays: 30, batchSize: 50, store });

    expect(result).toMatchObject({ archived: 120, batches: 3 });
    expect(await db.prisma.auditEvent.count()).toBe(0);
    expect(await db.prisma.archivedAuditEvent.count()).toBe(120);
    const kept = await db.prisma.archivedAuditEvent.findMany({ where: { id: { in: replayed.map((record) => record.id) } } });
    expect(kept.map((row) => row.archivedAt)).toEqual(replayed.map(() => earlier));
  });

  it("shares one connection between stores of other tables and options, and leaves the connection's settings as they were", async () => {
    const single = testPgPool(db.url, { max: 1 });
    try {
      const now = Date.now();
      const records = Array.from({ length: 40 }, (_, i) => archiveRecord(now - 40 * DAY_MS + i * 1000, { objectId: `o-${i}` }));
      await insertRecords(prismaStore(db.prisma), records.slice(0, 20));
      await insertRecords(prismaStore(db.prisma, { model: "tenantAuditEvent", archiveModel: "tenantArchivedAuditEvent" }), records.slice(20));
      const reference = prismaStore(db.prisma, { pgPool: single });
      const tenant = prismaStore(db.prisma, { pgPool: single, model: "tenantAuditEvent", archiveModel: "tenantArchivedAuditEvent" });
      const relaxed = prismaStore(db.prisma, { pgPool: single, asyncArchiveCommit: true });

      expect((await archiveOldEvents({ olderThanDays: 30, batchSize: 7, store: tenant })).archived).toBe(20);
      expect((await archiveOldEvents({ olderThanDays: 30, batchSize: 7, store: reference })).archived).toBe(20);
      await insertRecords(prismaStore(db.prisma), records.slice(0, 1).map((record) => ({ ...record, id: archiveRecord(now - 40 * DAY_MS - 5).id })));
      expect((await archiveOldEvents({ olderThanDays: 30, batchSize: 7, store: relaxed })).archived).toBe(1);

      const { live: tenantLive, archived: tenantArchived } = await idsOf(db.prisma, "tenant");
      expect(tenantLive).toEqual([]);
      expect(tenantArchived).toHaveLength(20);
      expect(await db.prisma.archivedAuditEvent.count()).toBe(21);
      // asyncArchiveCommit is for the batch's own transaction: the pool's connection keeps the server's setting.
      const { rows } = await single.query<{ setting: string }>("SELECT current_setting('synchronous_commit') AS setting");
      expect(rows[0]!.setting).toBe("on");
    } finally {
      await single.end();
    }
  });

  it("undoes a failed batch whole, says how many moved before, closes the failed connection, and a re-run finishes", async () => {
    const own = testPgPool(db.url, { max: 2, idleTimeoutMillis: 0 });
    let closed = 0;
    own.on("remove", () => closed++);
    // pg-pool emits "remove" once the connection's end() has finished, after the failure reached the caller.
    const removed = new Promise<void>((resolve) => own.once("remove", () => resolve()));
    const store = prismaStore(db.prisma, { pgPool: own });
    const now = Date.now();
    const old = Array.from({ length: 100 }, (_, i) => archiveRecord(now - 60 * DAY_MS + i * 60_000, { objectId: `old-${i}` }));
    await insertRecords(store, old);
    // The archive refuses the 61st event: the batch holding it (events 51-75) fails.
    await db.prisma.$executeRawUnsafe(
      `CREATE FUNCTION refuse_one() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW."objectId" = 'old-60' THEN RAISE EXCEPTION 'refused by the test'; END IF; RETURN NEW; END $$`,
    );
    await db.prisma.$executeRawUnsafe(`CREATE TRIGGER refuse_one BEFORE INSERT ON archived_audit_events FOR EACH ROW EXECUTE FUNCTION refuse_one()`);
    try {
      const failure = await archiveOldEvents({ olderThanDays: 30, batchSize: 25, store }).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(AuditArchiveError);
      expect(failure).toMatchObject({ archived: 50, message: expect.stringContaining("refused by the test") });
      expect(await db.prisma.auditEvent.count()).toBe(50);
      expect(await db.prisma.archivedAuditEvent.count()).toBe(50);
      await removed;
      expect(closed).toBe(1);
    } finally {
      await db.prisma.$executeRawUnsafe(`DROP TRIGGER refuse_one ON archived_audit_events`);
      await db.prisma.$executeRawUnsafe(`DROP FUNCTION refuse_one()`);
    }
    expect((await archiveOldEvents({ olderThanDays: 30, batchSize: 25, store })).archived).toBe(50);
    await own.end();
    const { live, archived } = await idsOf(db.prisma);
    expect(live).toEqual([]);
    expect(idDifference(archived, old.map((record) => record.id))).toEqual(none);
  });
});
