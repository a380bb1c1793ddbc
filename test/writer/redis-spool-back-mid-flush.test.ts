import { setTimeout as realTimeout } from "node:timers/promises";
import { prismaStore, redisSpool, type AuditStore, type EventRow } from "../../src";
import { BufferedWriter } from "../../src/writer/buffered-writer";
import { sampleRecord } from "../conformance/store-conformance";
import { openDatabase, type TestDatabase } from "../support/databases";
import { recordingLogger } from "./spool-conformance";
import { redisSpoolKey } from "../support/redis-spool-key";

/**
 * After a failed spool append, events go to the store directly, one batch after another,
 * until the spool's retry time passes. When it passes in the middle of that (a slow store
 * write), the events still queued must go to the spool at once: their callers wait for
 * that append, never for flushIntervalMs (60 s here). The spool fails once because its
 * lock key vanished (an operator's DEL); PostgreSQL is real, its first write held at a gate.
 */

const { url, key, admin } = redisSpoolKey("back-mid-flush");
let db: TestDatabase<"postgresql">;

beforeAll(async () => {
  db = await openDatabase("postgresql", { name: "redis_back_mid_flush" });
});
afterAll(async () => {
  await db?.close();
});

/** `inner`, whose writes wait at a gate while it is closed; `held` resolves once one does. */
function gatedStore(inner: AuditStore) {
  let open = true;
  let arrive = () => undefined as void;
  let release = () => undefined as void;
  const store: AuditStore = Object.create(inner) as AuditStore;
  const gate = {
    store,
    close(): Promise<void> {
      open = false;
      const gateOpen = new Promise<void>((resolve) => (release = resolve));
      const held = new Promise<void>((resolve) => (arrive = resolve));
      store.writeRows = async (rows) => {
        if (!open) {
          arrive();
          await gateOpen;
        }
        return inner.writeRows(rows);
      };
      return held;
    },
    open() {
      open = true;
      release();
    },
  };
  return gate;
}

const rows = (n: number): EventRow[] => Array.from({ length: n }, (_, i) => ({ ...sampleRecord({ objectId: `e${i}` }) }));

it("appends the events queued during a spool failure once the spool may be tried again, without waiting for the flush interval", async () => {
  const gate = gatedStore(prismaStore(db.prisma));
  const writer = new BufferedWriter({ store: gate.store, flushIntervalMs: 60_000, maxBatchSize: 1, maxBufferedEvents: 10_000, spool: redisSpool({ url, key }), onSpoolFull: "block", logger: recordingLogger() });
  const first = { ...sampleRecord({ objectId: "first" }) };
  await writer.enqueue(first); // the spool works
  await admin.del(`${key}:lock`); // the next append fails: the lock is gone
  const held = gate.close();
  const later = rows(3);
  const waiting = later.map((row) => writer.enqueue(row));
  await held; // the spool failed; the first event is being written to the store directly
  const usable = writer as unknown as { spoolUsable(): boolean };
  while (!usable.spoolUsable()) await realTimeout(10); // its retry time passes
  gate.open();
  const answered = await Promise.race([Promise.all(waiting).then(() => "all acknowledged"), realTimeout(10_000, "still waiting after 10 s")]);
  expect(answered).toBe("all acknowledged");
  await writer.close();
  // What the spool still holds is the next process's to replay.
  const next = new BufferedWriter({ store: gate.store, flushIntervalMs: 60_000, maxBatchSize: 10, maxBufferedEvents: 10_000, spool: redisSpool({ url, key }), onSpoolFull: "block", logger: recordingLogger() });
  await next.flush();
  await next.close();
  const stored = await db.prisma.$queryRawUnsafe<{ id: string; n: bigint }[]>("SELECT id::text AS id, count(*) AS n FROM audit_events GROUP BY id");
  const ids = new Set(stored.map((r) => r.id));
  expect([first, ...later].filter((row) => !ids.has(row.id)).map((row) => row.objectId)).toEqual([]);
  expect(stored.filter((r) => Number(r.n) > 1)).toEqual([]);
});
