import { AuditContext, closeAudit, configureAudit, memoryStore, type MemoryStore } from "../../src";

/**
 * `closeAudit()` resolves only once every event whose `createEvent` resolved before it is
 * stored. It used to take its writer out of service first, so an event created while it
 * ran (a request finishing during shutdown) went to a new writer that nothing closed:
 * `closeAudit()` resolved without it, and the `process.exit()` after it lost it.
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
