import fc from "fast-check";
import { v7 as uuidv7 } from "uuid";

import { AuditContext, closeAudit, configureAudit, flushAudit, memoryStore, prismaStore, type AuditEventRecord, type AuditStore } from "../../src";
import { eventHash } from "../../src/integrity/canonical-event";
import { copyRecordingPool } from "../support/copy-pool";
import { openDatabase, providers, type TestDatabase } from "../support/databases";
import { sampleRecord } from "../conformance/store-conformance";
import { recordingLogger } from "../writer/spool-conformance";
import { KEY_A } from "./chain-checker";

/**
 * A chained row is never skipped silently: its position `(chainId, seq)` held by another
 * event, or its id stored at another position, fails the batch whole (a skipped row would
 * leave its chain a hole), while the same rows written again are a replay and skipped. The
 * writers then end the chain and write the events in a new one. On each database through
 * the real Prisma client, and on the memory store.
 */

/** A chain of `length` linked rows. */
function chainOf(length: number, chainId = uuidv7()): AuditEventRecord[] {
  const rows: AuditEventRecord[] = [];
  let prevHash: string | null = null;
  for (let seq = 1; seq <= length; seq++) {
    const row: AuditEventRecord = sampleRecord({ objectId: String(seq), chainId, seq, prevHash });
    row.hash = prevHash = eventHash(row);
    rows.push(row);
  }
  return rows;
}

type Clash = { kind: "none" } | { kind: "other-event-at-position" | "id-at-other-position" | "id-with-other-hash"; at: number };

const scenario = fc.record({
  length: fc.integer({ min: 1, max: 6 }),
  /** Rows of the batch stored already, exactly (an earlier write of the same rows). */
  replayed: fc.array(fc.boolean(), { minLength: 6, maxLength: 6 }),
  clash: fc.oneof(
    fc.constant<Clash>({ kind: "none" }),
    fc.record({ kind: fc.constantFrom("other-event-at-position" as const, "id-at-other-position" as const, "id-with-other-hash" as const), at: fc.nat() }),
  ),
});

/** Each stored event's chain position, `<chainId>#<seq>`, by id. */
async function chainPositions(db: TestDatabase): Promise<Map<string, string>> {
  const rows = await (db.prisma as unknown as { auditEvent: { findMany(a: object): Promise<{ id: string; chainId: string | null; seq: bigint | null }[]> } }).auditEvent.findMany({
    select: { id: true, chainId: true, seq: true },
  });
  return new Map(rows.map((r) => [r.id, `${r.chainId}#${r.seq}`]));
}

interface StoreUnderTest {
  store: AuditStore;
  /** The stored live events by id: chain id and seq. */
  positions(): Promise<Map<string, string>>;
  reset(): Promise<void>;
}

const stores: Array<[string, () => Promise<StoreUnderTest & { close(): Promise<void> }>]> = [
  ...providers.map((provider): [string, () => Promise<StoreUnderTest & { close(): Promise<void> }>] => [
    provider,
    async () => {
      const db: TestDatabase = await openDatabase(provider, { name: "chain-clash" });
      const store = prismaStore(db.prisma);
      return {
        store,
        positions: () => chainPositions(db),
        reset: () => db.reset(),
        close: () => db.close(),
      };
    },
  ]),
  [
    "postgresql with pgPool (batches by COPY)",
    async () => {
      const db = (await openDatabase("postgresql", { name: "chain-clash-copy" })) as unknown as TestDatabase;
      const pool = copyRecordingPool(db.url);
      const store = prismaStore(db.prisma, { pgPool: pool });
      return {
        store,
        positions: () => chainPositions(db),
        reset: () => db.reset(),
        async close() {
          // The clashes above went by COPY first: some must have been taken whole, some refused.
          expect(pool.copies.some((copy) => copy.ok) && pool.copies.some((copy) => !copy.ok)).toBe(true);
          await pool.end();
          await db.close();
        },
      };
    },
  ],
  [
    "memory",
    async () => {
      const store = memoryStore();
      return {
        store,
        positions: async () => new Map(store.list().map((e) => [e.id, `${e.chainId}#${e.seq}`])),
        reset: async () => store.clear(),
        close: async () => undefined,
      };
    },
  ],
];

describe.each(stores)("chained rows that clash with stored ones on %s", (_name, open) => {
  let under: StoreUnderTest & { close(): Promise<void> };
  beforeAll(async () => {
    under = await open();
  });
  afterEach(async () => {
    await closeAudit().catch(() => undefined);
    configureAudit({});
    await under.reset();
  });
  afterAll(() => under?.close());

  it("writeRows: fails the whole batch on a clash, naming it; skips rows stored exactly; never drops one silently", async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ length, replayed, clash }) => {
        await under.reset();
        const { store } = under;
        const batch = chainOf(length);
        const before = batch.filter((_, i) => replayed[i]);
        const target = clash.kind === "none" ? undefined : batch[clash.at % length]!;
        const stored = new Set(before.map((row) => row.id));
        if (target !== undefined) stored.delete(target.id);
        await store.writeRows(before.filter((row) => row !== target).map((row) => ({ ...row })));
        if (target !== undefined) {
          const intruder =
            clash.kind === "other-event-at-position"
              ? { ...sampleRecord({ chainId: target.chainId, seq: target.seq, prevHash: target.prevHash }), hash: "e".repeat(64) }
              : clash.kind === "id-at-other-position"
                ? { ...target, chainId: uuidv7(), seq: 1, prevHash: null }
                : { ...target, hash: "f".repeat(64) };
          await store.writeRows([intruder]);
          stored.add(intruder.id);
        }
        const held = await under.positions();
        const write = store.writeRows(batch.map((row) => ({ ...row })));
        if (target === undefined) {
          await write;
          const after = await under.positions();
          expect(after.size).toBe(length);
          for (const row of batch) expect(after.get(row.id)).toBe(`${row.chainId}#${row.seq}`);
        } else {
          const where = clash.kind === "other-event-at-position" ? `position ${target.chainId}#${target.seq}` : `event ${target.id}`;
          await expect(write).rejects.toMatchObject({ code: "ERR_AUDIT_STORE", message: expect.stringContaining(where) });
          // All or none: the table holds what it held.
          expect(await under.positions()).toEqual(held);
        }
      }),
      { numRuns: 25 },
    );
  });

  it("writeRows: unchained rows stored already are still skipped (an idempotent replay)", async () => {
    const rows = [sampleRecord(), sampleRecord(), sampleRecord()];
    await under.store.writeRows([{ ...rows[1]! }]);
    await under.store.writeRows(rows.map((row) => ({ ...row })));
    expect([...(await under.positions()).keys()].sort()).toEqual(rows.map((row) => row.id).sort());
  });

  it("sync writes: a lane whose next position is taken fails that write, reported, and the next write goes into a new chain", async () => {
    configureAudit({ store: under.store, integrity: { key: KEY_A } });
    const ctx = new AuditContext();
    const first = await ctx.createEvent({ contentType: "Order", objectId: 1 }, { n: 1 });
    const forged = { ...sampleRecord({ chainId: first.chainId, seq: 2, prevHash: first.hash }), hash: "e".repeat(64) };
    await under.store.writeRows([forged]);
    await expect(ctx.createEvent({ contentType: "Order", objectId: 2 }, { n: 2 })).rejects.toMatchObject({ code: "ERR_AUDIT_STORE", message: expect.stringContaining(`holds event ${forged.id}`) });
    const next = await ctx.createEvent({ contentType: "Order", objectId: 3 }, { n: 3 });
    expect(next.chainId).not.toBe(first.chainId);
    expect(next.seq).toBe(1);
  });

  it("buffered writes: a batch whose positions are taken is reported and written again in a new chain, none of it lost", async () => {
    const logger = recordingLogger();
    configureAudit({ store: under.store, writeMode: "buffered", maxBatchSize: 10, flushIntervalMs: 10, integrity: { key: KEY_A }, logger });
    const ctx = new AuditContext();
    await ctx.createEvent({ contentType: "Order", objectId: 0 }, {});
    await flushAudit();
    const [head] = [...(await under.positions()).values()];
    const [chainId] = head!.split("#");
    const forged = { ...sampleRecord({ chainId: chainId!, seq: 2, prevHash: null }), hash: "e".repeat(64) };
    await under.store.writeRows([forged]);
    const created = await Promise.all([1, 2, 3].map((n) => ctx.createEvent({ contentType: "Order", objectId: n }, {})));
    await flushAudit().catch(() => undefined);
    for (let i = 0; i < 100 && (await under.positions()).size < 5; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    await closeAudit();
    const positions = await under.positions();
    expect(positions.size).toBe(5);
    const again = created.map((event) => positions.get(event.id)!);
    const newChain = again[0]!.split("#")[0];
    expect(newChain).not.toBe(chainId);
    expect(again).toEqual([1, 2, 3].map((seq) => `${newChain}#${seq}`));
    expect(logger.warnings.join("\n")).toContain(`holds event ${forged.id}`);
  });
});
