import { auditMetrics, memoryStore, redisSpool, type AuditSpool, type EventRow } from "../../src";
import { BufferedWriter } from "../../src/writer/buffered-writer";
import { decodeSpoolLine, encodeSpoolLine } from "../../src/writer/spool-line";
import { sampleRecord } from "../conformance/store-conformance";
import { switchableStore } from "../support/switchable-store";
import { recordingLogger } from "./spool-conformance";
import { redisSpoolKey } from "../support/redis-spool-key";

/**
 * The spool's Redis list loses some of its lines, not all (another client trimmed its
 * head), while the store is down and the writer holds a copy of every line. The writer
 * must append again only the lines the list lacks: a line appended again while the list
 * still holds it is held twice, counts twice against `maxBytes` and `spooled`, and under
 * `onSpoolFull: "drop-oldest"` pushes real lines out, counted in `dropped` though no
 * event was lost.
 */

const { url, key, admin, resetKeys } = redisSpoolKey("append-again-once");
beforeEach(resetKeys);

const rows = (tag: string, n: number): EventRow[] => Array.from({ length: n }, (_, i) => ({ ...sampleRecord({ objectId: `${tag}${i}` }) }));
const lineBytes = Buffer.byteLength(encodeSpoolLine(rows("size", 1)[0]!)) + 1;

/** The event ids the list holds more than once. */
async function heldTwice(): Promise<string[]> {
  const ids = (await admin.lRange(key, 0, -1)).map((line) => {
    const decoded = decodeSpoolLine(line);
    return "row" in decoded ? decoded.row.id : line;
  });
  return ids.filter((id, i) => ids.indexOf(id) !== i);
}

/**
 * `spool` whose appends number `at` (counted from 1) each find one line trimmed off the
 * list's head by another client just before they reach Redis.
 */
function trimmedBeforeAppends(spool: AuditSpool, at: readonly number[]): AuditSpool {
  let appends = 0;
  return {
    ...spool,
    async append(lines) {
      if (at.includes(++appends)) await admin.lTrim(key, 1, -1);
      return spool.append(lines);
    },
  };
}

function lab(onSpoolFull: "block" | "drop-oldest", maxBytes?: number, wrap = (spool: AuditSpool) => spool) {
  const stored = memoryStore();
  const store = switchableStore(stored, { down: true });
  const spool = wrap(redisSpool({ url, key, maxBytes }));
  const writer = new BufferedWriter({ store, flushIntervalMs: 60_000, maxBatchSize: 100, maxBufferedEvents: 10_000, spool, onSpoolFull, logger: recordingLogger() });
  const acked: string[] = [];
  const create = (batch: EventRow[]) => Promise.all(batch.map((row) => writer.enqueue(row).then(() => void acked.push(row.id))));
  return { stored, store, writer, acked, create };
}

describe("a Redis list that lost some of its lines during a store outage", () => {
  it.each(["block", "drop-oldest"] as const)("appends again only the lines it lacks, once each (onSpoolFull %s)", async (policy) => {
    const droppedBefore = auditMetrics().dropped;
    // Room for the 11 events, not for the 7 lines still held appended a second time.
    const t = lab(policy, Math.max(1024, 14 * lineBytes));
    await t.create(rows("a", 10));
    await t.writer.flush().catch(() => undefined); // the store fails: the list alone is read from now
    await admin.lTrim(key, 3, -1); // another client trims three lines off its head
    await t.create(rows("b", 1)); // this append finds the list short, and the writer appends again what it lacks
    expect(await heldTwice()).toEqual([]);
    expect(await admin.lLen(key)).toBe(11);
    expect(t.writer.spooled()).toBe(11);
    expect(auditMetrics().dropped - droppedBefore).toBe(0);
    t.store.down = false;
    await t.writer.flush();
    await t.writer.close();
    const ids = t.stored.list().map((e) => e.id);
    expect({ missing: t.acked.filter((id) => !ids.includes(id)), twice: ids.length - new Set(ids).size, spooled: t.writer.spooled() }).toEqual({ missing: [], twice: 0, spooled: 0 });
    expect(auditMetrics().dropped - droppedBefore).toBe(0);
  });

  it("appends each line once when a second loss is found while the first loss's lines are appended again", async () => {
    const droppedBefore = auditMetrics().dropped;
    // The second append finds a0 gone; appending a0 again (the third) finds a1 gone too, while
    // the copies the first loss queued wait: each loss queues a copy of every line.
    const t = lab("block", undefined, (spool) => trimmedBeforeAppends(spool, [2, 3]));
    await t.create(rows("a", 5));
    await t.create(rows("b", 1));
    expect(await heldTwice()).toEqual([]);
    expect({ listed: await admin.lLen(key), spooled: t.writer.spooled() }).toEqual({ listed: 6, spooled: 6 });
    t.store.down = false;
    await t.writer.flush();
    await t.writer.close();
    const ids = t.stored.list().map((e) => e.id);
    expect({ missing: t.acked.filter((id) => !ids.includes(id)), twice: ids.length - new Set(ids).size, spooled: t.writer.spooled(), listed: await admin.lLen(key) }).toEqual({ missing: [], twice: 0, spooled: 0, listed: 0 });
    expect(auditMetrics().dropped - droppedBefore).toBe(0);
  });
});
