import fc from "fast-check";
import { setTimeout as realTimeout } from "node:timers/promises";
import { createClient } from "redis";
import { auditMetrics, prismaStore, redisSpool, type AuditStore, type EventRow } from "../../src";
import { BufferedWriter } from "../../src/writer/buffered-writer";
import { decodeSpoolLine } from "../../src/writer/spool-line";
import { sampleRecord } from "../conformance/store-conformance";
import { createPrismaClient } from "../support/archive-fixtures";
import { openDatabase, type TestDatabase } from "../support/databases";
import { startPrivateRedis, type PrivateRedis } from "../support/private-redis";
import { startTcpProxy, throughProxy, type TcpProxy } from "../support/tcp-proxy";
import { recordingLogger } from "./spool-conformance";

/**
 * Random schedules of what can happen to a Redis spool's list from outside (DEL, LTRIM of
 * its head, RENAME away, a rotation by RPOPLPUSH onto itself, FLUSHDB, a Redis killed and
 * restarted empty) and to PostgreSQL (cut off by a TCP proxy, and back), between creates,
 * flushes and closes (a close during an outage that resolves ends the process: a new one
 * takes the key over). Redis is a private server, so FLUSHDB and restarts touch nobody
 * else. At the end PostgreSQL is
 * back and a last process replays the list: every acknowledged event is stored exactly
 * once, but those an outside fault took from lines a process found left by an earlier one
 * (of which it holds no copy), which are counted in `dropped`. After every step the list
 * holds no event twice (a line appended again while the list still held it), and a close
 * that resolved leaves nothing spooled when neither PostgreSQL was cut off nor Redis
 * restarted before it (either leaves the spool to the next process, with reason).
 */

const key = `audit-events-test:${process.pid}:random-faults`;
let redis: PrivateRedis;
let admin: ReturnType<typeof createClient>;
let db: TestDatabase<"postgresql">;
let proxy: TcpProxy;
let proxied: { $disconnect(): Promise<void> };
let store: AuditStore;

async function connectAdmin(): Promise<void> {
  admin = createClient({ url: redis.url });
  admin.on("error", () => undefined);
  await admin.connect();
}

beforeAll(async () => {
  redis = await startPrivateRedis();
  await connectAdmin();
  db = await openDatabase("postgresql", { name: "redis_random_faults" });
  const { hostname, port } = new URL(db.url);
  proxy = await startTcpProxy({ host: hostname, port: Number(port) });
  const client = createPrismaClient("postgresql", throughProxy(db.url, proxy));
  proxied = client as unknown as { $disconnect(): Promise<void> };
  store = prismaStore(client);
});
afterAll(async () => {
  await admin?.close().catch(() => undefined);
  await proxied?.$disconnect();
  await proxy?.close();
  await db?.close();
  await redis?.stop();
});

type Step =
  | { kind: "create"; count: number }
  | { kind: "del" | "rename" | "rotate" | "flushdb" | "restart" | "flush" | "close" }
  | { kind: "ltrim"; lines: number }
  | { kind: "store"; down: boolean };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant("create" as const), count: fc.integer({ min: 1, max: 15 }) }) },
  { weight: 1, arbitrary: fc.constantFrom(...(["del", "rename", "rotate", "flushdb", "restart"] as const)).map((kind) => ({ kind })) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("ltrim" as const), lines: fc.integer({ min: 1, max: 5 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("store" as const), down: fc.boolean() }) },
  { weight: 2, arbitrary: fc.constantFrom(...(["flush", "close"] as const)).map((kind) => ({ kind })) },
);

/** The event ids the spool's list holds more than once. */
async function heldTwice(): Promise<string[]> {
  const ids = (await admin.lRange(key, 0, -1)).map((line) => {
    const decoded = decodeSpoolLine(line);
    return "row" in decoded ? decoded.row.id : line;
  });
  return ids.filter((id, i) => ids.indexOf(id) !== i);
}

const newWriter = (maxBatchSize: number, onSpoolFull: "block" | "throw") =>
  new BufferedWriter({ store, flushIntervalMs: 60_000, maxBatchSize, maxBufferedEvents: 10_000, spool: redisSpool({ url: redis.url, key }), onSpoolFull, logger: recordingLogger() });

describe("a Redis spool under random outside faults and PostgreSQL outages", () => {
  it("stores every acknowledged event exactly once, or counts it in dropped when it had no copy", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 8 }), fc.integer({ min: 1, max: 10 }), fc.constantFrom("block" as const, "throw" as const), (steps, maxBatchSize, policy) => {
        let at = "the start";
        const giveUp = new AbortController();
        const stalled = realTimeout(20_000, undefined, { signal: giveUp.signal }).then(() => Promise.reject(new Error(`the writer stalled at ${at}`)));
        stalled.catch(() => undefined);
        return Promise.race([schedule(steps, maxBatchSize, policy, (where) => (at = where)), stalled]).finally(() => giveUp.abort());
      }),
      { numRuns: 80, endOnFailure: true },
    );
  }, 600_000);

  // Found by CI (seed 367187218, path 34): a second LTRIM between the read that found the
  // first loss and the counters read again was taken as lines never held, and one event
  // went missing without being counted in dropped. Repeated: its timing depends on the run.
  it("counts in dropped a loss that grows between its finding and the counters read again", async () => {
    const steps = [{ kind: "store", down: true }, { kind: "create", count: 4 }, { kind: "close" }, { kind: "ltrim", lines: 3 }, { kind: "ltrim", lines: 1 }, { kind: "create", count: 12 }, { kind: "close" }];
    for (let run = 0; run < 12; run++) await schedule(steps as Step[], 3, "throw", () => undefined);
  }, 120_000);
});

async function schedule(steps: Step[], maxBatchSize: number, policy: "block" | "throw", note: (where: string) => void): Promise<void> {
  proxy.restore();
  await db.reset();
  await admin.del([key, `${key}:bytes`, `${key}:lock`, `${key}:refused`, `${key}:elsewhere`]);
  const droppedBefore = auditMetrics().dropped;
  const acked: string[] = [];
  let w = newWriter(maxBatchSize, policy);
  // Whether every store write could succeed and Redis always answered: a close that resolves must then leave nothing spooled.
  let steady = true;
  for (const [i, s] of steps.entries()) {
    note(`step ${i}`);
    expect(await heldTwice()).toEqual([]);
    switch (s.kind) {
      case "create": {
        const batch: EventRow[] = Array.from({ length: s.count }, (_, n) => ({ ...sampleRecord({ objectId: `s${i}-${n}` }) }));
        await Promise.all(batch.map((row) => w.enqueue(row).then(() => void acked.push(row.id), () => undefined)));
        break;
      }
      case "del":
        await admin.del(key);
        break;
      case "rename":
        if ((await admin.exists(key)) === 1) await admin.rename(key, `${key}:elsewhere`);
        break;
      case "rotate":
        // Its last line becomes its first: no line lost, but the head is not what was appended first.
        await admin.rPopLPush(key, key);
        break;
      case "flushdb":
        await admin.flushDb();
        break;
      case "restart":
        steady = false;
        await admin.close().catch(() => undefined);
        await redis.restart();
        await connectAdmin();
        break;
      case "ltrim":
        await admin.lTrim(key, s.lines, -1);
        break;
      case "store":
        if (s.down) {
          steady = false;
          proxy.cut();
        } else proxy.restore();
        break;
      case "flush":
        await w.flush().catch(() => undefined);
        break;
      case "close":
        // Resolved: the process exits, and the next one takes the key over; faults from here
        // on come once it holds the list (nobody can report a list lost while nobody holds it).
        if (await w.close().then(() => true, () => false)) {
          if (steady) expect(w.spooled()).toBe(0);
          w = newWriter(maxBatchSize, policy);
          expect(await (w as unknown as { ensureSpool(): Promise<boolean> }).ensureSpool()).toBe(true);
        }
        break;
    }
  }
  expect(await heldTwice()).toEqual([]);
  proxy.restore();
  note("the last close");
  await w.close();
  if (steady) expect(w.spooled()).toBe(0);
  const last = newWriter(maxBatchSize, policy);
  await last.flush();
  await last.close();
  if (steady) expect({ spooled: last.spooled(), listed: await admin.lLen(key) }).toEqual({ spooled: 0, listed: 0 });
  const stored = await db.prisma.$queryRawUnsafe<{ id: string; n: bigint }[]>("SELECT id::text AS id, count(*) AS n FROM audit_events GROUP BY id");
  const ids = new Set(stored.map((r) => r.id));
  // Only lines a process found left by an earlier one, of which it has no copy, may be lost to
  // an outside fault (a close that resolved hands the list over): each is counted in dropped.
  // Some of those may be stored after all (a store write whose reply was lost when PostgreSQL
  // was cut off): the lost lines are gone, so nobody can ask, and dropped counts them too.
  const dropped = auditMetrics().dropped - droppedBefore;
  const missing = acked.filter((id) => !ids.has(id)).length;
  expect(stored.filter((r) => Number(r.n) > 1)).toEqual([]);
  expect(missing).toBeLessThanOrEqual(dropped);
  if (!steps.some((s) => s.kind === "close")) expect({ missing, dropped }).toEqual({ missing: 0, dropped: 0 });
}
