import { setTimeout as realTimeout } from "node:timers/promises";
import fc from "fast-check";
import { auditMetrics, memoryStore, redisSpool, type EventRow, type MemoryStore } from "../../src";
import { BufferedWriter } from "../../src/writer/buffered-writer";
import { sampleRecord } from "../conformance/store-conformance";
import { decodeSpoolLine, encodeSpoolLine } from "../../src/writer/spool-line";
import { recordingLogger } from "./spool-conformance";
import { switchableStore } from "../support/switchable-store";
import { pausableSpool, type Pause, type PausePoint } from "../support/pausable-spool";
import { redisSpoolKey } from "../support/redis-spool-key";
import type { ReplySwitch } from "../support/redis-losing-replies";

/**
 * The spool's Redis list is deleted (an operator's DEL, eviction, a restart without
 * persistence) again and again, at the worst moments: while the lines found missing are
 * being appended again, while an acknowledgement or an append is between the writer and
 * Redis, across a store outage (when the writer leaves its lines to the spool), and when
 * the reply that would have reported the loss is itself lost. An event acknowledged to its
 * caller must be in the store, in the writer's memory or in the list at every moment: a
 * deletion must never take its last copy, and `dropped` counts only events that had no
 * other. The interleavings are forced with pauses inside the spool's calls, not with
 * sleeps; the writer's timers are stopped, so only the steps of a test move it. Under
 * random interleavings, with parts of the list lost too (its head trimmed), the list never
 * holds an event twice either.
 */

/** A switch that makes the spool's next script lose its reply after Redis ran it (a connection dropped then). */
const mockReplies: ReplySwitch = { loseNext: false };

jest.mock("redis", () => jest.requireActual<typeof import("../support/redis-losing-replies")>("../support/redis-losing-replies").redisLosingReplies(() => mockReplies));

const { url, key, admin, resetKeys } = redisSpoolKey("lost-twice");
beforeEach(async () => {
  await resetKeys();
  jest.useFakeTimers({ doNotFake: ["nextTick", "queueMicrotask", "setImmediate", "performance", "hrtime"] });
});
afterEach(() => jest.useRealTimers());

const rows = (tag: string, n: number): EventRow[] => Array.from({ length: n }, (_, i) => ({ ...sampleRecord({ objectId: `${tag}${i}` }) }));

interface Lab {
  writer: BufferedWriter;
  spool: ReturnType<typeof pausableSpool>;
  store: MemoryStore & { down: boolean };
  stored: MemoryStore;
  acked: string[];
  /** Enqueues `batch`; resolves once every event of it was acknowledged (or refused). */
  create(batch: EventRow[]): Promise<void>;
}

function lab(maxBatchSize = 10): Lab {
  const stored = memoryStore();
  const store = switchableStore(stored);
  const spool = pausableSpool(redisSpool({ url, key }));
  const writer = new BufferedWriter({ store, flushIntervalMs: 60_000, maxBatchSize, maxBufferedEvents: 10_000, spool, onSpoolFull: "block", logger: recordingLogger() });
  const acked: string[] = [];
  const create = async (batch: EventRow[]) => {
    await Promise.all(batch.map((row) => writer.enqueue(row).then(() => void acked.push(row.id), () => undefined)));
  };
  return { writer, spool, store, stored, acked, create };
}

/** Stores what is left, closes, and returns the acknowledged events not stored, and how many stored events no caller was told of. */
async function settle({ writer, store, stored, acked }: Lab): Promise<{ missing: string[]; unacknowledgedStored: number }> {
  store.down = false;
  await writer.flush();
  await writer.close();
  const ids = stored.list().map((e) => e.id);
  const told = new Set(acked);
  return { missing: acked.filter((id) => !ids.includes(id)), unacknowledgedStored: ids.filter((id) => !told.has(id)).length };
}

describe("a Redis list deleted twice", () => {
  it("loses no acknowledged event when the list is deleted again right after the lines found missing were appended again, then the store fails", async () => {
    const droppedBefore = auditMetrics().dropped;
    const t = lab();
    await t.create(rows("a", 20)); // acknowledged: in the list, and beside it in memory
    await admin.del(key);
    // The next append finds the list short and appends the held lines again: the list is
    // deleted again right after Redis ran that append, before the writer noted it.
    const ran = t.spool.pauseAt("append-ran");
    const second = t.create(rows("b", 10));
    await ran.reached;
    await admin.del(key);
    ran.release();
    await second;
    // The store fails once: the writer leaves what it fed from memory to the spool.
    t.store.down = true;
    await t.writer.flush().catch(() => undefined);
    expect(await settle(t)).toEqual({ missing: [], unacknowledgedStored: 0 });
    expect(t.acked).toHaveLength(30);
    expect(auditMetrics().dropped - droppedBefore).toBe(0);
  });

  it("loses no acknowledged event when the list is deleted while an acknowledgement and an append are both on their way", async () => {
    const droppedBefore = auditMetrics().dropped;
    const t = lab(5);
    await t.create(rows("a", 5));
    // The feeder stores the batch and sends its acknowledgement; it waits before Redis.
    const ackSent = t.spool.pauseAt("ack-sent");
    const flushed = t.writer.flush().catch(() => undefined);
    await ackSent.reached;
    // Meanwhile new events are appended; Redis runs that append, the writer has not noted it yet.
    const appendRan = t.spool.pauseAt("append-ran");
    const second = t.create(rows("b", 5));
    await appendRan.reached;
    await admin.del(key);
    // The acknowledgement finds the list gone, and the writer hears it, while the append's
    // lines are not noted yet (a turn of the event loop runs all it does before its next I/O).
    const ackFailed = t.spool.pauseAt("ack-failed");
    ackSent.release();
    await ackFailed.reached;
    ackFailed.release();
    await new Promise((resolve) => setImmediate(resolve));
    appendRan.release();
    await second;
    await flushed;
    t.store.down = true;
    await t.writer.flush().catch(() => undefined);
    await admin.del(key);
    expect(await settle(t)).toEqual({ missing: [], unacknowledgedStored: 0 });
    expect(t.acked).toHaveLength(10);
    expect(auditMetrics().dropped - droppedBefore).toBe(0);
  });

  it("appends again at once, with no flush, the lines of an append that was on its way when a loss was found", async () => {
    const t = lab(5);
    await t.create(rows("a", 5));
    // The feeder's timer (a full batch) stores the batch and sends its acknowledgement.
    const ackSent = t.spool.pauseAt("ack-sent");
    jest.advanceTimersToNextTimer();
    await ackSent.reached;
    const appendRan = t.spool.pauseAt("append-ran");
    const second = rows("b", 5);
    const acked = t.create(second);
    await appendRan.reached;
    await admin.del(key);
    const ackFailed = t.spool.pauseAt("ack-failed");
    ackSent.release();
    await ackFailed.reached;
    ackFailed.release();
    await new Promise((resolve) => setImmediate(resolve));
    // The loss is handled; the append on its way is noted now, its callers told.
    const again = t.spool.pauseAt("append-ran");
    appendRan.release();
    await acked;
    // Before the writer does anything else, its lines are in the list again: a crash now loses none.
    await Promise.race([again.reached, realTimeout(5000)]);
    expect(again.isReached()).toBe(true);
    const listed = (await admin.lRange(key, 0, -1)).join("\n");
    expect(second.filter((row) => !listed.includes(row.id))).toEqual([]);
    again.release();
    expect(await settle(t)).toEqual({ missing: [], unacknowledgedStored: 0 });
  });

  it("loses no acknowledged event when the list is deleted during a store outage, and again while the missing lines are appended again", async () => {
    const droppedBefore = auditMetrics().dropped;
    const t = lab();
    await t.create(rows("a", 15));
    t.store.down = true;
    await t.writer.flush().catch(() => undefined); // the spool alone is fed from now
    await t.create(rows("b", 15)); // acknowledged during the outage
    await admin.del(key);
    const ran = t.spool.pauseAt("append-ran");
    const third = t.create(rows("c", 5)); // finds the list short
    await ran.reached;
    await admin.del(key);
    ran.release();
    await third;
    await t.writer.flush().catch(() => undefined);
    expect(await settle(t)).toEqual({ missing: [], unacknowledgedStored: 0 });
    expect(t.acked).toHaveLength(35);
    expect(auditMetrics().dropped - droppedBefore).toBe(0);
  });

  it("counts in dropped only the lines it did not hold: those an earlier process left", async () => {
    // An earlier process left 7 lines in the list (acknowledged to its callers, never stored).
    const earlier = redisSpool({ url, key });
    await earlier.open(recordingLogger());
    await earlier.append(rows("left", 7).map((row) => encodeSpoolLine(row)));
    await earlier.close();
    const droppedBefore = auditMetrics().dropped;
    const t = lab();
    t.store.down = true;
    await t.create(rows("own", 12));
    await admin.del(key);
    await t.create(rows("more", 3));
    expect(await settle(t)).toEqual({ missing: [], unacknowledgedStored: 0 });
    expect(auditMetrics().dropped - droppedBefore).toBe(7);
  });

  it("appends again the lines it holds when the reply that would have reported the loss was lost", async () => {
    const droppedBefore = auditMetrics().dropped;
    const t = lab();
    await t.create(rows("a", 5));
    await admin.del(key);
    // The next append finds the list short, but its answer never arrives: the spool reads its
    // counters again (the list is empty) and reports a failure, not a loss.
    mockReplies.loseNext = true;
    const second = t.create(rows("b", 3));
    await t.writer.flush().catch(() => undefined);
    await second;
    expect(await settle(t)).toEqual({ missing: [], unacknowledgedStored: 0 });
    expect(t.acked).toHaveLength(8);
    expect(auditMetrics().dropped - droppedBefore).toBe(0);
  });
});

type Step =
  | { kind: "create"; count: number }
  | { kind: "delete" }
  | { kind: "trim"; lines: number }
  | { kind: "store"; down: boolean }
  | { kind: "flush" }
  | { kind: "delete-after-append"; count: number }
  | { kind: "delete-before-ack" }
  | { kind: "delete-between-ack-and-append"; count: number };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("create" as const), count: fc.integer({ min: 1, max: 12 }) }) },
  { weight: 2, arbitrary: fc.constant({ kind: "delete" as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("trim" as const), lines: fc.integer({ min: 1, max: 5 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("store" as const), down: fc.boolean() }) },
  { weight: 2, arbitrary: fc.constant({ kind: "flush" as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("delete-after-append" as const), count: fc.integer({ min: 1, max: 12 }) }) },
  { weight: 2, arbitrary: fc.constant({ kind: "delete-before-ack" as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("delete-between-ack-and-append" as const), count: fc.integer({ min: 1, max: 12 }) }) },
);

/** The event ids the spool's list holds more than once. */
async function heldTwice(): Promise<string[]> {
  const ids = (await admin.lRange(key, 0, -1)).map((line) => {
    const decoded = decodeSpoolLine(line);
    return "row" in decoded ? decoded.row.id : line;
  });
  return ids.filter((id, i) => ids.indexOf(id) !== i);
}

/** Whether a call reached `pause` before `done` settled; if not, the pause is taken back. */
async function reached(t: Lab, point: PausePoint, pause: Pause, done: Promise<unknown>): Promise<boolean> {
  await Promise.race([pause.reached, done]);
  if (!pause.isReached()) t.spool.unpause(point);
  return pause.isReached();
}

const oneTurn = () => new Promise((resolve) => setImmediate(resolve));

async function run(t: Lab, s: Step, tag: string): Promise<void> {
  switch (s.kind) {
    case "create":
      return t.create(rows(tag, s.count));
    case "delete":
      await admin.del(key);
      return;
    case "trim":
      // Part of the list lost (its head trimmed by another client): the rest must not be appended twice.
      await admin.lTrim(key, s.lines, -1);
      return;
    case "store":
      t.store.down = s.down;
      return;
    case "flush":
      await t.writer.flush().catch(() => undefined);
      return;
    case "delete-after-append": {
      const ran = t.spool.pauseAt("append-ran");
      const created = t.create(rows(tag, s.count));
      if (await reached(t, "append-ran", ran, created)) {
        await admin.del(key);
        ran.release();
      }
      return created;
    }
    case "delete-before-ack": {
      const sent = t.spool.pauseAt("ack-sent");
      const flushed = t.writer.flush().catch(() => undefined);
      if (await reached(t, "ack-sent", sent, flushed)) {
        await admin.del(key);
        sent.release();
      }
      await flushed;
      return;
    }
    case "delete-between-ack-and-append": {
      const sent = t.spool.pauseAt("ack-sent");
      const flushed = t.writer.flush().catch(() => undefined);
      if (!(await reached(t, "ack-sent", sent, flushed))) return;
      const ran = t.spool.pauseAt("append-ran");
      const created = t.create(rows(tag, s.count));
      const appended = await reached(t, "append-ran", ran, created);
      await admin.del(key);
      const failed = t.spool.pauseAt("ack-failed");
      sent.release();
      if (await reached(t, "ack-failed", failed, flushed)) {
        failed.release();
        await oneTurn();
      }
      if (appended) ran.release();
      await created;
      await flushed;
      return;
    }
  }
}

describe("a Redis list deleted under random interleavings", () => {
  it("keeps every acknowledged event, stored once, and drops none the writer held, whatever appends, acknowledgements, deletions and store outages come", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 12 }), fc.integer({ min: 1, max: 10 }), async (steps, maxBatchSize) => {
        await resetKeys();
        const droppedBefore = auditMetrics().dropped;
        const t = lab(maxBatchSize);
        let at = "step 0";
        const steady = async () => {
          for (let i = 0; i < steps.length; i++) {
            at = `step ${i}`;
            await run(t, steps[i]!, `s${i}-`);
            // No line appended again while the list still held it.
            expect(await heldTwice()).toEqual([]);
          }
          at = "the last flush";
          return settle(t);
        };
        // The writer's timers are stopped: a writer that waits for one stalls here, and says where.
        const giveUp = new AbortController();
        const stalled = realTimeout(10_000, undefined, { signal: giveUp.signal }).then(() => Promise.reject(new Error(`the writer stalled at ${at}`)));
        stalled.catch(() => undefined);
        try {
          expect(await Promise.race([steady(), stalled])).toEqual({ missing: [], unacknowledgedStored: 0 });
        } finally {
          giveUp.abort();
        }
        expect(auditMetrics().dropped - droppedBefore).toBe(0);
      }),
      { numRuns: 200 },
    );
  }, 120_000);
});
