import { setTimeout as realTimeout } from "node:timers/promises";
import { auditMetrics, prismaStore, redisSpool, type AuditSpool, type EventRow } from "../../src";
import { BufferedWriter } from "../../src/writer/buffered-writer";
import { sampleRecord } from "../conformance/store-conformance";
import { openDatabase, type TestDatabase } from "../support/databases";
import { recordingLogger } from "./spool-conformance";
import { redisSpoolKey } from "../support/redis-spool-key";

/**
 * Another client pops the head of the spool's list before each of the writer's reads
 * (a worker pointed at the wrong key): every round of a flush finds lines lost, appends
 * them again from its copies, and finds more lost at its next read. `flush()` and
 * `close()` must not go round for ever: after a bounded number of such rounds they
 * reject with `ERR_AUDIT_SPOOL_LOST`, naming the acknowledged events not stored yet,
 * which stay in memory and are retried; once the other client stops, they are stored,
 * once each, and none counted in `dropped` (the writer held a copy of each).
 */

const { url, key, admin, resetKeys } = redisSpoolKey("lost-every-round");
let db: TestDatabase<"postgresql">;

beforeAll(async () => {
  db = await openDatabase("postgresql", { name: "redis_lost_every_round" });
});
beforeEach(async () => {
  await resetKeys();
  await db.reset();
});
afterAll(async () => {
  await db?.close();
});

/** `inner`, whose list loses its first line to another client before each read while `popping`. */
function poppedSpool(inner: AuditSpool): AuditSpool & { popping: boolean; popped: boolean } {
  const spool = Object.create(inner) as AuditSpool & { popping: boolean; popped: boolean };
  let popping = false;
  spool.popped = false;
  // `popped` stays set once `popping` was: the lab's store waits for it.
  Object.defineProperty(spool, "popping", {
    get: () => popping,
    set: (value: boolean) => {
      popping = value;
      if (value) spool.popped = true;
    },
  });
  spool.peek = async (max) => {
    if (spool.popping) await admin.lPop(key);
    return inner.peek(max);
  };
  return spool;
}

const rows = (n: number): EventRow[] => Array.from({ length: n }, (_, i) => ({ ...sampleRecord({ objectId: `e${i}` }) }));

/**
 * A writer that keeps only 2 lines beside the spool, so the store is fed by reading the list
 * back; its store takes nothing until the list starts losing lines (`popped`): fed at once,
 * it could otherwise store every event before (seen once in a whole-suite run on a loaded
 * machine), and close() then rightly resolved.
 */
function lab() {
  const spool = poppedSpool(redisSpool({ url, key }));
  const inner = prismaStore(db.prisma);
  const store = Object.create(inner) as typeof inner;
  store.writeRows = async (rows) => {
    while (!spool.popped) await realTimeout(5);
    return inner.writeRows(rows);
  };
  const writer = new BufferedWriter({ store, flushIntervalMs: 60_000, maxBatchSize: 100, maxBufferedEvents: 2, spool, onSpoolFull: "block", logger: recordingLogger() });
  return { spool, writer };
}

/** How `work` settled within 10 s: its error's code and message, "resolved", or "still running". */
async function outcome(work: Promise<unknown>): Promise<{ code?: string; message?: string } | string> {
  const settled = work.then(
    () => "resolved",
    (error: { code?: string; message?: string }) => ({ code: error.code, message: error.message }),
  );
  return Promise.race([settled, realTimeout(10_000, "still running after 10 s")]);
}

async function storedOnce(created: EventRow[]): Promise<{ missing: string[]; twice: string[] }> {
  const stored = await db.prisma.$queryRawUnsafe<{ id: string; n: bigint }[]>("SELECT id::text AS id, count(*) AS n FROM audit_events GROUP BY id");
  const ids = new Set(stored.map((r) => r.id));
  return { missing: created.filter((r) => !ids.has(r.id)).map((r) => r.id), twice: stored.filter((r) => Number(r.n) > 1).map((r) => r.id) };
}

describe("a Redis list that loses lines at every read", () => {
  it("makes flush() reject with ERR_AUDIT_SPOOL_LOST after a bounded number of rounds, and keeps the events", async () => {
    const droppedBefore = auditMetrics().dropped;
    const { spool, writer } = lab();
    const created = rows(10);
    await Promise.all(created.map((row) => writer.enqueue(row)));
    spool.popping = true;
    const flushed = await outcome(writer.flush());
    expect(flushed).toMatchObject({ code: "ERR_AUDIT_SPOOL_LOST", message: expect.stringMatching(/kept losing lines .* through 5 rounds: \d+ acknowledged audit event\(s\) are not stored yet/) });
    spool.popping = false;
    await writer.flush();
    await writer.close();
    expect(await storedOnce(created)).toEqual({ missing: [], twice: [] });
    expect(auditMetrics().dropped).toBe(droppedBefore);
  });

  it("makes close() reject with ERR_AUDIT_SPOOL_LOST after a bounded number of rounds, and closes once the list is left alone", async () => {
    const droppedBefore = auditMetrics().dropped;
    const { spool, writer } = lab();
    const created = rows(10);
    await Promise.all(created.map((row) => writer.enqueue(row)));
    spool.popping = true;
    expect(await outcome(writer.close())).toMatchObject({ code: "ERR_AUDIT_SPOOL_LOST" });
    spool.popping = false;
    await writer.close();
    expect(await storedOnce(created)).toEqual({ missing: [], twice: [] });
    expect({ spooled: writer.spooled(), dropped: auditMetrics().dropped - droppedBefore }).toEqual({ spooled: 0, dropped: 0 });
  });
});
