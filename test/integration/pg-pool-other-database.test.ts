import { Pool } from "pg";

import { AuditContext, closeAudit, configureAudit, prismaStore } from "../../src";
import { sampleRecord } from "../conformance/store-conformance";
import { openDatabase, type TestDatabase } from "../support/databases";
import { testPgPool } from "../support/test-pg-pool";

/**
 * A pgPool on another database than the Prisma client's, one that has the audit tables
 * too (staging, a tenant's database, a restored copy), does not fail a COPY: before the
 * pool first writes, the store must see that it is not where Prisma writes, write through
 * Prisma instead, and warn once, naming both databases.
 */
describe("a pgPool on another database than the Prisma client's is not written to", () => {
  let mine: TestDatabase<"postgresql">;
  let other: TestDatabase<"postgresql">;
  let pool: Pool;
  const warnings: string[] = [];

  beforeAll(async () => {
    mine = await openDatabase("postgresql", { name: "pool_db_mine" });
    other = await openDatabase("postgresql", { name: "pool_db_other" });
    pool = testPgPool(other.url, { max: 2 });
  });
  afterAll(async () => {
    await closeAudit();
    await pool?.end();
    await mine?.close();
    await other?.close();
  });

  it("stores every batch where Prisma reads it, none in the pool's database, and warns once naming both", async () => {
    configureAudit({ logger: { warn: (m: string) => void warnings.push(m) } });
    const store = prismaStore(mine.prisma, { pgPool: pool });
    const batches = [0, 1].map((b) => [sampleRecord({ objectId: `b${b}-1` }), sampleRecord({ objectId: `b${b}-2` })].map((r) => store.toRow(r, new AuditContext())));
    for (const rows of batches) await store.writeRows(rows);
    const ids = batches.flat().map((row) => row.id);
    const readBack = await Promise.all(ids.map(async (id) => (await store.getEvent(id))?.objectId ?? null));
    const inOther = await pool.query(`SELECT count(*)::int AS n FROM audit_events`);
    const mineName = (await mine.prisma.$queryRawUnsafe<{ database: string }[]>("SELECT current_database() AS database"))[0]!.database;
    const otherName = (await pool.query<{ database: string }>("SELECT current_database() AS database")).rows[0]!.database;
    expect({ readBack, inOther: inOther.rows[0].n, warnings }).toEqual({
      readBack: ["b0-1", "b0-2", "b1-1", "b1-2"],
      inOther: 0,
      warnings: [expect.stringMatching(new RegExp(`NOT write through the pgPool.*database "${otherName}".*database "${mineName}"`))],
    });
  });
});
