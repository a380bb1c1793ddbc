import { configureAudit, prismaStore } from "../../src";
import { newEventIdentity } from "../../src/model/event-record";
import type { EventRow } from "../../src/stores/store";
import { sampleRecord } from "../conformance/store-conformance";
import { copyRecordingPool, type CopyRecordingPool } from "../support/copy-pool";
import { openDatabase, type TestDatabase } from "../support/databases";

/**
 * PostgreSQL refuses a COPY's row as soon as it reads it (a stored id: unique violation,
 * 23505), while the rest of the batch's text is still being built and sent a piece a turn.
 * node-postgres then ends the query and pg-copy-streams emits the refusal as "error",
 * leaving the stream not destroyed and without a connection: the next piece must not be
 * written into it. The batch goes the way without a pool, which skips the stored id, and
 * the refusal (the data's, not the pool's) warns nobody.
 */
let db: TestDatabase<"postgresql">;
let pool: CopyRecordingPool;
const warnings: string[] = [];
beforeAll(async () => {
  db = await openDatabase("postgresql", { name: "pg_copy_error_between_pieces" });
  pool = copyRecordingPool(db.url);
  configureAudit({ logger: { warn: (message: string) => void warnings.push(message) } });
});
afterAll(async () => {
  configureAudit({});
  await pool?.end();
  await db?.close();
});

/** `count` rows of about 2 KB of content each: a batch of 1000 is about 30 pieces of COPY text. */
function rowsOf(count: number): EventRow[] {
  return Array.from({ length: count }, (_, i) => ({ ...sampleRecord(), ...newEventIdentity(), objectId: String(i), content: { note: "x".repeat(2_000), i } }) as EventRow);
}

it("a row refused while later pieces are still to be sent: the batch is stored once, through Prisma, and nobody is warned", async () => {
  for (let attempt = 0; attempt < 5; attempt++) {
    await db.reset();
    warnings.length = 0;
    const store = prismaStore(db.prisma, { pgPool: pool });
    const rows = rowsOf(1000);
    await store.writeRows(rows.slice(0, 1));
    await store.writeRows(rows);
    const [{ n, ids }] = await db.prisma.$queryRawUnsafe<[{ n: number; ids: number }]>("SELECT count(*)::int AS n, count(DISTINCT id)::int AS ids FROM audit_events");
    expect({ n, ids, warnings }).toEqual({ n: 1000, ids: 1000, warnings: [] });
  }
}, 120_000);
