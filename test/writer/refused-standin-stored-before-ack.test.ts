import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileSpool, memoryStore, type AuditSpool, type EventRow, type MemoryStore } from "../../src";
import { BufferedWriter } from "../../src/writer/buffered-writer";
import { sampleRecord } from "../conformance/store-conformance";
import { recordingLogger } from "./spool-conformance";

/**
 * A spooled event the store refuses (a CHECK constraint): the writer acknowledges (removes)
 * its spool line as soon as the batch's write returns, but the stand-in that is to mark the
 * hole in the trail is only queued in memory (buffered-writer.ts refuse(): queue.unshift +
 * kick), to be appended to the spool afterwards. A kill -9 between the two leaves neither the
 * refused line nor its stand-in anywhere durable: the trail shows no hole, only a log line does.
 * The stand-in's append and the refused line's acknowledgement run concurrently (the
 * acknowledgement never waits for it), so any append slower than the head's write opens the window.
 * (The crash is simulated as in test/writer/write-ahead-faults.test.ts: after the ack that
 * removed the refused line, the spool and the store stop answering for good.)
 * Now the stand-ins of a batch are stored before its lines are acknowledged.
 */
const dir = mkdtempSync(path.join(tmpdir(), "audit-refused-standin-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function refusing(inner: MemoryStore, refusedObjectId: string): MemoryStore & { dead: boolean } {
  const store = Object.create(inner) as MemoryStore & { dead: boolean };
  store.dead = false;
  store.writeRows = (rows) => {
    if (store.dead) return Promise.reject(new Error("connect ECONNREFUSED (test: the process is dead)"));
    if (rows.some((r) => r.objectId === refusedObjectId)) {
      return Promise.reject(Object.assign(new Error('new row violates check constraint "my_check" (test)'), { meta: { code: "23514" } }));
    }
    return inner.writeRows(rows);
  };
  return store;
}

/** Dies (every later call fails) right after its first acknowledgement took effect. */
function diesAfterFirstAck(inner: AuditSpool, onDeath: () => void): AuditSpool {
  let dead = false;
  const gone = () => Promise.reject(new Error("the process is dead (test)"));
  return {
    name: inner.name,
    maxBytes: inner.maxBytes,
    open: (l) => (dead ? gone() : inner.open(l)),
    usedBytes: () => inner.usedBytes(),
    count: () => inner.count(),
    // An fdatasync of the spool file can take longer than the small synced write of its head
    // file: here the stand-in's append takes 50 ms, and a kill in the meantime stops it.
    append: async (lines) => {
      if (dead) return gone();
      if (lines.some((l) => l.includes('"contentType":"AuditEvent"'))) await new Promise((resolve) => setTimeout(resolve, 50));
      if (dead) return gone();
      return inner.append(lines);
    },
    peek: (max) => (dead ? gone() : inner.peek(max)),
    ack: async (batch, count) => {
      if (dead) return gone();
      await inner.ack(batch, count);
      dead = true;
      onDeath(); // SIGKILL: the store is gone for this process too
    },
    close: () => (dead ? gone() : inner.close()),
    setAside: (lines) => (dead ? gone() : inner.setAside!(lines)),
  };
}

it("a refused spooled event still leaves its stand-in in the trail after a crash right after its line's acknowledgement", async () => {
  const file = path.join(dir, "audit.log");
  const stored = memoryStore();
  const store = refusing(stored, "refused-one");
  const writer = new BufferedWriter({ store, flushIntervalMs: 10_000, maxBatchSize: 100, maxBufferedEvents: 1000, spool: diesAfterFirstAck(fileSpool({ path: file }), () => (store.dead = true)), onSpoolFull: "block", logger: { ...recordingLogger(), error: () => undefined } });
  const rows: EventRow[] = ["ok-1", "refused-one", "ok-2"].map((objectId) => ({ ...sampleRecord({ objectId }) }));
  await Promise.all(rows.map((r) => writer.enqueue(r))); // all three acknowledged (durable in the spool)
  await writer.flush().catch(() => undefined); // writes ok-1, ok-2, refuses refused-one, acks the three lines ... and dies
  store.dead = true;

  // The next process, same spool file, store up.
  const next = new BufferedWriter({ store: stored, flushIntervalMs: 10, maxBatchSize: 100, maxBufferedEvents: 1000, spool: fileSpool({ path: file }), onSpoolFull: "block", logger: recordingLogger() });
  await next.flush();
  await next.close();
  const trail = stored.list();
  expect({
    okStored: trail.filter((e) => e.objectId === "ok-1" || e.objectId === "ok-2").length,
    standInFor: trail.filter((e) => e.contentType === "AuditEvent" && e.objectId === rows[1]!.id).length,
  }).toEqual({ okStored: 2, standInFor: 1 });
});
