import { AuditError, auditMetrics, prismaStore, redisSpool, type AuditStore, type EventRow } from "../../src";
import { BufferedWriter } from "../../src/writer/buffered-writer";
import { sampleRecord } from "../conformance/store-conformance";
import { createPrismaClient } from "../support/archive-fixtures";
import { openDatabase, type TestDatabase } from "../support/databases";
import { startTcpProxy, throughProxy, type TcpProxy } from "../support/tcp-proxy";
import { recordingLogger } from "./spool-conformance";
import { redisSpoolKey } from "../support/redis-spool-key";

/**
 * `onSpoolFull: "throw"` rejects the createEvent of an event that does not fit a full
 * spool: its caller is told. Some events the writer appends have no caller any more: the
 * stand-in of an event that could not be encoded, and the lines appended again after the
 * list lost some (an operator's LTRIM). On a full spool, rejecting those tells nobody:
 * they must wait in memory for the store (so `close()` during an outage says they would
 * be lost), never vanish. PostgreSQL is cut off by a TCP proxy; Redis is the shared server,
 * under a key of this test's own.
 */

const { url, key, admin, resetKeys } = redisSpoolKey("full-throw");
let db: TestDatabase<"postgresql">;
let proxy: TcpProxy;
let proxied: { $disconnect(): Promise<void> };
let store: AuditStore;

beforeAll(async () => {
  db = await openDatabase("postgresql", { name: "redis_full_throw" });
  const { hostname, port } = new URL(db.url);
  proxy = await startTcpProxy({ host: hostname, port: Number(port) });
  const client = createPrismaClient("postgresql", throughProxy(db.url, proxy));
  proxied = client as unknown as { $disconnect(): Promise<void> };
  store = prismaStore(client);
});
beforeEach(() => resetKeys());
afterEach(async () => {
  proxy.restore();
  await db.reset();
});
afterAll(async () => {
  await proxied?.$disconnect();
  await proxy?.close();
  await db?.close();
});

const row = (tag: string): EventRow => ({ ...sampleRecord({ objectId: tag }) });

function writer(): BufferedWriter {
  return new BufferedWriter({ store, flushIntervalMs: 60_000, maxBatchSize: 10, maxBufferedEvents: 10_000, spool: redisSpool({ url, key, maxBytes: 4096 }), onSpoolFull: "throw", logger: recordingLogger() });
}

/** With the store cut off, creates events until the spool refuses one; returns those acknowledged. */
async function fill(w: BufferedWriter): Promise<EventRow[]> {
  proxy.cut();
  const acked: EventRow[] = [];
  for (let i = 0; ; i++) {
    const event = row(`fill${i}`);
    const refused = await w.enqueue(event).then(
      () => undefined,
      (error: unknown) => error,
    );
    if (refused === undefined) acked.push(event);
    else if (refused instanceof AuditError && refused.code === "ERR_AUDIT_SPOOL_FULL") return acked;
    else throw refused;
  }
}

/**
 * Closes `w` (PostgreSQL still cut off); when that fails, saying events would be lost,
 * PostgreSQL comes back and it is closed again. A next process then replays the list.
 */
async function closeThenReplay(w: BufferedWriter): Promise<{ id: string; objectId: string; contentType: string; n: number }[]> {
  const closed = await w.close().then(
    () => true,
    () => false,
  );
  proxy.restore();
  if (!closed) await w.close();
  const next = writer();
  await next.flush();
  await next.close();
  const stored = await db.prisma.$queryRawUnsafe<{ id: string; objectId: string; contentType: string; n: bigint }[]>(
    'SELECT id::text AS id, min("objectId") AS "objectId", min("contentType") AS "contentType", count(*) AS n FROM audit_events GROUP BY id',
  );
  return stored.map((r) => ({ ...r, n: Number(r.n) }));
}

describe('a full Redis spool under onSpoolFull: "throw"', () => {
  it("keeps the stand-in of an event that could not be encoded", async () => {
    const w = writer();
    const acked = await fill(w);
    // A BigInt inside content: JSON cannot encode it, so the event is refused, and its stand-in is to be stored.
    const bad = { ...row("bad"), content: { n: 1n } } as unknown as EventRow;
    await expect(w.enqueue(bad)).rejects.toMatchObject({ code: "ERR_AUDIT_EVENT_REFUSED" });
    const stored = await closeThenReplay(w);
    expect(stored.filter((r) => r.n > 1)).toEqual([]);
    expect(acked.filter((e) => !stored.some((r) => r.id === e.id)).map((e) => e.objectId)).toEqual([]);
    expect(stored.filter((r) => r.contentType === "AuditEvent").map((r) => r.objectId)).toEqual([bad.id]);
  });

  it("keeps the lines it appends again after another client trimmed the list's head", async () => {
    const droppedBefore = auditMetrics().dropped;
    const w = writer();
    const acked = await fill(w);
    expect(acked.length).toBeGreaterThan(2);
    await admin.lTrim(key, 1, -1); // another client removes the oldest line
    // The next append finds the list short, and appends again every line the writer holds,
    // which do not fit beside those still there. This event is refused (its caller is told).
    await expect(w.enqueue(row("late"))).rejects.toMatchObject({ code: "ERR_AUDIT_SPOOL_FULL" });
    const stored = await closeThenReplay(w);
    expect(stored.filter((r) => r.n > 1)).toEqual([]);
    expect(acked.filter((e) => !stored.some((r) => r.id === e.id)).map((e) => e.objectId)).toEqual([]);
    expect(auditMetrics().dropped - droppedBefore).toBe(0);
  });
});
