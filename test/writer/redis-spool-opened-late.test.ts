import { setTimeout as realTimeout } from "node:timers/promises";
import { prismaStore, redisSpool, type AuditStore, type EventRow } from "../../src";
import { BufferedWriter } from "../../src/writer/buffered-writer";
import { sampleRecord } from "../conformance/store-conformance";
import { createPrismaClient } from "../support/archive-fixtures";
import { openDatabase, type TestDatabase } from "../support/databases";
import { startPrivateRedis, type PrivateRedis } from "../support/private-redis";
import { startTcpProxy, throughProxy, type TcpProxy } from "../support/tcp-proxy";
import { recordingLogger } from "./spool-conformance";

/**
 * The spool's Redis is not up when the writer starts (it cannot be opened), and PostgreSQL
 * is cut off: events wait in memory, where a crash loses them. Once Redis is up, the spool
 * is to be opened again (the README: "reported and retried") and the waiting events
 * appended to it, acknowledged, without any new event coming to try it, and without the
 * store. Redis is a private server, started after the writer; PostgreSQL is behind a TCP proxy.
 */

let redis: PrivateRedis;
let db: TestDatabase<"postgresql">;
let proxy: TcpProxy;
let proxied: { $disconnect(): Promise<void> };
let store: AuditStore;

beforeAll(async () => {
  redis = await startPrivateRedis();
  db = await openDatabase("postgresql", { name: "redis_opened_late" });
  const { hostname, port } = new URL(db.url);
  proxy = await startTcpProxy({ host: hostname, port: Number(port) });
  const client = createPrismaClient("postgresql", throughProxy(db.url, proxy));
  proxied = client as unknown as { $disconnect(): Promise<void> };
  store = prismaStore(client);
});
afterAll(async () => {
  await proxied?.$disconnect();
  await proxy?.close();
  await db?.close();
  await redis?.stop();
});

it("appends the events that waited in memory once the spool can be opened, with the store still down", async () => {
  await redis.stop();
  proxy.cut();
  const logger = recordingLogger();
  const key = `audit-events-test:${process.pid}:opened-late`;
  const writer = new BufferedWriter({ store, flushIntervalMs: 60_000, maxBatchSize: 10, maxBufferedEvents: 10_000, spool: redisSpool({ url: redis.url, key }), onSpoolFull: "block", logger });
  const events: EventRow[] = Array.from({ length: 3 }, (_, i) => ({ ...sampleRecord({ objectId: `late${i}` }) }));
  const acknowledged = Promise.all(events.map((row) => writer.enqueue(row)));
  while (!logger.warnings.some((w) => w.includes("could not open spool"))) await realTimeout(10);
  await redis.restart(); // up now; the spool is retried 5 s after it could not be opened
  // Appended to the spool, PostgreSQL never back meanwhile (within three retry times).
  expect(await Promise.race([acknowledged.then(() => "acknowledged"), realTimeout(15_000, "still waiting after 15 s")])).toBe("acknowledged");
  expect(writer.buffered()).toBe(0);
  expect(writer.spooled()).toBe(3);
  proxy.restore();
  await writer.close();
  const stored = new Set((await db.prisma.$queryRawUnsafe<{ id: string }[]>("SELECT id::text AS id FROM audit_events")).map((r) => r.id));
  expect(events.filter((row) => !stored.has(row.id)).map((row) => row.objectId)).toEqual([]);
});
