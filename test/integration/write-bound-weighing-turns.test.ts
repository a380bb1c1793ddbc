import { prismaStore } from "../../src";
import { newEventIdentity } from "../../src/model/event-record";
import type { EventRow } from "../../src/stores/store";
import { BufferedWriter } from "../../src/writer/buffered-writer";
import { sampleRecord } from "../conformance/store-conformance";
import { copyRecordingPool, type CopyRecordingPool } from "../support/copy-pool";
import { openDatabase, type TestDatabase } from "../support/databases";
import { turnCounter } from "../support/event-loop-turns";

/**
 * Without a spool, the buffered writer weighs each event of a batch (`rowBytesAtMost`, a
 * walk of its values) to cut the batch into writes within the bound. Content of many small
 * values puts millions of them in one write's worth (32 MiB counted): weighed in one go,
 * they held the event loop for 100-300 ms, where COPY itself gives it back every 64 KiB
 * of text. Each value here is read through a getter, which notes the turn of the event
 * loop the walk read it in; no turn may weigh more than a few events' worth.
 */
const EVENTS = 40;
/** An event's values: about 1 MiB as `rowBytesAtMost` counts them (about 7 KB each). */
const VALUES = 150;
/** What each value holds. */
const TEXT = "x".repeat(1000);

jest.setTimeout(120_000);
describe("weighing a batch of events of many small values", () => {
  let db: TestDatabase<"postgresql">;
  let pool: CopyRecordingPool;
  const counter = turnCounter();
  beforeAll(async () => {
    db = await openDatabase("postgresql", { name: "write_bound_weighing_turns" });
    pool = copyRecordingPool(db.url);
  });
  afterAll(async () => {
    await pool?.end();
    await db?.close();
  });
  beforeEach(() => counter.start());
  afterEach(() => counter.stop());

  it("gives the event loop back while it weighs: no turn weighs more than two events", async () => {
    const readsPerTurn = new Map<number, number>();
    /** A value of a class (queued as it is, not copied) whose one field notes when it is read. */
    class Noted {
      declare readonly v: string;
      constructor() {
        Object.defineProperty(this, "v", {
          enumerable: true,
          get: () => {
            // Only the writer's weighing is counted: COPY's JSON gives the loop back on its own terms.
            if (new Error().stack!.includes("bytesAtMost")) readsPerTurn.set(counter.turns, (readsPerTurn.get(counter.turns) ?? 0) + 1);
            return TEXT;
          },
        });
      }
    }
    const writer = new BufferedWriter({ store: prismaStore(db.prisma, { pgPool: pool }), flushIntervalMs: 600_000, maxBatchSize: 1000, maxBufferedEvents: 1000, spool: undefined, onSpoolFull: "block", logger: { warn: () => undefined } });
    const batch = Array.from({ length: EVENTS }, (_, i) => ({ ...sampleRecord(), ...newEventIdentity(), objectId: String(i), content: { values: Array.from({ length: VALUES }, () => new Noted()) } }) as unknown as EventRow);
    for (const row of batch) await writer.enqueue(row);
    readsPerTurn.clear();
    await writer.flush();
    await writer.close();
    expect(pool.copies.filter((c) => c.ok).length).toBeGreaterThan(0);
    expect(await db.prisma.auditEvent.count()).toBe(EVENTS);
    // Every value was weighed, two events' worth in one turn at most (each weighs about the turn's budget).
    expect([...readsPerTurn.values()].reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(EVENTS * VALUES);
    expect(Math.max(...readsPerTurn.values())).toBeLessThanOrEqual(2 * VALUES);
  });
});
