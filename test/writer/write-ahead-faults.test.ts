import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import fc from "fast-check";
import { fileSpool, memoryStore, type AuditSpool, type EventRow, type MemoryStore } from "../../src";
import { BufferedWriter } from "../../src/writer/buffered-writer";
import { sampleRecord } from "../conformance/store-conformance";
import { recordingLogger } from "./spool-conformance";

/**
 * The spool as the write-ahead log under random faults: the store goes down and comes
 * back, spool appends and acknowledgements fail before or after they took effect (a lost
 * reply), while events keep coming; then the process dies (its writer is abandoned: its
 * store and spool stop answering, after what they were doing finished, as after SIGKILL).
 * Every event the dead writer acknowledged is stored by the next one on the same spool file.
 */

const dir = mkdtempSync(path.join(tmpdir(), "audit-wal-faults-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Fault = "append-fails" | "append-reply-lost" | "ack-fails" | "ack-reply-lost";

/** `inner`, down while `down` is set, and for good once `dead` is: its writes fail as a lost connection does. */
function switchableStore(inner: MemoryStore): MemoryStore & { down: boolean; dead: boolean } {
  const store = Object.create(inner) as MemoryStore & { down: boolean; dead: boolean };
  store.down = false;
  store.dead = false;
  store.writeRows = (rows) => (store.down || store.dead ? Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:5432 (test)")) : inner.writeRows(rows));
  return store;
}

/**
 * A real file spool whose next append or acknowledgement fails, before or after it took
 * effect; `die()` waits for what it is doing, then fails everything, for good.
 */
function faultySpool(inner: AuditSpool): AuditSpool & { next: Set<Fault>; die(): Promise<void>; revive(): void } {
  const next = new Set<Fault>();
  const running = new Set<Promise<unknown>>();
  let dead = false;
  const fail = (why: string) => new Error(`the spool failed (test: ${why})`);
  const call = <T>(work: () => Promise<T>): Promise<T> => {
    if (dead) return Promise.reject(fail("the process is dead"));
    const doing = work();
    running.add(doing);
    void doing.catch(() => undefined).finally(() => running.delete(doing));
    return doing;
  };
  return {
    next,
    async die() {
      dead = true;
      while (running.size > 0) await Promise.allSettled([...running]);
    },
    revive() {
      dead = false;
    },
    get name() {
      return inner.name;
    },
    get maxBytes() {
      return inner.maxBytes;
    },
    open: (logger) => call(() => inner.open(logger)),
    usedBytes: () => inner.usedBytes(),
    count: () => inner.count(),
    peek: (max) => call(() => inner.peek(max)),
    close: () => call(() => inner.close()),
    append: (lines) =>
      call(async () => {
        if (next.delete("append-fails")) throw fail("append-fails");
        await inner.append(lines);
        if (next.delete("append-reply-lost")) throw fail("append-reply-lost");
      }),
    ack: (batch, count) =>
      call(async () => {
        if (next.delete("ack-fails")) throw fail("ack-fails");
        await inner.ack(batch, count);
        if (next.delete("ack-reply-lost")) throw fail("ack-reply-lost");
      }),
  };
}

type Step =
  | { kind: "create"; count: number }
  | { kind: "store"; down: boolean }
  | { kind: "fault"; fault: Fault }
  | { kind: "wait"; ms: number }
  | { kind: "flush" };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("create" as const), count: fc.integer({ min: 1, max: 40 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("store" as const), down: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("fault" as const), fault: fc.constantFrom<Fault>("append-fails", "append-reply-lost", "ack-fails", "ack-reply-lost") }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("wait" as const), ms: fc.integer({ min: 0, max: 30 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("flush" as const) }) },
);

let run = 0;

function writerOn(store: MemoryStore, spool: AuditSpool, maxBatchSize: number): BufferedWriter {
  return new BufferedWriter({ store, flushIntervalMs: 5, maxBatchSize, maxBufferedEvents: Math.max(maxBatchSize, 30), spool, onSpoolFull: "block", logger: recordingLogger() });
}

it("stores every acknowledged event, whatever the store and the spool did before the process died", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 14 }), fc.integer({ min: 1, max: 20 }), async (steps, maxBatchSize) => {
      const file = path.join(dir, `spool-${++run}.log`);
      const stored = memoryStore();
      const store = switchableStore(stored);
      const spool = faultySpool(fileSpool({ path: file, compactAfterBytes: 2048 }));
      const writer = writerOn(store, spool, maxBatchSize);
      const acked: string[] = [];
      for (const s of steps) {
        switch (s.kind) {
          case "create":
            for (let i = 0; i < s.count; i++) {
              const row: EventRow = { ...sampleRecord({ objectId: String(i) }) };
              void writer.enqueue(row).then(
                () => void acked.push(row.id),
                () => undefined,
              );
            }
            break;
          case "store":
            store.down = s.down;
            break;
          case "fault":
            spool.next.add(s.fault);
            break;
          case "wait":
            await new Promise((resolve) => setTimeout(resolve, s.ms));
            break;
          case "flush":
            await writer.flush().catch(() => undefined);
            break;
        }
      }
      // SIGKILL: the writer does nothing more, once what its spool and store were doing is done.
      store.dead = true;
      await spool.die();
      await new Promise((resolve) => setImmediate(resolve));
      const ackedBeforeDeath = [...acked];

      // The next process: the same spool file, the store up.
      const next = writerOn(stored, fileSpool({ path: file }), maxBatchSize);
      await next.flush();
      expect(next.spooled()).toBe(0);
      await next.close();
      const ids = new Set(stored.list().map((e) => e.id));
      expect(ackedBeforeDeath.filter((id) => !ids.has(id))).toEqual([]);
      // Teardown, not part of the property: the dead writer lives on in this process (a
      // real one would not); it gets its store and spool back so it can finish and close.
      store.dead = false;
      store.down = false;
      spool.revive();
      for (let attempt = 1; ; attempt++) {
        const closed = await writer.close().then(() => true, () => false);
        if (closed) break;
        if (attempt === 100) throw new Error("the abandoned writer would not close");
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }),
    { numRuns: 150 },
  );
}, 120_000);
