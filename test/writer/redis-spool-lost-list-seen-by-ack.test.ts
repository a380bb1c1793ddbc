import { createClient } from "redis";
import { AuditContext, auditMetrics, closeAudit, configureAudit, flushAudit, memoryStore, redisSpool } from "../../src";
import { recordingLogger } from "./spool-conformance";

/**
 * The spool's list is deleted (an operator's DEL, or eviction) while the writer holds its
 * lines in memory beside it, the store up. The first to find the list short is then an
 * acknowledgement (the head is not the batch just stored), not an append: the events the
 * writer holds after that batch must be appended again, as when an append finds the loss,
 * never forgotten as if the list still held them.
 */
const url = process.env.AUDIT_TEST_REDIS_URL || "redis://127.0.0.1:6379";
const key = `audit-events-test:${process.pid}:lost-seen-by-ack`;
const admin = createClient({ url });
beforeAll(() => admin.connect());
afterAll(async () => {
  await admin.del([key, `${key}:bytes`, `${key}:lock`, `${key}:refused`]);
  await admin.close();
});

it("appends again the events it holds when an acknowledgement finds the list deleted, so none of them is lost", async () => {
  const store = memoryStore();
  const logger = recordingLogger();
  configureAudit({ store, writeMode: "buffered", flushIntervalMs: 60_000, maxBatchSize: 5, spool: redisSpool({ url, key }), logger });
  const droppedBefore = auditMetrics().dropped;
  const context = new AuditContext();
  // Acknowledged: each is in the list, and in the writer's memory beside it.
  const created = await Promise.all(Array.from({ length: 12 }, (_, i) => context.createEvent({ contentType: "Order", objectId: String(i) }, { n: i })));
  await admin.del(key);
  // The first batch of 5 is stored; its acknowledgement finds the list empty.
  await flushAudit().catch(() => undefined);
  await flushAudit();
  await closeAudit();
  const stored = new Set(store.list().map((e) => e.id));
  expect({ missing: created.filter((e) => !stored.has(e.id)).map((e) => e.objectId) }).toEqual({ missing: [] });
  expect(logger.warnings.join("\n")).toMatch(/acknowledged event\(s\) were removed from it/);
  // The writer held a copy of every line the list lost: none was dropped.
  expect(auditMetrics().dropped).toBe(droppedBefore);
});
