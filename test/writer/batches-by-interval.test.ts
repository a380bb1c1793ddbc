import { memoryStore, type MemoryStore } from "../../src";
import { BufferedWriter } from "../../src/writer/buffered-writer";
import { sampleRecord } from "../conformance/store-conformance";
import { recordingLogger } from "./spool-conformance";

/**
 * Without a spool, the buffered writer writes a batch once `maxBatchSize` events wait or
 * the oldest has waited `flushIntervalMs`, as documented. It used to go on writing, once a
 * timer had started a write, whatever came while the write before ran: at 5 000 events/s
 * against PostgreSQL, 1 605 writes of 3 events at the median in 2 s, each a transaction,
 * instead of 11 writes of about 1 000.
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
