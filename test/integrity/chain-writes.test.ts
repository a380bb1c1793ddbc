import { AuditContext, archiveOldEvents, closeAudit, configureAudit, flushAudit, prismaStore, type AuditStore } from "../../src";
import { MAX_SYNC_LANES } from "../../src/writer/chained-writes";
import { openDatabase, providers, type Provider, type TestDatabase } from "../support/databases";
import { allEvents, checkChains, checkDatabase, KEY_A, KEY_B, signedHeads } from "./chain-checker";

/**
 * Hash chains through the real Prisma client on each database: every way of writing
 * chains, no chain has a gap, every hash and link recomputes, every checkpoint verifies.
 */

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const ref = (n: number) => ({ contentType: "Order", objectId: String(n) });

describe.each(providers)("hash chains on %s", (provider: Provider) => {
  let db: TestDatabase;
  let store: AuditStore;

  beforeAll(async () => {
    db = await openDatabase(provider, { name: "chain-writes" });
    store = prismaStore(db.prisma);
  });
  afterEach(async () => {
    await closeAudit().catch(() => undefined);
    configureAudit({});
    await db.reset();
  });
  afterAll(async () => {
    await db?.close();
  });

  it("chains concurrent sync writes in lanes without a gap, and closeAudit signs every head", async () => {
    configureAudit({ store, integrity: { key: KEY_A, checkpointEvery: 7 } });
    const contexts = Array.from({ length: 5 }, (_, i) => new AuditContext({ extraData: { worker: i } }));
    const records = await Promise.all(Array.from({ length: 120 }, (_, n) => contexts[n % 5]!.createEvent(ref(n), { n })));
    await closeAudit();
    const { chains, problems, checkpoints } = await checkDatabase(db, store, KEY_A);
    expect(problems).toEqual([]);
    const events = await allEvents(db);
    expect(events).toHaveLength(120);
    expect(chains.size).toBeGreaterThanOrEqual(1);
    expect(chains.size).toBeLessThanOrEqual(MAX_SYNC_LANES);
    // The record createEvent returns carries its chain fields, as stored.
    const stored = new Map(events.map((e) => [e.id, e]));
    for (const record of records) expect(stored.get(record.id)).toEqual(record);
    // After closeAudit every chain's head is signed, and counts signed on the way.
    const heads = signedHeads(checkpoints);
    for (const [chainId, chain] of chains) expect(heads.get(chainId)).toBe(chain.length);
    if (Math.max(...[...chains.values()].map((c) => c.length)) >= 7) expect(checkpoints.length).toBeGreaterThan(chains.size);
  });

  it("gives createEvents consecutive positions of one chain", async () => {
    configureAudit({ store, integrity: { key: KEY_A } });
    const ctx = new AuditContext();
    const batches = await Promise.all([0, 1, 2].map((b) => ctx.createEvents(Array.from({ length: 5 }, (_, i) => ({ contentObject: ref(b * 10 + i), action: "order.export" })))));
    await closeAudit();
    const { problems } = await checkDatabase(db, store, KEY_A);
    expect(problems).toEqual([]);
    for (const batch of batches) {
      expect(new Set(batch.map((r) => r.chainId)).size).toBe(1);
      expect(batch.map((r) => r.seq! - batch[0]!.seq!)).toEqual([0, 1, 2, 3, 4]);
    }
  });

  it("chains each transaction on its own, signed inside it: a rollback leaves no gap and no checkpoint", async () => {
    configureAudit({ store, integrity: { key: KEY_A } });
    const ctx = new AuditContext();
    await ctx.createEvent(ref(0));
    await db.prisma.$transaction(async (tx) => {
      await ctx.createEvent(ref(1), {}, { tx });
      await ctx.createEvents([{ contentObject: ref(2), tx }, { contentObject: ref(3), tx }]);
    });
    await expect(
      db.prisma.$transaction(async (tx) => {
        await ctx.createEvent(ref(4), {}, { tx });
        throw new Error("business rule says no");
      }),
    ).rejects.toThrow("business rule says no");
    await ctx.createEvent(ref(5));
    // Before closeAudit: the committed transaction's chain is signed already, by its own checkpoint.
    const before = await checkDatabase(db, store, KEY_A);
    const txChain = [...before.chains.values()].find((chain) => chain[0]!.objectId === "1")!;
    expect(txChain.map((e) => [e.objectId, e.seq])).toEqual([["1", 1], ["2", 2], ["3", 3]]);
    expect(signedHeads(before.checkpoints).get(txChain[0]!.chainId!)).toBe(3);
    await closeAudit();
    const { chains, problems } = await checkDatabase(db, store, KEY_A);
    expect(problems).toEqual([]);
    const objectIds = [...chains.values()].flat().map((e) => e.objectId).sort();
    expect(objectIds).toEqual(["0", "1", "2", "3", "5"]);
  });

  it("chains the buffered writer in batches, one chain per writer instance, with checkpoints by count", async () => {
    configureAudit({ store, writeMode: "buffered", maxBatchSize: 40, flushIntervalMs: 20, integrity: { key: KEY_A, checkpointEvery: 50 } });
    const ctx = new AuditContext();
    for (let n = 0; n < 150; n++) void ctx.createEvent(ref(n));
    await flushAudit();
    // Another writer configuration: a second writer instance, a chain of its own.
    configureAudit({ store, writeMode: "buffered", maxBatchSize: 25, flushIntervalMs: 20, integrity: { key: KEY_A, checkpointEvery: 50 } });
    await ctx.createEvents(Array.from({ length: 60 }, (_, n) => ({ contentObject: ref(1000 + n) })));
    await closeAudit();
    const { chains, problems, checkpoints } = await checkDatabase(db, store, KEY_A);
    expect(problems).toEqual([]);
    expect([...chains.values()].map((c) => c.length).sort((a, b) => a - b)).toEqual([60, 150]);
    // Positions follow the queue: the first writer's chain holds 0..149 in order.
    const first = [...chains.values()].find((c) => c.length === 150)!;
    expect(first.map((e) => e.objectId)).toEqual(Array.from({ length: 150 }, (_, n) => String(n)));
    const heads = signedHeads(checkpoints);
    // A checkpoint by count, before the head: once 50 events waited, at the batch that made them 50 or more.
    const counted = checkpoints.filter((c) => c.chainId === first[0]!.chainId && c.seq < 150).map((c) => c.seq);
    expect(counted.length).toBeGreaterThanOrEqual(1);
    expect(Math.min(...counted)).toBeGreaterThanOrEqual(50);
    for (const [chainId, chain] of chains) expect(heads.get(chainId)).toBe(chain.length);
  });

  it("signs each chain's head every checkpointIntervalMs, before closeAudit", async () => {
    configureAudit({ store, integrity: { key: KEY_A, checkpointEvery: 1_000_000, checkpointIntervalMs: 100 } });
    const ctx = new AuditContext();
    for (let n = 0; n < 3; n++) await ctx.createEvent(ref(n));
    // The timer runs from the chain's first event: when the three writes take longer than
    // an interval (a loaded machine), a tick signs the head at 1 or 2 on the way. What must
    // hold is that the head, 3, gets signed without closeAudit, and each head only once.
    const deadline = Date.now() + 5_000;
    let checkpoints = await store.readCheckpoints!();
    while (!checkpoints.some((c) => c.seq === 3) && Date.now() < deadline) {
      await sleep(50);
      checkpoints = await store.readCheckpoints!();
    }
    const seqs = checkpoints.map((c) => c.seq).sort((a, b) => a - b);
    expect(seqs.at(-1)).toBe(3);
    expect(new Set(seqs).size).toBe(seqs.length);
    expect(new Set(checkpoints.map((c) => c.chainId)).size).toBe(1);
    expect(checkChains(await allEvents(db), checkpoints, KEY_A).problems).toEqual([]);
    // Nothing new: no further checkpoint at the next ticks.
    await sleep(300);
    expect(await store.readCheckpoints!()).toHaveLength(checkpoints.length);
  });

  it("rotates keys: checkpoints name the key that signed them, and a ring of both verifies all", async () => {
    configureAudit({ store, integrity: { key: [{ id: "2026", secret: KEY_A }] } });
    const ctx = new AuditContext();
    await ctx.createEvent(ref(1));
    configureAudit({ store, integrity: { key: [{ id: "2027", secret: KEY_B }, { id: "2026", secret: KEY_A }] } });
    await ctx.createEvent(ref(2));
    await closeAudit();
    const ring = [{ id: "2027", secret: KEY_B }, { id: "2026", secret: KEY_A }];
    const { problems, checkpoints } = await checkDatabase(db, store, ring);
    expect(problems).toEqual([]);
    expect(new Set(checkpoints.map((c) => c.keyId))).toEqual(new Set(["2026", "2027"]));
    // The old key alone does not verify what the new one signed.
    expect(checkChains(await allEvents(db), checkpoints, [{ id: "2026", secret: KEY_A }]).problems).toEqual([expect.stringMatching(/bad signature/)]);
  });

  it("keeps chains verifiable across the live and archive tables", async () => {
    configureAudit({ store, integrity: { key: KEY_A } });
    const ctx = new AuditContext();
    await ctx.createEvents(Array.from({ length: 12 }, (_, n) => ({ contentObject: ref(n) })));
    await sleep(5);
    const { archived } = await archiveOldEvents({ olderThanDays: 0, batchSize: 5, store });
    expect(archived).toBe(12);
    await ctx.createEvents(Array.from({ length: 3 }, (_, n) => ({ contentObject: ref(100 + n) })));
    await closeAudit();
    const { chains, problems } = await checkDatabase(db, store, KEY_A);
    expect(problems).toEqual([]);
    expect(await db.prisma.archivedAuditEvent.count({ where: { chainId: { not: null } } })).toBe(12);
    expect([...chains.values()].flat()).toHaveLength(15);
  });

  it("has a checker that finds an edited event", async () => {
    configureAudit({ store, integrity: { key: KEY_A } });
    const ctx = new AuditContext();
    const [, second] = await ctx.createEvents([{ contentObject: ref(1) }, { contentObject: ref(2) }, { contentObject: ref(3) }]);
    await closeAudit();
    await db.prisma.auditEvent.update({ where: { id: second!.id }, data: { userId: "mallory" } });
    const { problems } = await checkDatabase(db, store, KEY_A);
    expect(problems).toEqual([`${second!.chainId}#2: hash does not match the event`]);
  });
});
