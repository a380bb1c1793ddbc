import { auditMetrics, prismaStore, redisSpool, type AuditSpool, type EventRow } from "../../src";
import { BufferedWriter } from "../../src/writer/buffered-writer";
import { sampleRecord } from "../conformance/store-conformance";
import { openDatabase, type TestDatabase } from "../support/databases";
import { recordingLogger } from "./spool-conformance";
import { redisSpoolKey } from "../support/redis-spool-key";

/**
 * With PostgreSQL and Redis up, `close()` must store everything: here its own append fails
 * (Redis out of reach for that one command: the writer then stores events directly and
 * makes no append for 100 ms), and the read that follows finds the list lost (an outside
 * DEL that no command had seen yet), so the copies of its lines wait in memory to be
 * appended again. The spool takes no append yet, but the store answers: `close()` must
 * write them to it, not reject with them still in memory. The random-faults property met
 * this once under load (seed -406647804, path "21": a Redis restarted, an append made
 * while its client was offline, the list found lost by the close's read).
 *
 * The clock the writer reads (`performance`) stands still, so the spool's retry time never
 * passes during the test, whatever the machine's load; timers run in real time.
 */

const { url, key, admin } = redisSpoolKey("close-after-failed-append");
let db: TestDatabase<"postgresql">;

beforeAll(async () => {
  db = await openDatabase("postgresql", { name: "redis_close_after_failed_append" });
});
afterEach(() => {
  jest.useRealTimers();
});
afterAll(async () => {
  await db?.close();
});

/** `inner`, whose next append fails after `failNextAppend()` as a node-redis client's does while offline, reaching nothing. */
function offlineOnce(inner: AuditSpool): AuditSpool & { failNextAppend(): void } {
  let fail = false;
  return Object.assign(Object.create(inner) as AuditSpool, {
    failNextAppend: () => void (fail = true),
    append(lines: readonly string[]): Promise<void> {
      if (!fail) return inner.append(lines);
      fail = false;
      return Promise.reject(new Error("The client is offline"));
    },
  });
}

const rows = (n: number, prefix: string): EventRow[] => Array.from({ length: n }, (_, i) => ({ ...sampleRecord({ objectId: `${prefix}${i}` }) }));

it("stores the events whose lines the list lost, found right after a failed append, and close() resolves", async () => {
  jest.useFakeTimers({ doNotFake: ["Date", "hrtime", "nextTick", "queueMicrotask", "setImmediate", "clearImmediate", "setInterval", "clearInterval", "setTimeout", "clearTimeout"] });
  const droppedBefore = auditMetrics().dropped;
  const spool = offlineOnce(redisSpool({ url, key }));
  const writer = new BufferedWriter({ store: prismaStore(db.prisma), flushIntervalMs: 60_000, maxBatchSize: 100, maxBufferedEvents: 10_000, spool, onSpoolFull: "block", logger: recordingLogger() });
  const spooled = rows(5, "spooled");
  await Promise.all(spooled.map((row) => writer.enqueue(row))); // in the list, with copies in memory; not stored yet
  await admin.del(key); // the list is lost; nobody has seen it yet
  spool.failNextAppend();
  const last = { ...sampleRecord({ objectId: "last" }) };
  // Its append is the one close() waits for before reading the spool: it fails.
  const acknowledged = writer.enqueue(last);
  const closed = writer.close().then(
    () => "resolved",
    (error: unknown) => `rejected: ${String(error)}`,
  );
  await acknowledged;
  expect(await closed).toBe("resolved");
  expect({ spooled: writer.spooled(), listed: await admin.lLen(key) }).toEqual({ spooled: 0, listed: 0 });
  const stored = await db.prisma.$queryRawUnsafe<{ id: string; n: bigint }[]>("SELECT id::text AS id, count(*) AS n FROM audit_events GROUP BY id");
  expect(stored.map((r) => r.id).sort()).toEqual([...spooled, last].map((r) => r.id).sort());
  expect(stored.filter((r) => Number(r.n) > 1)).toEqual([]);
  expect(auditMetrics().dropped).toBe(droppedBefore);
});
