import { auditMetrics, prismaStore, redisSpool, type EventRow } from "../../src";
import { BufferedWriter } from "../../src/writer/buffered-writer";
import { sampleRecord } from "../conformance/store-conformance";
import { openDatabase, type TestDatabase } from "../support/databases";
import { recordingLogger } from "./spool-conformance";
import { redisSpoolKey } from "../support/redis-spool-key";

/**
 * With PostgreSQL up, `close()` meets a spool whose head is not the lines the writer
 * read (another client rotated the list: RPOPLPUSH of the key onto itself, so no line
 * is lost). Nothing is lost either way, but a close that resolved with the store
 * answering must have stored everything and left nothing counted in `spooled`: it reads
 * the list again and stores what it holds, rather than giving up after the first
 * acknowledgement that found the head moved.
 */

const { url, key, admin } = redisSpoolKey("close-head-moved");
let db: TestDatabase<"postgresql">;

beforeAll(async () => {
  db = await openDatabase("postgresql", { name: "redis_close_head_moved" });
});
afterAll(async () => {
  await db?.close();
});

const rows = (n: number): EventRow[] => Array.from({ length: n }, (_, i) => ({ ...sampleRecord({ objectId: `e${i}` }) }));

it("stores what the list holds and leaves nothing spooled when close() finds the list's head moved", async () => {
  const droppedBefore = auditMetrics().dropped;
  const writer = new BufferedWriter({ store: prismaStore(db.prisma), flushIntervalMs: 60_000, maxBatchSize: 100, maxBufferedEvents: 10_000, spool: redisSpool({ url, key }), onSpoolFull: "block", logger: recordingLogger() });
  const created = rows(5);
  await Promise.all(created.map((row) => writer.enqueue(row))); // in the list, and beside it in memory
  await admin.rPopLPush(key, key); // the last line is now the first: the head is not what the writer appended first
  await writer.close();
  // writer.spooled() is what auditMetrics().spooled reports for the configured writer.
  expect({ spooled: writer.spooled(), listed: await admin.lLen(key) }).toEqual({ spooled: 0, listed: 0 });
  const stored = await db.prisma.$queryRawUnsafe<{ id: string; n: bigint }[]>("SELECT id::text AS id, count(*) AS n FROM audit_events GROUP BY id");
  expect(stored.map((r) => r.id).sort()).toEqual(created.map((r) => r.id).sort());
  expect(stored.filter((r) => Number(r.n) > 1)).toEqual([]);
  expect(auditMetrics().dropped).toBe(droppedBefore);
});
