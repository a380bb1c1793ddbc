import { Pool } from "pg";

import { v7 as uuidv7 } from "uuid";

import { AuditContext, auditMetrics, closeAudit, configureAudit, prismaStore, type AuditEventRecord } from "../../src";
import { eventHash } from "../../src/integrity/canonical-event";
import { sampleRecord } from "../conformance/store-conformance";
import { openDatabase, type TestDatabase } from "../support/databases";
import { testPgPool } from "../support/test-pg-pool";

/** A chain of `length` linked events of 0.9 MiB content each. */
function bigChain(length: number): AuditEventRecord[] {
  const chainId = uuidv7();
  const body = "z".repeat(900_000);
  const rows: AuditEventRecord[] = [];
  let prevHash: string | null = null;
  for (let seq = 1; seq <= length; seq++) {
    const row: AuditEventRecord = sampleRecord({ objectId: String(seq), content: { body }, chainId, seq, prevHash });
    row.hash = prevHash = eventHash(row);
    rows.push(row);
  }
  return rows;
}

/**
 * Every column is bounded (content to 1 MiB) and the buffered writer batches up to
 * maxBatchSize (1000) events, so a batch's text can exceed V8's longest string
 * (2^29 - 24 code units, ~512 Mi). Both ways of writing a batch to PostgreSQL, COPY
 * through a pgPool and json_populate_recordset through Prisma, must still store it:
 * a RangeError is no outage, and retrying the same batch would store none of it, ever.
 */
jest.setTimeout(180_000);
describe.each([
  ["COPY through a pgPool", true],
  ["Prisma's json_populate_recordset (no pgPool)", false],
])("a buffered batch whose text passes V8's longest string, written by %s", (_name, withPool) => {
  let db: TestDatabase<"postgresql">;
  let pool: Pool;

  beforeAll(async () => {
    db = await openDatabase("postgresql", { name: `big_batch_${withPool ? "copy" : "prisma"}` });
    pool = testPgPool(db.url, { max: 2 });
  });
  afterAll(async () => {
    await pool?.end();
    await db?.close();
  });

  it("stores 600 events of 0.9 MiB content each, every one within its column bound, with no error", async () => {
    const logged: string[] = [];
    const logger = { warn: (m: string) => void logged.push(m), error: (m: string) => void logged.push(m) };
    configureAudit({ store: prismaStore(db.prisma, withPool ? { pgPool: pool } : {}), writeMode: "buffered", flushIntervalMs: 60_000, logger });
    const body = "y".repeat(900_000);
    for (let i = 0; i < 600; i++) await new AuditContext().createEvent({ contentType: "Document", objectId: String(i) }, { body });
    const closing = closeAudit().then(
      () => "closed",
      (error: Error) => `rejected: ${error.message.slice(0, 200)}`,
    );
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([closing, new Promise((resolve) => (timer = setTimeout(() => resolve("still flushing after 120 s"), 120_000)))]);
    clearTimeout(timer);
    const { rows } = await pool.query(`SELECT count(*)::int AS n, count(DISTINCT "objectId")::int AS objects FROM audit_events`);
    expect({ outcome, stored: rows[0], lastError: auditMetrics().lastError ?? null, logged }).toEqual({
      outcome: "closed",
      stored: { n: 600, objects: 600 },
      lastError: null,
      logged: [],
    });
  });

  it("stores such a chained batch all or none: nothing of it when its last position is taken, all of it when free", async () => {
    configureAudit({});
    const store = prismaStore(db.prisma, withPool ? { pgPool: pool } : {});
    const chain = bigChain(600);
    const last = chain[599]!;
    const intruder = { ...sampleRecord({ chainId: last.chainId, seq: last.seq, prevHash: last.prevHash }), hash: "e".repeat(64) };
    await store.writeRows([intruder]);
    await expect(store.writeRows(chain.map((row) => ({ ...row })))).rejects.toMatchObject({ code: "ERR_AUDIT_STORE", message: expect.stringContaining(`position ${last.chainId}#${last.seq}`) });
    const count = async () => (await pool.query(`SELECT count(*)::int AS n FROM audit_events WHERE "chainId" = $1`, [last.chainId])).rows[0].n;
    expect(await count()).toBe(1);
    await pool.query(`DELETE FROM audit_events WHERE id = $1`, [intruder.id]);
    await store.writeRows(chain.map((row) => ({ ...row })));
    expect(await count()).toBe(600);
  });
});
