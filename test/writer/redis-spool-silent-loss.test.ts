import { createClient } from "redis";
import { auditMetrics, prismaStore, redisSpool, type AuditStore, type EventRow } from "../../src";
import { BufferedWriter } from "../../src/writer/buffered-writer";
import { sampleRecord } from "../conformance/store-conformance";
import { createPrismaClient } from "../support/archive-fixtures";
import { openDatabase, type TestDatabase } from "../support/databases";
import { startPrivateRedis, type PrivateRedis } from "../support/private-redis";
import { startTcpProxy, throughProxy, type TcpProxy } from "../support/tcp-proxy";
import { recordingLogger } from "./spool-conformance";
import type { ReplySwitch } from "../support/redis-losing-replies";

/**
 * A Redis spool's list is lost in ways that take more than the list: Redis restarted
 * without persistence (the lock key goes too, so the next append finds the lock gone and
 * takes it again), or the reply that would have said the list was short is lost (the
 * spool reads its counters again). While PostgreSQL is cut off, the writer is closed: what
 * was acknowledged must then be in the list, for the next process to replay, or `close()`
 * must say events would be lost. The next process, with PostgreSQL back, must store every
 * acknowledged event, once, and `dropped` must stay 0 (this process held a copy of each).
 */

/** A switch that makes the spool's next script lose its reply after Redis ran it (a connection dropped then). */
const mockReplies: ReplySwitch = { loseNext: false };

jest.mock("redis", () => jest.requireActual<typeof import("../support/redis-losing-replies")>("../support/redis-losing-replies").redisLosingReplies(() => mockReplies));

const key = `audit-events-test:${process.pid}:silent-loss`;
let redis: PrivateRedis;
let db: TestDatabase<"postgresql">;
let proxy: TcpProxy;
let proxied: { $disconnect(): Promise<void> };
let store: AuditStore;

beforeAll(async () => {
  redis = await startPrivateRedis();
  db = await openDatabase("postgresql", { name: "redis_silent_loss" });
  const { hostname, port } = new URL(db.url);
  proxy = await startTcpProxy({ host: hostname, port: Number(port) });
  const client = createPrismaClient("postgresql", throughProxy(db.url, proxy));
  proxied = client as unknown as { $disconnect(): Promise<void> };
  store = prismaStore(client);
});
afterEach(async () => {
  mockReplies.loseNext = false;
  proxy.restore();
  await db.reset();
});
afterAll(async () => {
  await proxied?.$disconnect();
  await proxy?.close();
  await db?.close();
  await redis?.stop();
});

const rows = (tag: string, n: number): EventRow[] => Array.from({ length: n }, (_, i) => ({ ...sampleRecord({ objectId: `${tag}${i}` }) }));

function writer(): BufferedWriter {
  return new BufferedWriter({ store, flushIntervalMs: 60_000, maxBatchSize: 10, maxBufferedEvents: 10_000, spool: redisSpool({ url: redis.url, key }), onSpoolFull: "block", logger: recordingLogger() });
}

/** Resolves once every event of `batch` was acknowledged (appended to the list, or stored). */
const create = (w: BufferedWriter, batch: EventRow[]) => Promise.all(batch.map((row) => w.enqueue(row)));

/**
 * Closes `w` while PostgreSQL is cut off; when that fails (it says events would be lost),
 * PostgreSQL comes back and it is closed again. Then a next process replays the list.
 * Returns the acknowledged events that never reached the store, and the ids stored twice.
 */
async function closeThenReplay(w: BufferedWriter, acked: EventRow[]): Promise<{ missing: string[]; twice: string[] }> {
  const closed = await w.close().then(
    () => true,
    () => false,
  );
  proxy.restore();
  if (!closed) await w.close();
  const next = writer();
  await next.flush();
  await next.close();
  const stored = await db.prisma.$queryRawUnsafe<{ id: string; n: bigint }[]>("SELECT id::text AS id, count(*) AS n FROM audit_events GROUP BY id");
  const ids = new Set(stored.map((r) => r.id));
  return { missing: acked.map((r) => r.id).filter((id) => !ids.has(id)), twice: stored.filter((r) => Number(r.n) > 1).map((r) => r.id) };
}

describe("a Redis spool whose list is lost without the loss being seen as such, then closed during a store outage", () => {
  it("keeps every acknowledged event when Redis restarts empty (the lock lost with the list)", async () => {
    const droppedBefore = auditMetrics().dropped;
    const w = writer();
    const first = rows("a", 5);
    await create(w, first); // in the list, and copied in memory
    proxy.cut();
    await redis.restart(); // empty: list, byte counter and lock gone
    const second = rows("b", 3);
    await create(w, second); // appended once the spool's client is back (the store is down)
    expect(await closeThenReplay(w, [...first, ...second])).toEqual({ missing: [], twice: [] });
    expect(auditMetrics().dropped - droppedBefore).toBe(0);
  });

  it("keeps every acknowledged event when the reply that would have reported the loss is lost", async () => {
    const admin = createClient({ url: redis.url });
    await admin.connect();
    try {
      const droppedBefore = auditMetrics().dropped;
      const w = writer();
      const first = rows("a", 5);
      await create(w, first);
      proxy.cut();
      await admin.del(key);
      // The next append finds the list short, but its answer never arrives: the spool reads
      // its counters again (the list is empty).
      mockReplies.loseNext = true;
      const second = rows("b", 3);
      await create(w, second);
      expect(await closeThenReplay(w, [...first, ...second])).toEqual({ missing: [], twice: [] });
      expect(auditMetrics().dropped - droppedBefore).toBe(0);
    } finally {
      await admin.close();
    }
  });
});
