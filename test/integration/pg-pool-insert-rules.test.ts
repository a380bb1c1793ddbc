import { Pool } from "pg";

import { AuditContext, closeAudit, configureAudit, prismaStore } from "../../src";
import { sampleRecord } from "../conformance/store-conformance";
import { connectClient, openDatabase, type TestDatabase } from "../support/databases";
import { testPgPool } from "../support/test-pg-pool";

/**
 * PostgreSQL's COPY FROM "will not invoke rules" (COPY's documentation), and
 * `INSERT ... ON CONFLICT` cannot be used on a table with INSERT rules (SQLSTATE 0A000).
 * A user who keeps a shadow copy of the trail with an `ON INSERT ... DO ALSO` rule must
 * get it from every write path: the store writes such a table with plain INSERTs, and a
 * store given a pgPool does not COPY into it and warns once, naming the rule.
 */
describe("an ON INSERT rule on audit_events runs for every buffered batch, with and without pgPool", () => {
  let db: TestDatabase<"postgresql">;
  let pool: Pool;
  const context = new AuditContext();
  const warnings: string[] = [];

  beforeAll(async () => {
    db = await openDatabase("postgresql", { name: "pool_insert_rules" });
    pool = testPgPool(db.url, { max: 2 });
    await pool.query(`CREATE TABLE audit_shadow (id uuid PRIMARY KEY, "objectId" text NOT NULL)`);
    await pool.query(`CREATE RULE audit_shadow_copy AS ON INSERT TO audit_events DO ALSO INSERT INTO audit_shadow (id, "objectId") VALUES (NEW.id, NEW."objectId")`);
    configureAudit({ logger: { warn: (m: string) => void warnings.push(m) } });
  });
  afterAll(async () => {
    await closeAudit();
    await pool?.end();
    await db?.close();
  });
  beforeEach(() => {
    warnings.length = 0;
  });

  it.each([
    ["without pgPool", false, []],
    ["with pgPool", true, [expect.stringMatching(/NOT write through the pgPool.*"audit_events" has ON INSERT rule\(s\) audit_shadow_copy, which COPY does not run/)]],
  ])("%s: two batches reach the rule's shadow table, an id stored already is skipped", async (_name, withPool, expectedWarnings) => {
    const store = withPool ? prismaStore(db.prisma, { pgPool: pool }) : prismaStore(db.prisma);
    const first = [sampleRecord({ objectId: "r1" }), sampleRecord({ objectId: "r2" })].map((r) => store.toRow(r, context));
    const second = [first[0]!, store.toRow(sampleRecord({ objectId: "r3" }), context)];
    await store.writeRows(first);
    await store.writeRows(second);
    const ids = [...first, second[1]!].map((r) => r.id);
    const { rows: shadow } = await pool.query(`SELECT "objectId" FROM audit_shadow WHERE id = ANY($1::uuid[]) ORDER BY 1`, [ids]);
    const { rows: stored } = await pool.query(`SELECT "objectId" FROM audit_events WHERE id = ANY($1::uuid[]) ORDER BY 1`, [ids]);
    expect({ shadow, stored, warnings }).toEqual({
      shadow: [{ objectId: "r1" }, { objectId: "r2" }, { objectId: "r3" }],
      stored: [{ objectId: "r1" }, { objectId: "r2" }, { objectId: "r3" }],
      warnings: expectedWarnings,
    });
  });

  // The rule's fallback writes through Prisma's createMany, whose pg adapter sends a Date
  // without its zone: in a session outside UTC, every instant was stored 5 hours off.
  it.each([
    ["without pgPool", false],
    ["with pgPool", true],
  ])("%s, the session's TimeZone America/New_York: each instant is stored as it is", async (_name, withPool) => {
    const newYork = connectClient(db, { options: "-c TimeZone=America/New_York" });
    try {
      const store = withPool ? prismaStore(newYork, { pgPool: pool }) : prismaStore(newYork);
      const rows = Array.from({ length: 3 }, (_, i) => store.toRow(sampleRecord({ objectId: `tz${i}` }), context));
      await store.writeRows(rows);
      const { rows: stored } = await pool.query(`SELECT id::text AS id, (extract(epoch from "timestamp") * 1000)::float8 AS ms FROM audit_events WHERE id = ANY($1::uuid[])`, [rows.map((r) => r.id)]);
      const storedAt = new Map(stored.map((r: { id: string; ms: number }) => [r.id, r.ms]));
      expect(rows.map((r) => storedAt.get(r.id))).toEqual(rows.map((r) => (r.timestamp as Date).getTime()));
    } finally {
      await newYork.$disconnect();
    }
  });
});
