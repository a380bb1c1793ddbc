import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { auditMetrics, fileSpool, memoryStore, type EventRow } from "../../src";
import { BufferedWriter } from "../../src/writer/buffered-writer";
import { sampleRecord } from "../conformance/store-conformance";
import { recordingLogger } from "./spool-conformance";
import { switchableStore } from "../support/switchable-store";

/** onSpoolFull under a store outage: block never deadlocks; drop-oldest's count is what was lost. */
const dir = mkdtempSync(path.join(tmpdir(), "audit-spool-full-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

const rows = (k: number): EventRow[] => Array.from({ length: k }, (_, i) => ({ ...sampleRecord({ objectId: String(i) }) }));

it("block: every caller is acknowledged and stored once the store comes back", async () => {
  const stored = memoryStore();
  const store = switchableStore(stored, { down: true });
  const writer = new BufferedWriter({ store, flushIntervalMs: 20, maxBatchSize: 10, maxBufferedEvents: 50, spool: fileSpool({ path: path.join(dir, `s${++n}.log`), maxBytes: 4096 }), onSpoolFull: "block", logger: recordingLogger() });
  const all = rows(200);
  const acks = all.map((r) => writer.enqueue(r));
  await new Promise((resolve) => setTimeout(resolve, 500));
  store.down = false;
  let deadline: NodeJS.Timeout | undefined;
  await Promise.race([Promise.all(acks), new Promise((_, reject) => (deadline = setTimeout(() => reject(new Error("block deadlocked")), 20_000)))]).finally(() => clearTimeout(deadline));
  await writer.flush();
  await writer.close();
  const ids = new Set(stored.list().map((e) => e.id));
  expect(all.filter((r) => !ids.has(r.id))).toEqual([]);
  expect(stored.list().length).toBe(200);
}, 30_000);

it("drop-oldest: `dropped` equals the acknowledged events that never reached the store", async () => {
  const stored = memoryStore();
  const store = switchableStore(stored, { down: true });
  const before = auditMetrics().dropped;
  const writer = new BufferedWriter({ store, flushIntervalMs: 20, maxBatchSize: 10, maxBufferedEvents: 50, spool: fileSpool({ path: path.join(dir, `s${++n}.log`), maxBytes: 4096 }), onSpoolFull: "drop-oldest", logger: recordingLogger() });
  const all = rows(200);
  const acked: string[] = [];
  await Promise.all(all.map((r) => writer.enqueue(r).then(() => void acked.push(r.id))));
  store.down = false;
  await writer.flush();
  await writer.close();
  const ids = new Set(stored.list().map((e) => e.id));
  const lost = acked.filter((id) => !ids.has(id)).length;
  expect(lost).toBeGreaterThan(0);
  expect(auditMetrics().dropped - before).toBe(lost);
}, 30_000);
