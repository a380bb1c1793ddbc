import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

import { AuditContext, closeAudit, configureAudit, fileSpool, memoryStore, type MemoryStore } from "../../src";
import { recordingLogger } from "./spool-conformance";

/**
 * A file spool's events, spooled while the store was down, must reach the store once it
 * answers again, with no new event, flush or close to wake the writer. They did not when a
 * group commit ended while a write was failing: the commit left a timer due at once, the
 * failure's retry kept that earlier timer instead of its own, and the run it started found
 * the backoff not passed, tried nothing and left no timer: the lines waited in the spool
 * until the next event or the process's end (found by a test of this session whose store
 * came back 300 ms into an outage, 1 run in 2).
 */

const dir = mkdtempSync(path.join(tmpdir(), "audit-spool-retry-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  await closeAudit().catch(() => undefined);
  configureAudit({});
});

/**
 * `inner` whose first write, while down, waits for `fail()` and then fails as a refused
 * connection would; later writes while down fail at once. (A retry that came before the
 * test brought the store back, on a loaded machine, once waited at the gate for ever.)
 */
function gatedStore(inner: MemoryStore): MemoryStore & { down: boolean; writing: Promise<void>; fail(): void } {
  const store = Object.create(inner) as MemoryStore & { down: boolean; writing: Promise<void>; fail(): void };
  let started = () => undefined as void;
  let release = () => undefined as void;
  let gated = false;
  store.down = true;
  store.writing = new Promise<void>((resolve) => (started = resolve));
  store.fail = () => release();
  store.writeRows = async (rows) => {
    if (!store.down) return inner.writeRows(rows);
    if (!gated) {
      gated = true;
      started();
      await new Promise<void>((resolve) => (release = resolve));
    }
    throw new Error("connect ECONNREFUSED 127.0.0.1:5432 (test)");
  };
  return store;
}

it("writes what the spool holds once the store answers, when a commit ended during the failing write", async () => {
  const store = gatedStore(memoryStore());
  configureAudit({ store, writeMode: "buffered", flushIntervalMs: 20, spool: fileSpool({ path: path.join(dir, "retry.spool") }), logger: recordingLogger() });
  const context = new AuditContext();
  await context.createEvent({ contentType: "Order", objectId: "1" }, {});
  // The writer reads the line back and writes it: that write waits at the gate.
  await store.writing;
  // A second event's group commit ends while the write is in progress.
  await context.createEvent({ contentType: "Order", objectId: "2" }, {});
  // The write fails in the same turn: its retry is due after the backoff.
  store.fail();
  await new Promise((resolve) => setTimeout(resolve, 50));
  store.down = false;
  for (let waited = 0; store.list().length < 2 && waited < 5_000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
  expect(store.list().map((event) => event.objectId).sort()).toEqual(["1", "2"]);
});
