import { AuditContext, closeAudit, configureAudit, prismaStore, verifyAuditTrail } from "../../src";
import { openDatabase, providers, type TestDatabase } from "../support/databases";

// The writer and the verifier meet here: a trail written by every write path of the library
// (sync, createEvents, transactions committed and rolled back, the buffered writer, checkpoints
// by count and at close, key rotation), partly archived, verifies clean; one changed row is
// then named exactly.

const key = [
  { id: "2027-01", secret: "a test secret of at least thirty-two characters, new" },
  { id: "2026-01", secret: "a test secret of at least thirty-two characters, old" },
];

describe.each(providers)("a trail written by the library on %s", (provider) => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await openDatabase(provider, { name: "verify_written" });
  });
  afterAll(async () => {
    await closeAudit();
    configureAudit({});
    await db?.close();
  });

  it("verifies clean through every write path and archival, and names the one row changed after", async () => {
    const prisma = db.prisma;
    const store = prismaStore(prisma);
    configureAudit({ store, integrity: { key, checkpointEvery: 4 } });
    const ctx = new AuditContext({ extraData: { job: "cross-check" } });
    for (let i = 0; i < 9; i++) await ctx.createEvent({ contentType: "Order", objectId: i }, { n: i, nested: { b: 1, a: [1.5, "x"] } }, { action: "order.update" });
    await ctx.createEvents([{ contentObject: { contentType: "Order", objectId: 100 } }, { contentObject: { contentType: "Order", objectId: 101 }, content: { k: "v" } }]);
    for (const rollback of [false, true, false]) {
      await prisma
        .$transaction(async (tx) => {
          await ctx.createEvent({ contentType: "Invoice", objectId: 1 }, { rollback }, { tx });
          await ctx.createEvent({ contentType: "Invoice", objectId: 2 }, { rollback }, { tx });
          if (rollback) throw new Error("rolled back on purpose");
        })
        .catch((error: Error) => {
          if (!/on purpose/.test(error.message)) throw error;
        });
    }
    configureAudit({ store, writeMode: "buffered", maxBatchSize: 7, integrity: { key, checkpointEvery: 4 } });
    await Promise.all(Array.from({ length: 30 }, (_, i) => new AuditContext().createEvent({ contentType: "Batch", objectId: i }, { i })));
    await closeAudit();
    expect((await store.archiveBatch(new Date(Date.now() + 60_000), 12)).moved).toBe(12);

    const clean = await verifyAuditTrail({ store, key });
    expect(clean).toMatchObject({ ok: true, problems: [], verified: 9 + 2 + 4 + 30 });
    expect(clean.chains).toBeGreaterThanOrEqual(3);

    const victim = (await prisma.auditEvent.findMany({ where: { contentType: "Batch" }, orderBy: { seq: "asc" }, take: 1 }))[0]!;
    await prisma.auditEvent.update({ where: { id: victim.id }, data: { userId: "mallory" } });
    const tampered = await verifyAuditTrail({ store, key });
    expect(tampered.ok).toBe(false);
    expect(tampered.problems).toEqual([expect.objectContaining({ kind: "altered", chainId: victim.chainId, seq: Number(victim.seq), id: victim.id })]);
  });
});
