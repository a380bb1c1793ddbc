/** A buffered writer on a file spool in a process whose file size limit (ulimit -f) the spool outgrows. */
import { fileSpool, memoryStore, type EventRow } from "../../src";
import { BufferedWriter } from "../../src/writer/buffered-writer";
import { sampleRecord } from "../conformance/store-conformance";

async function main(): Promise<void> {
  const stored = memoryStore();
  const warnings: string[] = [];
  const writer = new BufferedWriter({ store: stored, flushIntervalMs: 1000, maxBatchSize: 50, maxBufferedEvents: 5000, spool: fileSpool({ path: process.argv[2]!, compactAfterBytes: 1 << 30 }), onSpoolFull: "block", logger: { warn: (m) => warnings.push(m) } });
  const rows: EventRow[] = Array.from({ length: 2000 }, (_, i) => ({ ...sampleRecord({ objectId: String(i) }) }));
  const acked: string[] = [];
  await Promise.all(rows.map((r) => writer.enqueue(r).then(() => void acked.push(r.id))));
  await writer.flush();
  await writer.close();
  const ids = new Set(stored.list().map((e) => e.id));
  process.stdout.write(JSON.stringify({ acked: acked.length, stored: ids.size, lost: acked.filter((id) => !ids.has(id)).length, warnings: warnings.slice(0, 3) }) + "\n");
}
void main();
