import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  archiveOldEvents,
  configureAudit,
  countArchivableEvents,
  prismaStore,
  type ArchivePosition,
  type AuditEventRecord,
  type AuditStore,
  type PrismaStore,
} from "../../src";
import { openDatabase, providers, type TestDatabase, type TestPrismaClient } from "../support/databases";
import {
  DAY_MS,
  archiveRecord,
  createPrismaClient,
  duplicatesIn,
  every,
  idDifference,
  idsOf,
  insertRecords,
  seedEvents,
  sqlCountBefore,
  type SeededEvent,
} from "../support/archive-fixtures";
import { runTsx } from "../support/archive-process";
import { takingPartTogether } from "../support/taking-part";

const none = { missing: [], unexpected: [] };
const idsOfEvents = (events: readonly SeededEvent[]) => events.map((event) => event.record.id);

describe.each(providers)("archiveOldEvents() on %s", (provider) => {
  let db: TestDatabase;
  let store: PrismaStore;

  beforeAll(async () => {
    db = await openDatabase(provider, { name: "archive" });
  });
  afterAll(async () => {
    await db?.close();
  });
  beforeEach(async () => {
    await db.reset();
    store = prismaStore(db.prisma);
  });

  /** Reads archived rows of the reference archive table by id, for field-by-field comparison. */
  async function archivedRows(ids: readonly string[]) {
    return db.prisma.archivedAuditEvent.findMany({ where: { id: { in: [...ids] } }, orderBy: { id: "asc" } });
  }

  /** The archived copies of `records` equal the originals field by field, plus an archivedAt in [from, to]. */
  async function expectArchivedUnchanged(records: readonly AuditEventRecord[], from: number, to: number) {
    const rows = await archivedRows(records.map((record) => record.id));
    expect(rows).toHaveLength(records.length);
    const byId = new Map(rows.map((row) => [row.id, row]));
    for (const record of records) {
      const row = byId.get(record.id);
      expect(row).toEqual({ ...record, archivedAt: expect.any(Date) });
      // archivedAt is the moment of the batch, stored to the millisecond.
      expect(row!.archivedAt.getTime()).toBeGreaterThanOrEqual(from - 1);
      expect(row!.archivedAt.getTime()).toBeLessThanOrEqual(to + 1);
    }
  }

  it("moves exactly the events older than each cut-off, from 180 days down to 0, each one unchanged and in one table only", async () => {
    const seeded = seedEvents(10_000, { days: 200, now: Date.now() });
    await insertRecords(store, seeded.map((event) => event.record));
    const allIds = idsOfEvents(seeded);
    expect(await db.prisma.auditEvent.count()).toBe(10_000);

    let previousDays = Infinity;
    for (const days of [180, 120, 60, 30, 0]) {
      const dueNow = seeded.filter((event) => event.ageDays >= days && event.ageDays < previousDays);
      const dueSoFar = seeded.filter((event) => event.ageDays >= days);
      expect(dueNow.length).toBeGreaterThan(0);

      // Cross-checks of the expected number before the run: the store's count and plain SQL.
      expect(await countArchivableEvents({ olderThanDays: days, store })).toBe(dueNow.length);
      expect(await sqlCountBefore(provider, db.prisma, "audit_events", new Date(Date.now() - days * DAY_MS))).toBe(dueNow.length);

      const started = Date.now();
      const result = await archiveOldEvents({ olderThanDays: days, batchSize: 333, store });
      const finished = Date.now();

      expect(result.archived).toBe(dueNow.length);
      expect(result.batches).toBe(Math.ceil(dueNow.length / 333));
      expect(result.cutoff.getTime()).toBeGreaterThanOrEqual(started - days * DAY_MS);
      expect(result.cutoff.getTime()).toBeLessThanOrEqual(finished - days * DAY_MS);
      expect(await sqlCountBefore(provider, db.prisma, "audit_events", result.cutoff)).toBe(0);
      expect(await sqlCountBefore(provider, db.prisma, "archived_audit_events", result.cutoff)).toBe(dueSoFar.length);

      const { live, archived } = await idsOf(db.prisma);
      expect(archived).toHaveLength(dueSoFar.length);
      expect(live).toHaveLength(10_000 - dueSoFar.length);
      expect(duplicatesIn([...live, ...archived])).toEqual([]);
      expect(idDifference([...live, ...archived], allIds)).toEqual(none);
      expect(idDifference(archived, idsOfEvents(dueSoFar))).toEqual(none);

      await expectArchivedUnchanged(
        every(dueNow, Math.ceil(dueNow.length / 200)).map((event) => event.record),
        started,
        finished,
      );
      previousDays = days;
    }
    expect(await db.prisma.auditEvent.count()).toBe(0);
    expect(await archiveOldEvents({ olderThanDays: 0, store })).toMatchObject({ archived: 0, batches: 0 });
  }, 120_000);

  it("loses and duplicates nothing when the archiving process is killed mid-way and archival runs again", async () => {
    const seeded = seedEvents(4_000, { days: 200, now: Date.now(), seed: 7 });
    await insertRecords(store, seeded.map((event) => event.record));
    const old = seeded.filter((event) => event.ageDays >= 30);

    // Killed once 4 batches are reported; the child holds after its 12th (of ~68), so a kill
    // that comes late (this process busy, the child fast) still finds it mid-way.
    const child = await runTsx("test/support/archive-child.ts", [provider, db.url, "30", "50"], {
      killWhen: (lines) => lines.filter((line) => line.startsWith("batch ")).length >= 4,
      timeoutMs: 60_000,
      env: { AUDIT_TEST_HOLD_AFTER_BATCHES: "12" },
    });
    expect(child.stderr).toBe("");
    expect(child).toMatchObject({ killed: true, timedOut: false, signal: "SIGKILL" });
    expect(child.lines).not.toContainEqual(expect.stringMatching(/^done /));

    // Killed mid-way: some old events moved, some still live, and the dead process moves no more.
    // A batch statement in flight when the client died may still commit on the server: wait
    // until the count has settled (the same twice, 500 ms apart) before reading it.
    let afterKill = await db.prisma.archivedAuditEvent.count();
    for (let settled = 0; settled < 2; ) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      const now = await db.prisma.archivedAuditEvent.count();
      settled = now === afterKill ? settled + 1 : 0;
      afterKill = now;
    }
    expect(afterKill).toBeGreaterThanOrEqual(4 * 50);
    expect(afterKill).toBeLessThan(old.length);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await db.prisma.archivedAuditEvent.count()).toBe(afterKill);
    expect(await db.prisma.auditEvent.count()).toBe(seeded.length - afterKill);

    const rerun = await archiveOldEvents({ olderThanDays: 30, batchSize: 500, store });
    expect(rerun.archived).toBe(old.length - afterKill);

    expect(await countArchivableEvents({ olderThanDays: 30, store })).toBe(0);
    expect(await sqlCountBefore(provider, db.prisma, "audit_events", rerun.cutoff)).toBe(0);
    const { live, archived } = await idsOf(db.prisma);
    expect(live.length + archived.length).toBe(seeded.length);
    expect(duplicatesIn([...live, ...archived])).toEqual([]);
    expect(idDifference(archived, idsOfEvents(old))).toEqual(none);
    // The rows the killed process moved are intact too (the sample spans both runs).
    await expectArchivedUnchanged(every(old, 40).map((event) => event.record), 0, Date.now());
  }, 90_000);

  it("lets two archivers and a writer run at once: nothing lost, nothing twice, no old event left live", async () => {
    const seeded = seedEvents(4_000, { days: 200, now: Date.now(), seed: 11 });
    await insertRecords(store, seeded.map((event) => event.record));
    const old = seeded.filter((event) => event.ageDays >= 30);

    // Each archiver has a client (a pool) of its own, as two processes would. Not on SQLite: the
    // driver waits for a lock synchronously, so a second connection in this process would block
    // the one holding the lock; there the archivers share the test's connection, as the
    // application and a scheduled archival in one process do.
    const clients: TestPrismaClient[] =
      provider === "sqlite" ? [db.prisma, db.prisma] : [createPrismaClient(provider, db.url), createPrismaClient(provider, db.url)];
    try {
      await Promise.all(clients.map((client) => client.$connect()));
      const written: AuditEventRecord[] = [];
      let writtenDuringRun = 0;
      let running = true;
      const writer = (async () => {
        for (let round = 0; running; round++) {
          const size = round % 2 === 0 ? 1 : 20;
          const batch = Array.from({ length: size }, (_, i) => archiveRecord(Date.now(), { objectId: `new-${round}-${i}` }));
          await insertRecords(store, batch);
          written.push(...batch);
          if (running) writtenDuringRun += size;
          // Like a request handler, let other work run between writes.
          await new Promise((resolve) => setTimeout(resolve, 2));
        }
      })();
      // Both must take part: each one's first moving batch is done before either goes on.
      const archivers = takingPartTogether(clients.map((client) => prismaStore(client)));
      const results = await Promise.all(
        archivers.map((archiver) => archiveOldEvents({ olderThanDays: 30, batchSize: 100, store: archiver })),
      ).finally(() => {
        running = false;
      });
      await writer;

      expect(writtenDuringRun).toBeGreaterThan(0);
      expect(results[0]!.archived).toBeGreaterThan(0);
      expect(results[1]!.archived).toBeGreaterThan(0);
      expect(results[0]!.archived + results[1]!.archived).toBe(old.length);
      expect(await db.prisma.archivedAuditEvent.count()).toBe(old.length);

      for (const { cutoff } of results) expect(await sqlCountBefore(provider, db.prisma, "audit_events", cutoff)).toBe(0);
      const { live, archived } = await idsOf(db.prisma);
      expect(live.length + archived.length).toBe(seeded.length + written.length);
      expect(duplicatesIn([...live, ...archived])).toEqual([]);
      expect(idDifference(archived, idsOfEvents(old))).toEqual(none);
      expect(idDifference(live, [...idsOfEvents(seeded.filter((event) => event.ageDays < 30)), ...written.map((record) => record.id)])).toEqual(none);
    } finally {
      await Promise.all(clients.filter((client) => client !== db.prisma).map((client) => client.$disconnect()));
    }
  }, 90_000);

  it("with concurrency keeps that many batches in flight while a writer adds events: exact count, nothing lost, nothing twice", async () => {
    const seeded = seedEvents(4_000, { days: 200, now: Date.now(), seed: 23 });
    await insertRecords(store, seeded.map((event) => event.record));
    const old = seeded.filter((event) => event.ageDays >= 30);
    let calls = 0;
    let inFlight = 0;
    let mostLater = 0;
    const counting: AuditStore = {
      ...store,
      async archiveBatch(before, limit, after) {
        // The chains' first calls start together; what counts is that later ones overlap too.
        if (++calls > 3) mostLater = Math.max(mostLater, inFlight + 1);
        inFlight++;
        try {
          return await store.archiveBatch(before, limit, after);
        } finally {
          inFlight--;
        }
      },
    };
    const written: AuditEventRecord[] = [];
    let running = true;
    const writer = (async () => {
      for (let round = 0; running; round++) {
        const batch = Array.from({ length: 5 }, (_, i) => archiveRecord(Date.now(), { objectId: `during-${round}-${i}` }));
        await insertRecords(store, batch);
        written.push(...batch);
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    })();
    let heard = 0;
    let batchesHeard = 0;
    const result = await archiveOldEvents({
      olderThanDays: 30,
      batchSize: 100,
      concurrency: 3,
      store: counting,
      onBatch: ({ moved }) => {
        heard += moved;
        batchesHeard++;
      },
    }).finally(() => {
      running = false;
    });
    await writer;

    expect(mostLater).toBeGreaterThanOrEqual(2);
    expect(result.archived).toBe(old.length);
    expect(heard).toBe(old.length);
    expect(result.batches).toBe(batchesHeard);
    expect(await sqlCountBefore(provider, db.prisma, "audit_events", result.cutoff)).toBe(0);
    const { live, archived } = await idsOf(db.prisma);
    expect(duplicatesIn([...live, ...archived])).toEqual([]);
    expect(idDifference(archived, idsOfEvents(old))).toEqual(none);
    expect(idDifference(live, [...idsOfEvents(seeded.filter((event) => event.ageDays < 30)), ...written.map((record) => record.id)])).toEqual(none);
    await expectArchivedUnchanged(every(old, 50).map((event) => event.record), 0, Date.now());
  }, 90_000);

  it("with concurrency stops every batch chain when one batch fails, reports exactly what moved, and a re-run finishes", async () => {
    const seeded = seedEvents(1_000, { days: 200, now: Date.now(), seed: 29 });
    await insertRecords(store, seeded.map((event) => event.record));
    const old = seeded.filter((event) => event.ageDays >= 30);
    let calls = 0;
    let callsAfterFailure = 0;
    let failed = false;
    const failing: AuditStore = {
      ...store,
      async archiveBatch(before, limit, after) {
        if (failed) callsAfterFailure++;
        if (++calls === 6) {
          failed = true;
          throw new Error("disk full (a failure no retry cures)");
        }
        return store.archiveBatch(before, limit, after);
      },
    };

    const error = await archiveOldEvents({ olderThanDays: 30, batchSize: 50, concurrency: 2, store: failing }).then(
      () => undefined,
      (e: unknown) => e,
    );

    expect(error).toMatchObject({ name: "AuditArchiveError", code: "ERR_AUDIT_ARCHIVE", message: expect.stringContaining("disk full") });
    const movedBefore = await db.prisma.archivedAuditEvent.count();
    expect((error as { archived: number }).archived).toBe(movedBefore);
    expect(movedBefore).toBeGreaterThanOrEqual(4 * 50);
    // The other chain ends with the batch it had in flight: at most one more call.
    expect(callsAfterFailure).toBeLessThanOrEqual(1);

    const rerun = await archiveOldEvents({ olderThanDays: 30, batchSize: 50, concurrency: 2, store });
    expect(movedBefore + rerun.archived).toBe(old.length);
    const { live, archived } = await idsOf(db.prisma);
    expect(duplicatesIn([...live, ...archived])).toEqual([]);
    expect(idDifference(archived, idsOfEvents(old))).toEqual(none);
  }, 60_000);

  it("lets two archiver processes run at once: both finish, and together they move every old event exactly once", async () => {
    const seeded = seedEvents(4_000, { days: 200, now: Date.now(), seed: 13 });
    await insertRecords(store, seeded.map((event) => event.record));
    const old = seeded.filter((event) => event.ageDays >= 30);

    // Both start archiving at the same moment: each waits, connected, for the gate file. Started
    // without it, one process's start-up (tsx, Prisma) can outlast the other's whole run. And
    // each waits after its first batch until both have moved some: once started, one process
    // can still be held off the CPU (a loaded machine) while the other runs to the end.
    const gates = mkdtempSync(path.join(tmpdir(), "archive-gate-"));
    const gate = path.join(gates, "open");
    const movedGate = path.join(gates, "moved");
    let ready = 0;
    const moving = new Set<number>();
    const children = await Promise.all(
      [1, 2].map((n) =>
        runTsx("test/support/archive-child.ts", [provider, db.url, "30", "25"], {
          timeoutMs: 60_000,
          env: { AUDIT_TEST_START_GATE: gate, AUDIT_TEST_MOVED_GATE: movedGate },
          onLine: (line) => {
            if (line === "ready" && ++ready === 2) writeFileSync(gate, "");
            if (line.startsWith("batch ") && !moving.has(n) && moving.add(n).size === 2) writeFileSync(movedGate, "");
          },
        }),
      ),
    );
    rmSync(gates, { recursive: true, force: true });

    const moved: number[] = [];
    for (const child of children) {
      expect(child.stderr).toBe("");
      expect(child).toMatchObject({ code: 0, timedOut: false });
      expect(child.lines[0]).toBe("ready");
      const done = /^done (\d+)$/.exec(child.lines.at(-1) ?? "");
      expect(done).not.toBeNull();
      moved.push(Number(done![1]));
    }
    // Neither moved an event the other moved. On PostgreSQL and MySQL, which lock rows, both
    // take part; SQLite has one writer at a time and no fair queue, so one may move them all.
    expect(moved[0]! + moved[1]!).toBe(old.length);
    if (provider !== "sqlite") expect(Math.min(...moved)).toBeGreaterThan(0);
    expect(await countArchivableEvents({ olderThanDays: 30, store })).toBe(0);
    const { live, archived } = await idsOf(db.prisma);
    expect(live.length + archived.length).toBe(seeded.length);
    expect(duplicatesIn([...live, ...archived])).toEqual([]);
    expect(idDifference(archived, idsOfEvents(old))).toEqual(none);
  }, 90_000);

  it("archives an event a writer adds behind the position of a run under way, in the pass from the oldest event that ends the run", async () => {
    const seeded = seedEvents(600, { days: 200, now: Date.now(), seed: 5 });
    await insertRecords(store, seeded.map((event) => event.record));
    const old = seeded.filter((event) => event.ageDays >= 30);
    const oldest = Math.min(...seeded.map((event) => event.record.timestamp.getTime()));
    // Written while the run is under way, with a timestamp older than every seeded event: as a
    // client that made an event (and its UUID v7 id) earlier writes it late.
    const late = archiveRecord(oldest - 3_600_000, { objectId: "late" });
    let calls = 0;
    let positionWhenWritten: Date | undefined;
    const writing: AuditStore = {
      ...store,
      async archiveBatch(before, limit, after) {
        const batch = await store.archiveBatch(before, limit, after);
        if (++calls === 2) {
          positionWhenWritten = batch.last?.timestamp;
          await insertRecords(store, [late]);
        }
        return batch;
      },
    };

    const result = await archiveOldEvents({ olderThanDays: 30, batchSize: 50, store: writing });

    expect(positionWhenWritten!.getTime()).toBeGreaterThan(late.timestamp.getTime());
    expect(result.archived).toBe(old.length + 1);
    expect(await db.prisma.auditEvent.findUnique({ where: { id: late.id } })).toBeNull();
    expect(await db.prisma.archivedAuditEvent.findUnique({ where: { id: late.id } })).toEqual({ ...late, archivedAt: expect.any(Date) });
    expect(await sqlCountBefore(provider, db.prisma, "audit_events", result.cutoff)).toBe(0);
    const { archived } = await idsOf(db.prisma);
    expect(idDifference(archived, [...idsOfEvents(old), late.id])).toEqual(none);
  });

  it("ends with a pass from the oldest event cut into bounded segments, which archives events written late in the middle of the range and at a segment's edge", async () => {
    const seeded = seedEvents(1_000, { days: 200, now: Date.now(), seed: 31 });
    await insertRecords(store, seeded.map((event) => event.record));
    const old = seeded.filter((event) => event.ageDays >= 30).sort((a, b) => a.record.timestamp.getTime() - b.record.timestamp.getTime());
    const calls: { before: Date; after?: ArchivePosition; moved: number; last: ArchivePosition | null }[] = [];
    const late: AuditEventRecord[] = [];
    const recording: AuditStore = {
      ...store,
      async archiveBatch(before, limit, after) {
        const batch = await store.archiveBatch(before, limit, after);
        calls.push({ before, after, moved: batch.moved, last: batch.last });
        if (calls.length === 60) {
          // Written late, once the run is far past them: one between two old events in the
          // middle of the range, and two in the same millisecond as the end of the first
          // segment (the 20th batch's last event), with an id below and above its id.
          const edge = calls[19]!.last!;
          const prefix = edge.id.slice(0, 14);
          late.push(
            archiveRecord(old[400]!.record.timestamp.getTime() - 1, { objectId: "late-middle" }),
            archiveRecord(edge.timestamp.getTime(), { id: `${prefix}7000-8000-000000000000`, objectId: "late-edge-below" }),
            archiveRecord(edge.timestamp.getTime(), { id: `${prefix}7fff-bfff-ffffffffffff`, objectId: "late-edge-above" }),
          );
          await insertRecords(store, late);
        }
        return batch;
      },
    };

    const result = await archiveOldEvents({ olderThanDays: 30, batchSize: 10, store: recording });

    expect(late).toHaveLength(3);
    expect(result.archived).toBe(old.length + 3);
    for (const record of late) {
      expect(await db.prisma.archivedAuditEvent.findUnique({ where: { id: record.id } })).toEqual({ ...record, archivedAt: expect.any(Date) });
    }
    expect(await sqlCountBefore(provider, db.prisma, "audit_events", result.cutoff)).toBe(0);
    // The segments end every 20 batches of the seeking pass, each call bounded above; the
    // late events were all moved by such bounded calls.
    const bounded = calls.filter((call) => call.before < result.cutoff);
    expect(new Set(bounded.map((call) => call.before.getTime())).size).toBe(Math.floor(Math.ceil(old.length / 10) / 20));
    expect(bounded.reduce((sum, call) => sum + call.moved, 0)).toBe(3);
    const middle = bounded.find((call) => call.moved > 0 && call.after !== undefined);
    expect(middle!.after!.timestamp.getTime()).toBeLessThan(late[0]!.timestamp.getTime());
    expect(middle!.before.getTime()).toBeGreaterThan(late[0]!.timestamp.getTime());
  });

  // SQLite has no row locks (one writer at a time, nothing to skip): the case does not arise there.
  const itWithRowLocks = provider === "sqlite" ? () => undefined : it;
  itWithRowLocks("archives an event another transaction held while the run passed it, once it is released", async () => {
    const seeded = seedEvents(600, { days: 200, now: Date.now(), seed: 19 });
    await insertRecords(store, seeded.map((event) => event.record));
    const old = seeded.filter((event) => event.ageDays >= 30);
    const byAge = [...old].sort((a, b) => a.record.timestamp.getTime() - b.record.timestamp.getTime());
    const held = byAge[120]!.record;

    // Another archiver's transaction holds the event's row lock, as one mid-batch would.
    const other = createPrismaClient(provider, db.url);
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const lockSql =
      provider === "postgresql" ? `SELECT 1 FROM audit_events WHERE id = $1::uuid FOR UPDATE` : "SELECT 1 FROM audit_events WHERE id = ? FOR UPDATE";
    const holder = other.$transaction(
      async (tx) => {
        await tx.$queryRawUnsafe(lockSql, held.id);
        locked();
        await released;
      },
      { timeout: 60_000 },
    );
    try {
      await isLocked;
      // The lock goes once the run's position is past the event: the seeking pass never comes back to it.
      let releasedAt: Date | undefined;
      const passing: AuditStore = {
        ...store,
        async archiveBatch(before, limit, after) {
          if (releasedAt === undefined && after !== undefined && after.timestamp > held.timestamp) {
            releasedAt = after.timestamp;
            release();
            await holder;
          }
          return store.archiveBatch(before, limit, after);
        },
      };

      const result = await archiveOldEvents({ olderThanDays: 30, batchSize: 50, store: passing });

      expect(releasedAt).toBeDefined();
      expect(result.archived).toBe(old.length);
      expect(await db.prisma.auditEvent.findUnique({ where: { id: held.id } })).toBeNull();
      expect(await db.prisma.archivedAuditEvent.findUnique({ where: { id: held.id } })).toEqual({ ...held, archivedAt: expect.any(Date) });
      expect(await sqlCountBefore(provider, db.prisma, "audit_events", result.cutoff)).toBe(0);
    } finally {
      release();
      await holder.catch(() => undefined);
      await other.$disconnect();
    }
  }, 60_000);

  it("with asyncArchiveCommit moves every old event exactly once on PostgreSQL, and is refused elsewhere with the fix", async () => {
    const seeded = seedEvents(500, { days: 60, now: Date.now(), seed: 17 });
    await insertRecords(store, seeded.map((event) => event.record));
    const old = seeded.filter((event) => event.ageDays >= 30);
    const relaxed = prismaStore(db.prisma, { asyncArchiveCommit: true });
    if (provider !== "postgresql") {
      await expect(archiveOldEvents({ olderThanDays: 30, batchSize: 64, store: relaxed })).rejects.toThrow(
        `prismaStore(): asyncArchiveCommit is for PostgreSQL only (this client is ${provider}, which cannot relax durability for one transaction); remove the option.`,
      );
      expect(await db.prisma.auditEvent.count()).toBe(seeded.length);
      return;
    }
    const result = await archiveOldEvents({ olderThanDays: 30, batchSize: 64, store: relaxed });
    expect(result.archived).toBe(old.length);
    const { live, archived } = await idsOf(db.prisma);
    expect(idDifference(archived, idsOfEvents(old))).toEqual(none);
    expect(live).toHaveLength(seeded.length - old.length);
    // The setting was for the batches' own transactions: the session keeps the server's.
    const [{ setting }] = await db.prisma.$queryRawUnsafe<[{ setting: string }]>("SELECT current_setting('synchronous_commit') AS setting");
    expect(setting).toBe("on");
  });

  it("keeps the extra tenantId column of a user's own live and archive models, filled by toRecord where the event has no tenantId", async () => {
    const tenantOf = (record: AuditEventRecord) => (Number(record.objectId) % 4 === 0 ? null : `tenant-${Number(record.objectId) % 3}`);
    const warnings: string[] = [];
    configureAudit({ logger: { warn: (message: string) => void warnings.push(message) } });
    const tenantStore = prismaStore(db.prisma, {
      model: "tenantAuditEvent",
      archiveModel: "tenantArchivedAuditEvent",
      toRecord: (event) => ({ tenantId: tenantOf(event) }),
    });
    // Most events have no tenant of their own (an application from before tenantResolver); every fifth has one, which wins.
    const seeded = seedEvents(1_000, { days: 60, now: Date.now(), seed: 3 }).map((event) => ({
      ...event,
      record: { ...event.record, tenantId: Number(event.record.objectId) % 5 === 0 ? "own-tenant" : null },
    }));
    try {
      await insertRecords(tenantStore, seeded.map((event) => event.record));
    } finally {
      configureAudit({});
    }
    const old = seeded.filter((event) => event.ageDays >= 30);

    const started = Date.now();
    const result = await archiveOldEvents({ olderThanDays: 30, batchSize: 64, store: tenantStore });
    const finished = Date.now();

    expect(result.archived).toBe(old.length);
    const rows = await db.prisma.tenantArchivedAuditEvent.findMany();
    expect(rows).toHaveLength(old.length);
    const byId = new Map(rows.map((row) => [row.id, row]));
    for (const { record } of old) {
      // The model has no action, outcome, severity or requestId, nor the hash chain's fields: they are not stored.
      const { action: _action, outcome: _outcome, severity: _severity, requestId: _requestId, chainId: _chainId, seq: _seq, prevHash: _prevHash, hash: _hash, ...columns } = record;
      expect(byId.get(record.id)).toEqual({ ...columns, tenantId: record.tenantId ?? tenantOf(record), archivedAt: expect.any(Date) });
    }
    expect(new Set(rows.map((row) => row.tenantId))).toEqual(new Set([null, "tenant-0", "tenant-1", "tenant-2", "own-tenant"]));
    for (const row of rows) expect(row.archivedAt.getTime()).toBeGreaterThanOrEqual(started - 1);
    for (const row of rows) expect(row.archivedAt.getTime()).toBeLessThanOrEqual(finished + 1);
    expect(await db.prisma.tenantAuditEvent.count()).toBe(seeded.length - old.length);
    expect(await db.prisma.auditEvent.count()).toBe(0);
    expect(await db.prisma.archivedAuditEvent.count()).toBe(0);
    // Said once per process (this file runs every provider in one): by the first provider's store, if by any.
    for (const warning of warnings) expect(warning).toContain("the Prisma model TenantAuditEvent has no field(s) action, outcome, severity, requestId");
    expect(warnings.length).toBeLessThanOrEqual(1);
  });

  it("takes an event the archive already holds (a replayed duplicate) out of the live table, keeps one archived copy, and counts it", async () => {
    const now = Date.now();
    // 120 old events, oldest first, moved in batches of 50: 0-49, 50-99, 100-119.
    const old = Array.from({ length: 120 }, (_, i) => archiveRecord(now - 60 * DAY_MS + i * 60_000, { objectId: `old-${i}` }));
    const young = Array.from({ length: 30 }, (_, i) => archiveRecord(now - 5 * DAY_MS + i * 60_000, { objectId: `young-${i}` }));
    await insertRecords(store, [...young, ...old]);
    // Already archived: the first event, one in the middle batch, and the whole last batch.
    const replayed = [old[0]!, old[75]!, ...old.slice(100)];
    const earlier = new Date(now - 20 * DAY_MS);
    await db.prisma.archivedAuditEvent.createMany({ data: replayed.map((record) => ({ ...record, archivedAt: earlier })) });

    const started = Date.now();
    const result = await archiveOldEvents({ olderThanDays: 30, batchSize: 50, store });

    expect(result.archived).toBe(120);
    expect(result.batches).toBe(3);
    const { live, archived } = await idsOf(db.prisma);
    expect(live).toHaveLength(young.length);
    expect(idDifference(live, young.map((record) => record.id))).toEqual(none);
    expect(archived).toHaveLength(old.length);
    expect(idDifference(archived, old.map((record) => record.id))).toEqual(none);
    const replayedRows = await archivedRows(replayed.map((record) => record.id));
    expect(replayedRows).toEqual(
      [...replayed].sort((a, b) => (a.id < b.id ? -1 : 1)).map((record) => ({ ...record, archivedAt: earlier })),
    );
    const replayedIds = new Set(replayed.map((record) => record.id));
    await expectArchivedUnchanged(old.filter((record) => !replayedIds.has(record.id)), started, Date.now());
  });
});
