import { readFileSync } from "node:fs";

import { PrismaPg } from "@prisma/adapter-pg";
import { Pool } from "pg";

import { AuditContext, closeAudit, configureAudit, prismaStore } from "../../src";
import { sampleRecord } from "../conformance/store-conformance";
import { migrationFiles, openDatabase, type TestDatabase } from "../support/databases";
import { testPgPool } from "../support/test-pg-pool";

/**
 * A Prisma client that works in another PostgreSQL schema through the adapter's own
 * `schema` option (`new PrismaPg(pool, { schema })`, Prisma 7's way for driver adapters),
 * with the same Pool given to prismaStore. Prisma's model calls go to
 * "<schema>"."audit_events"; the store's raw statements (COPY, json_populate_recordset,
 * reads) must go there too, not wherever the pool's search_path points (public).
 */
describe("raw statements of a store whose PrismaPg adapter has a schema option use that schema", () => {
  let db: TestDatabase<"postgresql">;
  let pool: Pool;
  let prisma: any;
  const context = new AuditContext();

  beforeAll(async () => {
    db = await openDatabase("postgresql", { name: "adapter_schema" });
    pool = testPgPool(db.url, { max: 3 });
    await pool.query("CREATE SCHEMA tenant_a");
    const client = await pool.connect();
    try {
      await client.query("SET search_path TO tenant_a");
      for (const file of migrationFiles("postgresql", { examples: false })) await client.query(readFileSync(file, "utf8"));
    } finally {
      client.release(true);
    }
    const generated = require("../../generated/postgresql/client/client");
    prisma = new generated.PrismaClient({ adapter: new PrismaPg(pool, { schema: "tenant_a" }) });
  });
  afterAll(async () => {
    await closeAudit();
    await prisma?.$disconnect();
    await pool?.end();
    await db?.close();
  });

  it("stores a buffered event where the same store's getEvent and Prisma read it", async () => {
    const store = prismaStore(prisma, { pgPool: pool });
    configureAudit({ store, writeMode: "buffered" });
    const record = await new AuditContext().createEvent({ contentType: "Order", objectId: "1" }, { total: 1 });
    await closeAudit();
    const inTenant = await pool.query(`SELECT count(*)::int AS n FROM tenant_a.audit_events WHERE id = $1`, [record.id]);
    const inPublic = await pool.query(`SELECT count(*)::int AS n FROM public.audit_events WHERE id = $1`, [record.id]);
    expect({ tenant_a: inTenant.rows[0].n, public: inPublic.rows[0].n }).toEqual({ tenant_a: 1, public: 0 });
    expect(await store.getEvent(record.id)).not.toBeNull();
  });

  it.each([["with pgPool (COPY)", true], ["without pgPool (json_populate_recordset)", false]])("a sync event and a buffered event of one store end in the same table, %s", async (_name, withPool) => {
    const store = withPool ? prismaStore(prisma, { pgPool: pool }) : prismaStore(prisma);
    const a = sampleRecord({ objectId: "sync" });
    const b = sampleRecord({ objectId: "buffered" });
    await store.insert([a], { context });
    await store.writeRows([store.toRow(b, context)]);
    const where = await pool.query(
      `SELECT 'tenant_a' AS s, "objectId" FROM tenant_a.audit_events WHERE id IN ($1::uuid, $2::uuid) UNION ALL SELECT 'public', "objectId" FROM public.audit_events WHERE id IN ($1::uuid, $2::uuid) ORDER BY 2`,
      [a.id, b.id],
    );
    expect(where.rows).toEqual([
      { s: "tenant_a", objectId: "buffered" },
      { s: "tenant_a", objectId: "sync" },
    ]);
  });
});
