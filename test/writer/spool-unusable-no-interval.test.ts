import { setTimeout as realTimeout } from "node:timers/promises";
import { prismaStore, redisSpool, type EventRow } from "../../src";
import { BufferedWriter } from "../../src/writer/buffered-writer";
import { sampleRecord } from "../conformance/store-conformance";
import { openDatabase, type TestDatabase } from "../support/databases";
import { recordingLogger } from "./spool-conformance";

/**
 * While the spool cannot take events (here: its Redis refuses connections, so it cannot be
 * opened), events go to the store directly, and the README promises they are written at
 * once, not after flushIntervalMs, since their callers wait. flushIntervalMs is 60 s here,
 * the batch not full: every createEvent must resolve long before that, with the event in
 * PostgreSQL.
 */

let db: TestDatabase<"postgresql">;
beforeAll(async () => {
  db = await openDatabase("postgresql", { name: "spool_unusable_no_interval" });
});
afterAll(() => db?.close());

it("writes events to the store at once while the spool cannot be opened, not after the flush interval", async () => {
  const writer = new BufferedWriter({
    store: prismaStore(db.prisma),
    flushIntervalMs: 60_000,
    maxBatchSize: 10,
    maxBufferedEvents: 10_000,
    spool: redisSpool({ url: "redis://127.0.0.1:1", key: `audit-events-test:${process.pid}:unusable` }),
    onSpoolFull: "block",
    logger: recordingLogger(),
  });
  const events: EventRow[] = Array.from({ length: 3 }, (_, i) => ({ ...sampleRecord({ objectId: `u${i}` }) }));
  const answered = await Promise.race([Promise.all(events.map((row) => writer.enqueue(row))).then(() => "all stored"), realTimeout(10_000, "still waiting after 10 s")]);
  expect(answered).toBe("all stored");
  const stored = new Set((await db.prisma.$queryRawUnsafe<{ id: string }[]>("SELECT id::text AS id FROM audit_events")).map((r) => r.id));
  expect(events.filter((row) => !stored.has(row.id)).map((row) => row.objectId)).toEqual([]);
  await writer.close();
});
