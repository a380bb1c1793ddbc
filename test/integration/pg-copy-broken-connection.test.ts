import { Client, Pool } from "pg";

import { AuditContext, configureAudit, prismaStore } from "../../src";
import type { EventRow } from "../../src/stores/store";
import { sampleRecord } from "../conformance/store-conformance";
import { openDatabase, type TestDatabase } from "../support/databases";
import { testPgPool } from "../support/test-pg-pool";

/**
 * The PostgreSQL connection a COPY runs on breaks while its data is sent (a server
 * restart, a failover, pg_terminate_backend). node-postgres then emits "error" on the
 * checked-out client, and a pool listens only to idle clients: a client that nobody
 * listens to throws it as an uncaught exception, which ends the application's process.
 * The batch must go through Prisma instead, with the process alive and no pool connection kept.
 */
let db: TestDatabase<"postgresql">;
let pool: Pool;
let admin: Client;
beforeAll(async () => {
  db = await openDatabase("postgresql", { name: "copy_broken_connection" });
  pool = testPgPool(db.url, { max: 2 });
  admin = new Client({ connectionString: db.url });
  await admin.connect();
});
afterAll(async () => {
  configureAudit({});
  await admin?.end();
  await pool?.end();
  await db?.close();
});

it("writes the batch through Prisma when the COPY's connection is cut while its data is sent, and the process lives on", async () => {
  configureAudit({ logger: { warn: () => undefined } });
  const store = prismaStore(db.prisma, { pgPool: pool });
  const context = new AuditContext();
  const big = "b".repeat(900_000);
  let cut = 0;
  // Cut every COPY's connection as soon as it is seen; each try sends ~36 MB, so the cut meets the data on its way.
  const cutter = setInterval(() => {
    void admin
      .query(`SELECT pg_terminate_backend(pid) AS cut FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '/* audit-events copy % */ COPY %' AND pid <> pg_backend_pid()`)
      .then((result) => (cut += result.rows.filter((row) => row.cut === true).length), () => undefined);
  }, 5);
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      const rows = Array.from({ length: 40 }, (_, i) => ({ ...store.toRow(sampleRecord({ objectId: `${attempt}-${i}`, content: { big } }), context) }) as EventRow);
      await store.writeRows(rows);
    }
  } finally {
    clearInterval(cutter);
  }
  const [{ n }] = await (db.prisma as unknown as { $queryRawUnsafe<T>(sql: string): Promise<T> }).$queryRawUnsafe<[{ n: number }]>("SELECT count(*)::int AS n FROM audit_events");
  expect({ stored: n, cutSome: cut > 0, kept: pool.totalCount - pool.idleCount }).toEqual({ stored: 200, cutSome: true, kept: 0 });
}, 120_000);
