import {
  AuditArchiveError,
  AuditConfigError,
  AuditContext,
  memoryStore,
  prismaStore,
  scheduleArchival,
  type ArchivalSchedule,
  type ArchiveResult,
  type AuditEventRecord,
  type AuditStore,
  type MemoryStore,
  type ScheduleArchivalOptions,
} from "../../src";
import { DAY_MS, archiveRecord, idsOf, insertRecords } from "../support/archive-fixtures";
import { runTsx } from "../support/archive-process";
import { openDatabase, type TestPrismaClient } from "../support/databases";

const EVERY_SECOND = "*/1 * * * * *";
const SKIPPED = "audit-events: archival skipped, the previous run is still going";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits until `condition()` holds, checking every 25 ms; fails after `timeoutMs`, which is
 * several times what the ticks need (a tick a second): a deadline, not a timing goal.
 */
async function waitFor(what: string, condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(25);
  }
}

/** A logger that remembers what it was told. */
function recordingLogger() {
  const infos: string[] = [];
  const errors: Array<{ message: string; error: unknown }> = [];
  return {
    infos,
    errors,
    info: (message: string) => void infos.push(message),
    error: (message: string, error?: unknown) => void errors.push({ message, error }),
  };
}

const oldEvents = (count: number, tag = "old") =>
  Array.from({ length: count }, (_, i) => archiveRecord(Date.now() - 40 * DAY_MS + i, { objectId: `${tag}-${i}` }));
const youngEvents = (count: number) => Array.from({ length: count }, (_, i) => archiveRecord(Date.now() - DAY_MS + i, { objectId: `young-${i}` }));
const ids = (records: ReadonlyArray<Pick<AuditEventRecord, "id">>) => records.map((record) => record.id).sort();

async function storeWith(...records: AuditEventRecord[]): Promise<MemoryStore> {
  const store = memoryStore();
  await store.insert(records, { context: new AuditContext() });
  return store;
}

describe("scheduleArchival()", () => {
  const started: ArchivalSchedule[] = [];
  /** Starts a schedule that afterEach stops, whatever the test's outcome. */
  function schedule(options: ScheduleArchivalOptions): ArchivalSchedule {
    const running = scheduleArchival(options);
    started.push(running);
    return running;
  }
  afterEach(() => {
    for (const running of started.splice(0)) running.stop();
  });

  it("runs on its cron expression, every second here, and archives the old events", async () => {
    const old = oldEvents(5);
    const young = youngEvents(2);
    const store = await storeWith(...old, ...young);
    const logger = recordingLogger();
    const runs: ArchiveResult[] = [];

    schedule({ cron: EVERY_SECOND, olderThanDays: 30, store, logger, onRun: (result) => runs.push(result) });
    await waitFor("two runs", () => runs.length >= 2, 10_000);

    expect(runs[0]!.archived).toBe(5);
    expect(runs[1]!.archived).toBe(0);
    expect(ids(store.listArchived())).toEqual(ids(old));
    expect(ids(store.list())).toEqual(ids(young));
    expect(logger.infos[0]).toMatch(/^audit-events: archived 5 event\(s\) older than \d{4}-\d\d-\d\dT/);
    expect(logger.errors).toEqual([]);
  });

  it("runs no more after stop(), leaving events that became due afterwards live", async () => {
    const store = await storeWith(...oldEvents(3));
    const runs: ArchiveResult[] = [];
    const running = schedule({ cron: EVERY_SECOND, olderThanDays: 30, store, logger: recordingLogger(), onRun: (result) => runs.push(result) });
    await waitFor("the first run", () => runs.length >= 1, 10_000);

    running.stop();
    const runsAtStop = runs.length;
    const late = oldEvents(4, "late");
    await store.insert(late, { context: new AuditContext() });
    await sleep(2_500);

    expect(runs).toHaveLength(runsAtStop);
    expect(ids(store.list())).toEqual(ids(late));
    expect(store.listArchived()).toHaveLength(3);
  });

  it("never starts a run while the previous one is still going, and logs the skipped tick", async () => {
    let active = 0;
    let mostActive = 0;
    let calls = 0;
    const inner = memoryStore();
    // Each batch takes 2.5 s: a run outlasts two ticks of a schedule that fires every second.
    const slow: AuditStore = {
      ...inner,
      name: "slow",
      async archiveBatch(before, limit, after) {
        calls++;
        active++;
        mostActive = Math.max(mostActive, active);
        try {
          await sleep(2_500);
          return await inner.archiveBatch(before, limit, after);
        } finally {
          active--;
        }
      },
    };
    const logger = recordingLogger();
    const runs: ArchiveResult[] = [];

    schedule({ cron: EVERY_SECOND, olderThanDays: 30, store: slow, logger, onRun: (result) => runs.push(result) });
    await waitFor("a second run to start", () => calls >= 2, 8_000);

    expect(mostActive).toBe(1);
    expect(runs).toHaveLength(1);
    expect(logger.infos.filter((message) => message === SKIPPED).length).toBeGreaterThanOrEqual(1);
    expect(logger.errors).toEqual([]);
  }, 15_000);

  it("runs each archival with its concurrency: that many batches in flight at once", async () => {
    const inner = await storeWith(...oldEvents(40));
    let calls = 0;
    let active = 0;
    let mostActiveLater = 0;
    const slow: AuditStore = {
      ...inner,
      async archiveBatch(before, limit, after) {
        // The first calls start together; count only those after them.
        if (++calls > 2) mostActiveLater = Math.max(mostActiveLater, active + 1);
        active++;
        try {
          await sleep(30);
          return await inner.archiveBatch(before, limit, after);
        } finally {
          active--;
        }
      },
    };
    const runs: ArchiveResult[] = [];

    schedule({ cron: EVERY_SECOND, olderThanDays: 30, batchSize: 4, concurrency: 2, store: slow, logger: recordingLogger(), onRun: (result) => runs.push(result) });
    await waitFor("a run to end", () => runs.length >= 1, 8_000);

    expect(runs[0]).toMatchObject({ archived: 40, batches: 10 });
    expect(mostActiveLater).toBe(2);
  }, 15_000);

  it("logs a failed run with the number of events it moved, and goes on with the next tick", async () => {
    const old = oldEvents(5);
    const inner = await storeWith(...old);
    let failures = 0;
    let calls = 0;
    // The second batch of the first run fails once, after the first batch moved 2 events.
    const flaky: AuditStore = {
      ...inner,
      name: "flaky",
      async archiveBatch(before, limit, after) {
        calls++;
        if (calls === 2 && failures === 0) {
          failures++;
          throw new Error("disk full");
        }
        return inner.archiveBatch(before, limit, after);
      },
    };
    const logger = recordingLogger();
    const runs: ArchiveResult[] = [];

    schedule({ cron: EVERY_SECOND, olderThanDays: 30, batchSize: 2, store: flaky, logger, onRun: (result) => runs.push(result) });
    await waitFor("a successful run after the failure", () => runs.length >= 1, 10_000);

    expect(logger.errors).toHaveLength(1);
    expect(logger.errors[0]!.message).toBe("audit-events: archival failed after moving 2 event(s)");
    const error = logger.errors[0]!.error;
    expect(error).toBeInstanceOf(AuditArchiveError);
    expect(error).toMatchObject({ archived: 2, code: "ERR_AUDIT_ARCHIVE", cause: expect.objectContaining({ message: "disk full" }) });
    expect(runs[0]!.archived).toBe(3);
    expect(ids(inner.listArchived())).toEqual(ids(old));
    expect(inner.list()).toEqual([]);
  });

  it("fires on real timers, in a zone with daylight saving, and archives real events on SQLite", async () => {
    const db = await openDatabase("sqlite", { name: "schedule" });
    try {
      const store = prismaStore(db.prisma);
      const old = oldEvents(6);
      const young = youngEvents(3);
      await insertRecords(store, [...old, ...young]);
      const logger = recordingLogger();
      const runs: ArchiveResult[] = [];

      schedule({ cron: EVERY_SECOND, timezone: "America/New_York", olderThanDays: 30, store, logger, onRun: (result) => runs.push(result) });
      await waitFor("a run", () => runs.length >= 1, 10_000);

      expect(runs[0]!.archived).toBe(6);
      const stored = await idsOf(db.prisma as TestPrismaClient);
      expect(stored.archived.sort()).toEqual(ids(old));
      expect(stored.live.sort()).toEqual(ids(young));
      expect(logger.errors).toEqual([]);
    } finally {
      await db.close();
    }
  });

  it("refuses a date, which is no schedule", () => {
    expect(() => schedule({ cron: "2026-03-08T02:30:00", store: memoryStore() })).toThrow('"2026-03-08T02:30:00" is not a cron expression (it is a date)');
  });

  it.each(["not a cron", "61 * * * *", "* * *", "* * * * * * *", ""])("refuses the cron expression %j with AuditConfigError", (cron) => {
    expect(() => schedule({ cron, store: memoryStore() })).toThrow(AuditConfigError);
    expect(() => schedule({ cron, store: memoryStore() })).toThrow(`"${cron}" is not a cron expression`);
  });

  it("refuses invalid archival options with AuditConfigError before scheduling anything", () => {
    expect(() => schedule({ cron: EVERY_SECOND, olderThanDays: -1, store: memoryStore() })).toThrow(AuditConfigError);
    expect(() => schedule({ cron: EVERY_SECOND, batchSize: 0, store: memoryStore() })).toThrow(AuditConfigError);
    for (const concurrency of [0, 1.5, 17]) {
      expect(() => schedule({ cron: EVERY_SECOND, concurrency, store: memoryStore() })).toThrow(
        `concurrency must be a whole number from 1 to 16 (got ${concurrency}), for example concurrency: 2.`,
      );
    }
  });

  it("refuses an unknown time zone with AuditConfigError", () => {
    expect(() => schedule({ cron: EVERY_SECOND, timezone: "Mars/Olympus", store: memoryStore() })).toThrow(AuditConfigError);
  });

  it("does not keep the process alive: a process that never stops its schedule still exits on its own", async () => {
    const child = await runTsx("test/support/archive-schedule-child.ts", ["2500"], { timeoutMs: 20_000 });

    expect(child.stderr).toBe("");
    expect(child.timedOut).toBe(false);
    expect(child).toMatchObject({ code: 0, signal: null });
    // The schedule was live while the process had work of its own, then did not hold it open.
    expect(child.lines).toContain("run 1");
    expect(child.lines).toContain("main done");
    // Ticks fall on whole seconds, main done at a random point of one: a tick due in the same
    // turn of the event loop as main done's timer still runs before the process ends; none after.
    const after = child.lines.slice(child.lines.indexOf("main done") + 1);
    expect(after.length <= 1 && after.every((line) => /^run \d+$/.test(line))).toBe(true);
  }, 30_000);
});
