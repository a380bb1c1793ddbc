import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import fc from "fast-check";
import { fileSpool, memoryStore, type EventRow, type MemoryStore } from "../../src";
import { BufferedWriter } from "../../src/writer/buffered-writer";
import { sampleRecord } from "../conformance/store-conformance";
import { recordingLogger } from "./spool-conformance";

/**
 * With a spool, the writer feeds the store in slices of 200 rows. Whichever write of a
 * slice fails (before or after it took effect), every acknowledged event ends up stored,
 * once, in the order it was taken, and no write carries more than a slice.
 */

const dir = mkdtempSync(path.join(tmpdir(), "audit-sliced-feed-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `inner`, whose `failing`-th write fails once, before or after it took effect; records each write's ids. */
function failingOnce(inner: MemoryStore, failing: number, afterEffect: boolean): MemoryStore & { writes: string[][] } {
  const store = Object.create(inner) as MemoryStore & { writes: string[][] };
  store.writes = [];
  let call = 0;
  store.writeRows = async (rows) => {
    store.writes.push(rows.map((row) => row.id));
    if (++call !== failing) return inner.writeRows(rows);
    if (afterEffect) await inner.writeRows(rows);
    throw new Error("connect ECONNREFUSED 127.0.0.1:5432 (test)");
  };
  return store;
}

let run = 0;

it("stores every acknowledged event once, in order, in writes of at most 200 rows, whichever slice fails", async () => {
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 1, max: 1500 }), fc.integer({ min: 1, max: 8 }), fc.boolean(), async (count, failing, afterEffect) => {
      const stored = memoryStore();
      const store = failingOnce(stored, failing, afterEffect);
      const writer = new BufferedWriter({
        store,
        flushIntervalMs: 5,
        maxBatchSize: 1000,
        maxBufferedEvents: 2000,
        spool: fileSpool({ path: path.join(dir, `spool-${++run}.log`) }),
        onSpoolFull: "block",
        logger: recordingLogger(),
      });
      const rows: EventRow[] = Array.from({ length: count }, (_, i) => ({ ...sampleRecord({ objectId: String(i) }) }));
      await Promise.all(rows.map((row) => writer.enqueue(row)));
      for (let attempt = 1; ; attempt++) {
        const flushed = await writer.flush().then(() => writer.spooled() === 0, () => false);
        if (flushed) break;
        if (attempt === 200) throw new Error("the writer would not feed the store");
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await writer.close();
      expect(stored.list().map((event) => event.id)).toEqual(rows.map((row) => row.id));
      expect(Math.max(...store.writes.map((ids) => ids.length))).toBeLessThanOrEqual(200);
    }),
    { numRuns: 25 },
  );
}, 120_000);
