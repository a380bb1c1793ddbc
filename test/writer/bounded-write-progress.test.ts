import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

import { setTimeout as sleep } from "node:timers/promises";

import { AuditContext, AuditStoreError, closeAudit, configureAudit, fileSpool, flushAudit, memoryStore, verifyAuditTrail, type MemoryStore } from "../../src";

/**
 * A store whose transactions cannot outgrow a size (a slow database and a transaction time
 * limit) must still get every event: the buffered writer hands it writes of a bounded
 * size. Before, a batch of large events went as one write; the store failed it, the writer
 * read that as an outage, and retried the same batch, forever.
 */
const MiB = 1024 * 1024;
/** The writer's bound (32 MiB) and some room for the hash chain's fields, which a row's spool line does not hold. */
const STORE_TAKES_BYTES = 33 * MiB;
const KEY = "bounded-write-progress-key-0123456789abcdef";

/** `inner`, but a write larger than `takes` bytes of JSON fails as an interactive transaction past its time limit does. */
function timeBoundStore(inner: MemoryStore, takes: number): MemoryStore & { refused: number; largest: number } {
  const store = Object.create(inner) as MemoryStore & { refused: number; largest: number };
  store.refused = 0;
  store.largest = 0;
  store.writeRows = (rows) => {
    const bytes = Buffer.byteLength(JSON.stringify(rows), "utf8");
    if (bytes > takes) {
      store.refused++;
      const error = Object.assign(new Error("Transaction API error: Transaction already closed: A commit cannot be executed on an expired transaction. The timeout for this transaction was 60000 ms (test)."), { code: "P2028" });
      return Promise.reject(error);
    }
    store.largest = Math.max(store.largest, bytes);
    return inner.writeRows(rows);
  };
  return store;
}

/** The buffered writer on `store`, with a file spool in `dir` and `integrity` as asked. */
function configureBuffered(store: MemoryStore, dir: string, { spool, integrity }: { spool: boolean; integrity: boolean }): void {
  configureAudit({
    store,
    writeMode: "buffered",
    flushIntervalMs: 600_000,
    logger: { warn: () => undefined },
    ...(spool ? { spool: fileSpool({ path: path.join(dir, "spool.log"), maxBytes: 256 * MiB }) } : {}),
    ...(integrity ? { integrity: { key: KEY } } : {}),
  });
}

async function within<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no progress in ${ms} ms: the writer retries the same batch`)), ms)));
  return Promise.race([work, late]).finally(() => clearTimeout(timer));
}

jest.setTimeout(180_000);
describe.each([
  { spool: false, integrity: false },
  { spool: true, integrity: false },
  { spool: false, integrity: true },
  { spool: true, integrity: true },
])("a buffered batch of 40 events of 1 MB (spool: $spool, integrity: $integrity)", ({ spool, integrity }) => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), "bounded-write-"));
  });
  afterAll(async () => {
    await closeAudit();
    configureAudit({});
    rmSync(dir, { recursive: true, force: true });
  });

  it("is stored whole, each event once, in order, by a store that takes no write above 33 MiB", async () => {
    const inner = memoryStore();
    const store = timeBoundStore(inner, STORE_TAKES_BYTES);
    configureBuffered(store, dir, { spool, integrity });
    const ctx = new AuditContext();
    const created = [];
    for (let i = 0; i < 40; i++) created.push(await ctx.createEvent({ contentType: "Upload", objectId: i }, { file: "x".repeat(1_000_000) }));
    await within(60_000, flushAudit());
    const stored = inner.list();
    expect({ ids: stored.map((e) => e.id), refused: store.refused, largestWithin: store.largest <= STORE_TAKES_BYTES }).toEqual({
      ids: created.map((e) => e.id),
      refused: 0,
      largestWithin: true,
    });
    if (integrity) expect(await verifyAuditTrail({ store: inner, key: KEY })).toMatchObject({ ok: true, problems: [], verified: 40 });
  });
});

/**
 * Flushes until `store` holds `count` events: a failed flush leaves its events to the
 * writer's next try, and with a spool a flush ends once they are in it.
 */
async function flushUntilStored(store: MemoryStore, count: number): Promise<void> {
  for (;;) {
    try {
      await flushAudit();
    } catch (error) {
      if (!(error instanceof AuditStoreError)) throw error;
    }
    if (store.list().length >= count) return;
    await sleep(50);
  }
}

/** `store`, also noting how many events each write it was handed held, and whether it took it. */
function countingWrites(store: MemoryStore & { refused: number; largest: number }): typeof store & { writes: { events: number; taken: boolean }[] } {
  const counting = Object.create(store) as typeof store & { writes: { events: number; taken: boolean }[] };
  counting.writes = [];
  counting.writeRows = (rows) => {
    const write = { events: rows.length, taken: false };
    counting.writes.push(write);
    return store.writeRows!(rows).then(() => void (write.taken = true));
  };
  return counting;
}

/**
 * A store slower still: no write above 2.5 MiB finishes within its time limit, under the
 * writer's own bound. A write that ran out of time makes the writer's writes smaller (half
 * its weight), so the retries get through with 2 events a write; before, the batch was
 * retried whole, for ever. The smaller size holds for the writes after it, and doubles back
 * after ten minutes without a write running out of time.
 */
describe.each([
  { spool: false, integrity: false },
  { spool: true, integrity: true },
])("a buffered batch of 40 events of 1 MB to a store that takes 2.5 MiB a write (spool: $spool, integrity: $integrity)", ({ spool, integrity }) => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), "bounded-write-"));
  });
  afterAll(async () => {
    jest.useRealTimers();
    await closeAudit();
    configureAudit({});
    rmSync(dir, { recursive: true, force: true });
  });

  it("is stored whole, each event once, in order, in smaller writes after one ran out of time; later writes stay small for ten minutes", async () => {
    const inner = memoryStore();
    const store = countingWrites(timeBoundStore(inner, 2.5 * MiB));
    configureBuffered(store, dir, { spool, integrity });
    const ctx = new AuditContext();
    // Created together, as a burst of requests would: with a spool, the store is fed as soon
    // as lines are appended, so events created one after the other go one a write.
    const create = (count: number) => Promise.all(Array.from({ length: count }, (_, i) => ctx.createEvent({ contentType: "Upload", objectId: i }, { file: "x".repeat(1_000_000) })));
    const created = await create(40);
    await within(60_000, flushUntilStored(inner, 40));
    expect({ ids: inner.list().map((e) => e.id), largestWithin: store.largest <= 2.5 * MiB }).toEqual({ ids: created.map((e) => e.id), largestWithin: true });
    expect(store.refused).toBeGreaterThan(0);
    // The most events a write held once writes got through.
    const small = Math.max(...store.writes.filter((w) => w.taken).map((w) => w.events));

    // The next batch goes at once in writes of the size that got through: none refused.
    const refused = store.refused;
    store.writes.length = 0;
    await create(8);
    await within(60_000, flushUntilStored(inner, 48));
    expect({ refused: store.refused - refused, largestWrite: Math.max(...store.writes.map((w) => w.events)) }).toEqual({ refused: 0, largestWrite: small });

    // Ten minutes later the writer tries writes twice as large again (here refused once more).
    jest.useFakeTimers({ doNotFake: ["nextTick", "setImmediate", "clearImmediate", "setTimeout", "clearTimeout", "setInterval", "clearInterval", "queueMicrotask", "performance", "hrtime"] });
    jest.setSystemTime(Date.now() + 10 * 60_000);
    store.writes.length = 0;
    await create(8);
    await within(60_000, flushUntilStored(inner, 56));
    jest.useRealTimers();
    expect(store.writes[0]).toEqual({ events: 2 * small, taken: false });
    expect(inner.list()).toHaveLength(56);
    // Closing signs the chain's last events (a checkpoint): the whole trail verifies.
    await closeAudit();
    if (integrity) expect(await verifyAuditTrail({ store: inner, key: KEY })).toMatchObject({ ok: true, problems: [], verified: 56 });
  });
});
