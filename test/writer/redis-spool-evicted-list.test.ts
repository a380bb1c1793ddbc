import { createClient } from "redis";
import { auditMetrics, memoryStore, redisSpool, type EventRow } from "../../src";
import { BufferedWriter } from "../../src/writer/buffered-writer";
import { sampleRecord } from "../conformance/store-conformance";
import { recordingLogger } from "./spool-conformance";
import { switchableStore } from "../support/switchable-store";

/**
 * Redis evicts the spool's list (maxmemory-policy allkeys-lru, or an operator's DEL) while
 * its lines wait for a store that fails. The lock key is not evicted, so appends and
 * acknowledgements still pass the lock check. The spool's next append (or read, or
 * acknowledgement) finds the list shorter than counted: it reports the loss
 * (ERR_AUDIT_SPOOL_LOST, error level) and the writer appends again every line it holds a
 * copy of (the copies a spool that may lose lines gets). It held all of them: none is
 * counted as dropped.
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
  store.down = true; // the lines wait in the spool
  const first = rows(10);
  await Promise.all(first.map((r) => writer.enqueue(r))); // acknowledged: in the spool
  await admin.del(key); // the list is evicted (the lock and the byte counter stay)
  const second = rows(10);
  await Promise.all(second.map((r) => writer.enqueue(r))); // acknowledged too
  await writer.flush().catch(() => undefined); // the store still fails
  store.down = false;
  await writer.flush();
  await writer.close();
  const ids = new Set(stored.list().map((e) => e.id));
  const lost = [...first, ...second].filter((r) => !ids.has(r.id)).length;
  const reported = logger.warnings.filter((w) => /holds 0 line\(s\) where 10 were appended/.test(w));
  expect({ lost, reported: reported.length }).toEqual({ lost: 0, reported: 1 });
  expect(auditMetrics().dropped).toBe(droppedBefore);
});
