import { eventHash } from "../../src/integrity/canonical-event";
import { verifyAuditTrail } from "../../src/integrity/verify-trail";
import { prismaStore } from "../../src/stores/prisma-store";
import { openDatabase, providers, type TestDatabase } from "../support/databases";
import { buildTrail, rawSql, TEST_KEYS, TRAIL_START, writeTrail } from "./verify-trail-writer";

const key = [
  { id: "2027-01", secret: "a test secret of at least thirty-two characters, new" },
  { id: "2026-01", secret: "a test secret of at least thirty-two characters, old" },
];

describe.each(providers)("verifyAuditTrail on %s", (provider) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await openDatabase(provider);
  });
  afterEach(() => db.reset());
  afterAll(() => db?.close());

  it("reports an untouched trail intact, across pages and both tables, counting its events and chains", async () => {
    const store = prismaStore(db.prisma);
    const trail = buildTrail([9, 4, 1], 3);
    await writeTrail(db, store, trail);
    await store.archiveBatch(new Date(TRAIL_START + 6 * 60_000), 100);
    expect((await store.queryEvents({ source: "archive", content: [] }, { order: "asc", limit: 100 })).length).toBeGreaterThan(0);
    for (const pageSize of [1, 2, 5, 100]) {
      await expect(verifyAuditTrail({ store, key, pageSize })).resolves.toEqual({ ok: true, verified: 14, chains: 3, problems: [], unsigned: 0, uncovered: 0 });
    }
    expect(TEST_KEYS.signing.id).toBe("2027-01");
  });

  it("names an altered event by chain, seq and id", async () => {
    const store = prismaStore(db.prisma);
    const trail = buildTrail([6, 6], 2);
    await writeTrail(db, store, trail);
    const target = trail.events.find((e) => e.chainId === trail.chains[1] && e.seq === 4)!;
    await rawSql(db)(`UPDATE "audit_events" SET "userId" = ? WHERE "id" = ?`, "mallory", target.id);
    const report = await verifyAuditTrail({ store, key, pageSize: 4 });
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual([expect.objectContaining({ kind: "altered", chainId: trail.chains[1], seq: 4, id: target.id })]);
    expect(eventHash(target)).toBe(target.hash);
  });

  it("names the position a row whose seq was removed (its chainId kept) should hold, and the row, across page sizes", async () => {
    const store = prismaStore(db.prisma);
    const trail = buildTrail([5, 2], 2);
    await writeTrail(db, store, trail);
    const [middle, last] = [trail.events.find((e) => e.chainId === trail.chains[0] && e.seq === 3)!, trail.events.find((e) => e.chainId === trail.chains[1] && e.seq === 2)!];
    for (const target of [middle, last]) await rawSql(db)(`UPDATE "audit_events" SET "seq" = NULL WHERE "id" = ?`, target.id);
    for (const pageSize of [1, 2, 3, 100]) {
      const report = await verifyAuditTrail({ store, key, pageSize });
      expect(report.ok).toBe(false);
      expect(report.problems).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ kind: "missing", chainId: trail.chains[0], seq: 3 }),
          expect.objectContaining({ kind: "missing", chainId: trail.chains[1], seq: 2 }),
          expect.objectContaining({ kind: "unsigned", chainId: "", seq: 0, id: middle.timestamp < last.timestamp ? middle.id : last.id, detail: expect.stringContaining("2 event(s)") }),
        ]),
      );
      expect(report.problems).toHaveLength(3);
    }
  });

  it("reports events written before integrity as unsigned without failing, and newer unsigned ones as a failure", async () => {
    const store = prismaStore(db.prisma);
    const trail = buildTrail([3], 2, 2);
    await writeTrail(db, store, trail);
    const report = await verifyAuditTrail({ store, key });
    expect(report).toMatchObject({ ok: true, verified: 3, chains: 1, problems: [{ kind: "unsigned", chainId: "", seq: 0, id: trail.events[0]!.id }] });
    const last = trail.events.at(-1)!;
    await rawSql(db)(`UPDATE "audit_events" SET "chainId" = NULL, "seq" = NULL, "prevHash" = NULL, "hash" = NULL WHERE "id" = ?`, last.id);
    const after = await verifyAuditTrail({ store, key });
    expect(after.ok).toBe(false);
    expect(after.problems).toContainEqual(expect.objectContaining({ kind: "unsigned", id: last.id }));
  });
});
