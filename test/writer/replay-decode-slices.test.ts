import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileSpool, memoryStore, type AuditSpool, type MemoryStore } from "../../src";
import { BufferedWriter } from "../../src/writer/buffered-writer";
import { encodeSpoolLine } from "../../src/writer/spool-line";
import { sampleRecord } from "../conformance/store-conformance";
import { recordingLogger } from "./spool-conformance";

/**
 * Lines read back from the spool (left by an outage or an earlier process) are read,
 * decoded, written and acknowledged 200 at a time, the event loop going round between two
 * slices: decoding a whole batch at once (JSON, checksum, MAC of up to maxBatchSize lines)
 * held every timer, I/O callback and acknowledgement behind it, and its decoded rows,
 * held through its writes, outlived the garbage collector's young-generation passes.
 * Shown without timing: a callback the event loop runs on its next round after a read
 * has run before the next read.
 */
const dir = mkdtempSync(path.join(tmpdir(), "audit-replay-slices-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it("reads back, decodes and writes a spool's lines 200 at a time, the event loop going round between slices", async () => {
  const file = path.join(dir, "spool.log");
  const rows = Array.from({ length: 450 }, (_, i) => ({ ...sampleRecord({ objectId: String(i) }) }));
  const earlier = fileSpool({ path: file });
  await earlier.open(recordingLogger());
  await earlier.append(rows.map((row) => encodeSpoolLine(row)));
  await earlier.close();

  const inner = fileSpool({ path: file });
  let wentRound = true;
  /** Per read: how many lines it asked for, and whether the event loop went round since the read before. */
  const reads: { max: number; wentRound: boolean }[] = [];
  const spool: AuditSpool = {
    ...inner,
    peek: async (max) => {
      reads.push({ max, wentRound });
      wentRound = false;
      const batch = await inner.peek(max);
      setImmediate(() => void (wentRound = true));
      return batch;
    },
  };
  const stored = memoryStore();
  const writes: number[] = [];
  const store = Object.create(stored) as MemoryStore;
  store.writeRows = (given) => {
    writes.push(given.length);
    return stored.writeRows(given);
  };
  const writer = new BufferedWriter({ store, flushIntervalMs: 60_000, maxBatchSize: 1000, maxBufferedEvents: 10_000, spool, onSpoolFull: "block", logger: recordingLogger() });
  await writer.flush();
  await writer.close();
  expect(stored.list().map((e) => e.id)).toEqual(rows.map((row) => row.id));
  expect(reads.map((r) => r.max)).toEqual([200, 200, 50]);
  expect(reads.every((r) => r.wentRound)).toBe(true);
  expect(writes).toEqual([200, 200, 50]);
});
