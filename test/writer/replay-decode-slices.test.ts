import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileSpool, memoryStore, type AuditSpool, type MemoryStore } from "../../src";
import { BufferedWriter } from "../../src/writer/buffered-writer";
import { encodeSpoolLine } from "../../src/writer/spool-line";
import { sampleRecord } from "../conformance/store-conformance";
import { recordingLogger } from "./spool-conformance";

/**
 * Lines read back from the spool (left by an outage or an earlier process) are decoded
 * 200 at a time, the event loop going round in between: decoding a whole batch at once
 * (JSON, checksum, MAC of up to maxBatchSize lines) held every timer, I/O callback and
 * acknowledgement behind it. Shown without timing: a callback the event loop runs on its
 * next round after the spool answered has run before the store is asked to write.
 */
const dir = mkdtempSync(path.join(tmpdir(), "audit-replay-slices-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it("lets the event loop go round while it decodes a batch read back from the spool", async () => {
  const file = path.join(dir, "spool.log");
  const rows = Array.from({ length: 450 }, (_, i) => ({ ...sampleRecord({ objectId: String(i) }) }));
  const earlier = fileSpool({ path: file });
  await earlier.open(recordingLogger());
  await earlier.append(rows.map((row) => encodeSpoolLine(row)));
  await earlier.close();

  const inner = fileSpool({ path: file });
  let wentRound = false;
  const spool: AuditSpool = {
    ...inner,
    peek: async (max) => {
      const batch = await inner.peek(max);
      setImmediate(() => void (wentRound = true));
      return batch;
    },
  };
  const stored = memoryStore();
  const seen: boolean[] = [];
  const store = Object.create(stored) as MemoryStore;
  store.writeRows = (given) => {
    seen.push(wentRound);
    return stored.writeRows(given);
  };
  const writer = new BufferedWriter({ store, flushIntervalMs: 60_000, maxBatchSize: 1000, maxBufferedEvents: 10_000, spool, onSpoolFull: "block", logger: recordingLogger() });
  await writer.flush();
  await writer.close();
  expect(stored.list().map((e) => e.id)).toEqual(rows.map((row) => row.id));
  expect(seen[0]).toBe(true);
});
