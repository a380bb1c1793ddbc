import { memoryStore, type MemoryStore } from "../../src";
import { BufferedWriter } from "../../src/writer/buffered-writer";
import { sampleRecord } from "../conformance/store-conformance";
import { recordingLogger } from "./spool-conformance";

/**
 * Without a spool, the buffered writer writes a batch once `maxBatchSize` events wait or
 * the oldest has waited `flushIntervalMs`, as documented. It used to go on writing, once a
 * timer had started a write, whatever came while the write before ran: at 5 000 events/s
 * against PostgreSQL, 1 605 writes of 3 events at the median in 2 s, each a transaction,
 * instead of 11 writes of about 1 000. What waited through a failed write goes as soon as
 * the store may be tried (an attacker's pass found it waiting for its interval after a
 * failed flush: a minute, with the process held up), an interval beyond setTimeout's limit
 * does not spin, and close() writes or refuses an event taken while it ends.
 */

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** `inner` whose first write waits until `release()`; every write's size is noted in `writes`. */
function firstWriteGated(inner: MemoryStore): MemoryStore & { writes: number[]; writing: Promise<void>; release(): void } {
  const store = Object.create(inner) as MemoryStore & { writes: number[]; writing: Promise<void>; release(): void };
  let started = () => undefined as void;
  let open = () => undefined as void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  store.writes = [];
  store.writing = new Promise<void>((resolve) => (started = resolve));
  store.release = () => open();
  store.writeRows = async (rows) => {
    store.writes.push(rows.length);
    if (store.writes.length === 1) {
      started();
      await gate;
    }
    return inner.writeRows(rows);
  };
  return store;
}

const row = (i: number) => ({ ...sampleRecord({ objectId: String(i) }) });
const writers: BufferedWriter[] = [];
afterEach(async () => {
  await Promise.all(writers.splice(0).map((writer) => writer.close()));
});

function writerOf(store: MemoryStore, options: { flushIntervalMs: number; maxBatchSize: number }): BufferedWriter {
  const writer = new BufferedWriter({ store, ...options, maxBufferedEvents: 10_000, spool: undefined, onSpoolFull: "block", logger: recordingLogger() });
  writers.push(writer);
  return writer;
}

it("leaves events that came during a write for the interval, when they make no full batch", async () => {
  const store = firstWriteGated(memoryStore());
  const writer = writerOf(store, { flushIntervalMs: 1000, maxBatchSize: 1000 });
  await writer.enqueue(row(0));
  await store.writing;
  for (let i = 1; i <= 5; i++) await writer.enqueue(row(i));
  const cameAt = performance.now();
  store.release();
  await sleep(300);
  // Written 300 ms after the write before it ended, the 5 would have gone without waiting their interval.
  expect(store.writes).toEqual([1]);
  while (store.writes.length < 2 && performance.now() - cameAt < 10_000) await sleep(20);
  expect(store.writes).toEqual([1, 5]);
  expect(performance.now() - cameAt).toBeGreaterThanOrEqual(1000 - 1);
  expect(store.list()).toHaveLength(6);
});

it("writes a full batch at once, and the rest after the interval or on flush", async () => {
  const store = firstWriteGated(memoryStore());
  store.release();
  const writer = writerOf(store, { flushIntervalMs: 60_000, maxBatchSize: 5 });
  for (let i = 0; i < 12; i++) await writer.enqueue(row(i));
  const started = performance.now();
  while (store.writes.length < 2 && performance.now() - started < 10_000) await sleep(10);
  await sleep(100);
  expect(store.writes).toEqual([5, 5]);
  await writer.flush();
  expect(store.writes).toEqual([5, 5, 2]);
  expect(store.list().map((event) => event.objectId)).toEqual(Array.from({ length: 12 }, (_, i) => String(i)));
});

it("makes a flush that comes during a write started by the interval store what came meanwhile too", async () => {
  const store = firstWriteGated(memoryStore());
  const writer = writerOf(store, { flushIntervalMs: 200, maxBatchSize: 1000 });
  await writer.enqueue(row(0));
  await store.writing;
  await writer.enqueue(row(1));
  const flushed = writer.flush();
  store.release();
  await flushed;
  expect(store.writes).toEqual([1, 1]);
  expect(store.list().map((event) => event.objectId)).toEqual(["0", "1"]);
});

/** `inner` failing every write after 2 ms, as a refused connection does, while `down`. */
function downStore(inner: MemoryStore): MemoryStore & { down: boolean; attempts: number } {
  const store = Object.create(inner) as MemoryStore & { down: boolean; attempts: number };
  store.down = true;
  store.attempts = 0;
  store.writeRows = async (rows) => {
    store.attempts++;
    if (store.down) {
      // A refusal takes a round trip: events come meanwhile, and with them timers.
      await sleep(2);
      throw Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });
    }
    return inner.writeRows(rows);
  };
  return store;
}

it("retries what a failed flush left in the background once the store may be tried, not after the interval", async () => {
  const store = downStore(memoryStore());
  const writer = writerOf(store, { flushIntervalMs: 60_000, maxBatchSize: 1000 });
  for (let i = 0; i < 3; i++) await writer.enqueue(row(i));
  await expect(writer.flush()).rejects.toThrow(/still in memory/);
  store.down = false;
  const back = performance.now();
  while (store.list().length < 3 && performance.now() - back < 10_000) await sleep(20);
  expect(store.list().map((event) => event.objectId)).toEqual(["0", "1", "2"]);
  // The first retry comes after 50-100 ms of backoff; the interval is a minute.
  expect(performance.now() - back).toBeLessThan(5_000);
  expect(writer.buffered()).toBe(0);
});

it("waits an interval longer than setTimeout's limit without its timer firing again and again", async () => {
  // setTimeout fires a longer delay after 1 ms: the writer's timer found nothing due and started again, every millisecond.
  const timers = jest.spyOn(globalThis, "setTimeout");
  try {
    const store = firstWriteGated(memoryStore());
    store.release();
    const writer = writerOf(store, { flushIntervalMs: 30 * 24 * 3600 * 1000, maxBatchSize: 1000 });
    await writer.enqueue(row(0));
    timers.mockClear();
    await sleep(200);
    // The sleep's own timer, and no other.
    expect(timers.mock.calls.length).toBeLessThanOrEqual(1);
    expect(store.writes).toEqual([]);
    await writer.flush();
    expect(store.writes).toEqual([1]);
  } finally {
    timers.mockRestore();
  }
});

it("never takes an event during close() that it then leaves unwritten", async () => {
  // An event enqueued `offset` microtasks after close()'s last write: close() either writes it or refuses it.
  for (let offset = 0; offset < 40; offset++) {
    const inner = memoryStore();
    const store = Object.create(inner) as MemoryStore;
    const writer = new BufferedWriter({ store, flushIntervalMs: 200, maxBatchSize: 1000, maxBufferedEvents: 10_000, spool: undefined, onSpoolFull: "block", logger: recordingLogger() });
    await writer.enqueue(row(0));
    let late: Promise<"taken" | "refused"> | undefined;
    store.writeRows = async (rows) => {
      const written = await inner.writeRows(rows);
      let step = 0;
      const later = () => {
        if (step++ < offset) return queueMicrotask(later);
        late ??= writer.enqueue(row(1)).then(() => "taken" as const, () => "refused" as const);
      };
      queueMicrotask(later);
      return written;
    };
    await writer.close();
    const outcome = await late;
    expect({ offset, outcome, stored: store.list().length }).toEqual({ offset, outcome, stored: outcome === "taken" ? 2 : 1 });
    expect(writer.buffered()).toBe(0);
  }
});

it("tries a failing store once its backoff has passed, however often new events come", async () => {
  const store = downStore(memoryStore());
  const writer = writerOf(store, { flushIntervalMs: 200, maxBatchSize: 100 });
  const started = performance.now();
  let i = 0;
  while (performance.now() - started < 2000) {
    void writer.enqueue(row(i++));
    await sleep(1);
  }
  // A backoff of 50-100 ms, doubling: a handful of attempts in 2 s. The timers new events
  // set while a failing write ran came first, and each started another write: 250 a second.
  expect(store.attempts).toBeGreaterThanOrEqual(2);
  expect(store.attempts).toBeLessThanOrEqual(15);
  store.down = false;
  await writer.flush();
  expect(store.list().map((event) => event.objectId)).toEqual(Array.from({ length: i }, (_, k) => String(k)));
});
