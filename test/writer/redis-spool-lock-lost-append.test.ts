import { createClient } from "redis";
import { memoryStore, redisSpool, type EventRow } from "../../src";
import { BufferedWriter } from "../../src/writer/buffered-writer";
import { sampleRecord } from "../conformance/store-conformance";
import { recordingLogger } from "./spool-conformance";

/**
 * Process A holds redisSpool key K; its lock lapses (Redis restarted without persistence, or
 * A was unreachable/paused past the 30 s TTL) and process B, started with the same key and
 * retrying its open every 5 s, takes the lock. A's appends do not check the lock
 * (redis-spool.ts append: a plain MULTI RPUSH/INCRBY), so A goes on acknowledging events into
 * B's list. B feeds its own events from memory and acknowledges them by count from the head
 * (ACK_SCRIPT: LTRIM <count>), which trims A's lines, never stored. If A dies (kill -9) before
 * it stored them itself, A's acknowledged events were gone. Now A's append checks the lock
 * in the same script (so A stores its events directly, its callers told once stored), and
 * an acknowledgement trims only when the head is the batch read.
 */
const url = process.env.AUDIT_TEST_REDIS_URL || "redis://127.0.0.1:6379";
const key = `audit-events-test:${process.pid}:lock-lost`;
const admin = createClient({ url });
beforeAll(() => admin.connect());
afterAll(async () => {
  await admin.del([key, `${key}:bytes`, `${key}:lock`, `${key}:refused`]);
  await admin.close();
});

const rows = (tag: string, n: number): EventRow[] => Array.from({ length: n }, (_, i) => ({ ...sampleRecord({ objectId: `${tag}${i}` }) }));

it("an event acknowledged by a process that lost its Redis lock is never trimmed unstored", async () => {
  const stored = memoryStore();
  const writerOf = () =>
    new BufferedWriter({ store: stored, flushIntervalMs: 60_000, maxBatchSize: 1000, maxBufferedEvents: 10_000, spool: redisSpool({ url, key }), onSpoolFull: "block", logger: recordingLogger() });
  const a = writerOf();
  await a.enqueue(rows("warmup", 1)[0]!); // A has opened the spool and holds the lock
  await a.flush();
  await admin.del(`${key}:lock`); // A's lock lapses
  const b = writerOf(); // B (same key) takes it
  await b.flush();
  const fromA = rows("a", 5);
  await Promise.all(fromA.map((r) => a.enqueue(r))); // acknowledged to A's callers
  const fromB = rows("b", 5);
  await Promise.all(fromB.map((r) => b.enqueue(r)));
  await b.flush(); // B stores its own five and acknowledges five lines at the head
  // A is killed -9 now: abandoned without a flush. The next process replays what the list holds.
  await b.close();
  const c = writerOf();
  await c.flush();
  await c.close();
  const ids = new Set(stored.list().map((e) => e.id));
  const lost = fromA.filter((r) => !ids.has(r.id)).map((r) => r.objectId);
  await a.close(); // only now: A was "killed" before it could store anything it held
  expect(lost).toEqual([]);
});
