import { createClient } from "redis";
import { auditMetrics, memoryStore, redisSpool, type EventRow } from "../../src";
import { BufferedWriter } from "../../src/writer/buffered-writer";
import { sampleRecord } from "../conformance/store-conformance";
import { recordingLogger } from "./spool-conformance";
import { switchableStore } from "../support/switchable-store";

/**
 * Redis evicts the spool's list (maxmemory-policy allkeys-lru, or an operator's DEL) while
 * the writer still holds the evicted lines in memory beside the spool. The lock key is not
 * evicted, so acknowledgements still pass the lock check. When the store then fails once,
 * the writer leaves its lines to the spool (SpoolTail.unmirror), which no longer has them.
 * The spool's append (and its reads and acknowledgements) find the list shorter than
 * counted: it reports the loss (ERR_AUDIT_SPOOL_LOST, error level) and the writer appends
 * again every line it holds a copy of. It held all of them: none is counted as dropped.
 */
const url = process.env.AUDIT_TEST_REDIS_URL || "redis://127.0.0.1:6379";
const key = `audit-events-test:${process.pid}:evict`;
const admin = createClient({ url });
beforeAll(() => admin.connect());
afterAll(async () => {
  await admin.del([key, `${key}:bytes`, `${key}:lock`, `${key}:refused`]);
  await admin.close();
});


it("keeps acknowledged events whose Redis list was evicted while it held them, and reports the loss at error level", async () => {
  const droppedBefore = auditMetrics().dropped;
  const stored = memoryStore();
  const store = switchableStore(stored);
  const logger = recordingLogger();
  const writer = new BufferedWriter({ store, flushIntervalMs: 60_000, maxBatchSize: 1000, maxBufferedEvents: 10_000, spool: redisSpool({ url, key }), onSpoolFull: "block", logger });
  const rows = (n: number): EventRow[] => Array.from({ length: n }, (_, i) => ({ ...sampleRecord({ objectId: String(i) }) }));
  const first = rows(10);
  await Promise.all(first.map((r) => writer.enqueue(r))); // acknowledged: in the spool
  await admin.del(key); // the list is evicted (the lock and the byte counter stay)
  const second = rows(10);
  await Promise.all(second.map((r) => writer.enqueue(r))); // acknowledged too
  store.down = true;
  await writer.flush().catch(() => undefined); // one failed store write: the writer leaves everything to the spool
  store.down = false;
  await writer.flush();
  await writer.close();
  const ids = new Set(stored.list().map((e) => e.id));
  const lost = [...first, ...second].filter((r) => !ids.has(r.id)).length;
  const reported = logger.warnings.filter((w) => /holds 0 line\(s\) where 10 were appended/.test(w));
  expect({ lost, reported: reported.length }).toEqual({ lost: 0, reported: 1 });
  expect(auditMetrics().dropped).toBe(droppedBefore);
});
