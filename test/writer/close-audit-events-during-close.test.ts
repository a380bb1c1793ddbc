import { AuditContext, closeAudit, configureAudit, memoryStore, verifyAuditTrail, type MemoryStore } from "../../src";

/**
 * `closeAudit()` resolves only once every event whose `createEvent` resolved before it is
 * stored. It used to take its writer out of service first, so an event created while it
 * ran (a request finishing during shutdown) went to a new writer that nothing closed:
 * `closeAudit()` resolved without it, and the `process.exit()` after it lost it. An
 * attacker's pass then found three ways round the first fix, each failing every run: a
 * second `closeAudit()` at once (two shutdown hooks) resolved while the first closed that
 * new writer; `configureAudit()` during the close retired it where no round looked; and
 * with `integrity` its chain's head was left unsigned, the chains closed under it.
 */

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** `inner` whose writes each take `ms`. */
function slowStore(inner: MemoryStore, ms: number): MemoryStore {
  const store = Object.create(inner) as MemoryStore;
  store.writeRows = async (rows) => {
    await sleep(ms);
    return inner.writeRows(rows);
  };
  return store;
}

afterEach(async () => {
  await closeAudit();
  configureAudit({});
});

/** Starts `closeAudit()`, noting when it resolved. */
function startClose(): { closing: Promise<void>; resolved: () => boolean } {
  let done = false;
  const closing = closeAudit().then(() => {
    done = true;
  });
  return { closing, resolved: () => done };
}

it.each([0, 1, 2, 3, 5, 8, 13, 21, 34])("stores an event created %i ms into closeAudit(), before it resolves", async (delay) => {
  const inner = memoryStore();
  configureAudit({ store: slowStore(inner, 50), writeMode: "buffered", flushIntervalMs: 60_000 });
  const ctx = new AuditContext();
  await ctx.createEvent({ contentType: "Order", objectId: "before" });
  const { closing, resolved } = startClose();
  await sleep(delay);
  expect(resolved()).toBe(false);
  await ctx.createEvent({ contentType: "Order", objectId: "during" });
  await closing;
  expect(inner.list().map((event) => event.objectId).sort()).toEqual(["before", "during"]);
});

it("stores an event whose createEvent resolved before closeAudit(), at every microtask offset", async () => {
  let before = 0;
  for (let offset = 0; offset < 60; offset++) {
    const inner = memoryStore();
    configureAudit({ store: inner, writeMode: "buffered", flushIntervalMs: 60_000 });
    const ctx = new AuditContext();
    await ctx.createEvent({ contentType: "Order", objectId: "before" });
    const settled: string[] = [];
    const closing = closeAudit().then(() => settled.push("closeAudit"));
    for (let i = 0; i < offset; i++) await Promise.resolve();
    const created = ctx.createEvent({ contentType: "Order", objectId: "during" }).then(() => settled.push("createEvent"));
    await Promise.all([closing, created]);
    // One that resolved after closeAudit() is a later event: a new writer holds it.
    if (settled[0] === "closeAudit") await closeAudit();
    else before++;
    expect({ offset, stored: inner.list().map((event) => event.objectId).sort() }).toEqual({ offset, stored: ["before", "during"] });
  }
  expect(before).toBeGreaterThan(5);
  expect(before).toBeLessThan(60);
});

it("keeps going round while events keep coming, and resolves once they stop", async () => {
  const inner = memoryStore();
  configureAudit({ store: slowStore(inner, 5), writeMode: "buffered", flushIntervalMs: 60_000 });
  const ctx = new AuditContext();
  let created = 0;
  const stream = (async () => {
    const until = performance.now() + 200;
    while (performance.now() < until) {
      await ctx.createEvent({ contentType: "Order", objectId: String(created) });
      created++;
      await sleep(1);
    }
  })();
  await sleep(20);
  const stored = await closeAudit().then(() => ({ created, stored: inner.list().length }));
  await stream;
  // Every event created before closeAudit() resolved was stored by then: it waited for the stream's end.
  expect(stored.stored).toBeGreaterThanOrEqual(stored.created);
  expect(stored.created).toBeGreaterThan(20);
  await closeAudit();
  expect(inner.list()).toHaveLength(created);
});

const KEY = "a test secret of at least thirty-two characters, xyz";

it("stores the event for every one of two closeAudit() calls made at once", async () => {
  const inner = memoryStore();
  configureAudit({ store: slowStore(inner, 30), writeMode: "buffered", flushIntervalMs: 60_000 });
  const ctx = new AuditContext();
  await ctx.createEvent({ contentType: "Order", objectId: "before" });
  const seen: string[][] = [];
  const stored = () => seen.push(inner.list().map((event) => event.objectId).sort());
  const both = Promise.all([closeAudit().then(stored), closeAudit().then(stored)]);
  await sleep(5);
  await ctx.createEvent({ contentType: "Order", objectId: "during" });
  await both;
  expect(seen).toEqual([
    ["before", "during"],
    ["before", "during"],
  ]);
});

it("stores an event created during closeAudit() when configureAudit() replaces the store meanwhile", async () => {
  const first = memoryStore();
  const second = memoryStore();
  configureAudit({ store: slowStore(first, 20), writeMode: "buffered", flushIntervalMs: 60_000 });
  const ctx = new AuditContext();
  await ctx.createEvent({ contentType: "Order", objectId: "before" });
  const closing = closeAudit();
  await sleep(10);
  await ctx.createEvent({ contentType: "Order", objectId: "during" });
  configureAudit({ store: slowStore(second, 20), writeMode: "buffered", flushIntervalMs: 60_000 });
  await closing;
  expect(first.list().map((event) => event.objectId).sort()).toEqual(["before", "during"]);
  expect(second.list()).toEqual([]);
});

it("with integrity, signs the head of the chain an event created during closeAudit() went into", async () => {
  const inner = memoryStore();
  const store = slowStore(inner, 20);
  // A database's checkpoint insert takes a round trip, as its event inserts do.
  store.insertCheckpoint = async (checkpoint, options) => {
    await sleep(5);
    return inner.insertCheckpoint!(checkpoint, options);
  };
  configureAudit({ store, writeMode: "buffered", flushIntervalMs: 60_000, integrity: { key: KEY } });
  const ctx = new AuditContext();
  await ctx.createEvent({ contentType: "Order", objectId: "before" });
  const closing = closeAudit();
  await sleep(5);
  await ctx.createEvent({ contentType: "Order", objectId: "during" });
  await closing;
  // Read at once: nothing signed later counts.
  const report = await verifyAuditTrail({ store: inner, key: KEY, uncoveredGraceMs: 0 });
  expect(inner.list().map((event) => event.objectId).sort()).toEqual(["before", "during"]);
  expect(report.problems).toEqual([]);
  expect(report.ok).toBe(true);
});
