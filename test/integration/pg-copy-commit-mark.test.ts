import { setTimeout as realTimeout } from "node:timers/promises";
import { configureAudit, prismaStore, type AuditStore, type EventRow } from "../../src";
import { newEventIdentity } from "../../src/model/event-record";
import { COPY_DEADLINE_MS } from "../../src/stores/pg-copy-insert";
import { sampleRecord } from "../conformance/store-conformance";
import { openDatabase, type TestDatabase } from "../support/databases";
import { testPgPool } from "../support/test-pg-pool";
import { recordingLogger } from "../writer/spool-conformance";

/**
 * A batch of several field sets is several COPYs in one transaction, ended by COMMIT. A
 * COMMIT that takes long on the server (deferred constraint triggers, here one that sleeps;
 * a synchronous standby, a stalled disk) holds the COPYs' rows while its statement is
 * `COMMIT`: unmarked, the given-up write's session was not found at the deadline, the
 * warning said it "was gone already", and the write through Prisma waited for the rows
 * (then skipped them: the COPY committed after it was given up). The COMMIT carries the
 * write's mark too, so the session is found and ended, and its rows rolled back.
 */

let db: TestDatabase<"postgresql">;
let pool: ReturnType<typeof testPgPool>;
let store: AuditStore;
const logger = recordingLogger();
/** How long the deferred trigger sleeps in the pool's COMMIT. */
const SLEEP_S = 15;

beforeAll(async () => {
  db = await openDatabase("postgresql", { name: "pg-copy-commit-mark" });
  pool = testPgPool(db.url, { max: 2, application_name: "commit-mark-pool" });
  store = prismaStore(db.prisma, { pgPool: pool });
  configureAudit({ store, logger });
  await store.writeRows(rows(3, "before"));
  // Sleeps at the COMMIT of the pool's transactions only: the write through Prisma is not slowed.
  await db.prisma.$executeRawUnsafe(`CREATE FUNCTION slow_pool_commit() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF current_setting('application_name') = 'commit-mark-pool' AND NEW."objectId" = 'slow-0' THEN PERFORM pg_sleep(${SLEEP_S}); END IF;
      RETURN NULL;
    END $$`);
  await db.prisma.$executeRawUnsafe(
    `CREATE CONSTRAINT TRIGGER slow_pool_commit AFTER INSERT ON audit_events DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION slow_pool_commit()`,
  );
});
afterEach(() => jest.useRealTimers());
afterAll(async () => {
  configureAudit({});
  await pool?.end().catch(() => undefined);
  await db?.close();
});

/** `count` rows, every other one without `requestId`: two field sets, two COPYs in one transaction. */
const rows = (count: number, tag: string): EventRow[] =>
  Array.from({ length: count }, (_, i) => {
    const row: Record<string, unknown> = { ...store.toRow({ ...sampleRecord(), ...newEventIdentity(), objectId: `${tag}-${i}` }, { extraData: {} }) };
    if (i % 2 === 1) delete row.requestId;
    return row as EventRow;
  });

it("ends the session of a write given up in its COMMIT, found by the mark its COMMIT carries", async () => {
  jest.useFakeTimers({ doNotFake: ["nextTick", "setImmediate", "clearImmediate", "queueMicrotask", "performance", "hrtime", "Date", "setInterval", "clearInterval"] });
  let settled = false;
  const write = store.writeRows(rows(10, "slow")).then(() => void (settled = true));
  const inCommit = async () =>
    (
      await db.prisma.$queryRawUnsafe<{ n: number }[]>(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'commit-mark-pool' AND state = 'active' AND query ~ 'COMMIT$'`,
      )
    )[0]!.n;
  for (let waited = 0; (await inCommit()) === 0 && waited < 5_000; waited += 50) await realTimeout(50);
  expect(await inCommit()).toBe(1);
  const started = Date.now();
  jest.advanceTimersByTime(COPY_DEADLINE_MS);
  for (let waited = 0; !settled && waited < (SLEEP_S + 5) * 1000; waited += 50) await realTimeout(50);
  jest.useRealTimers();
  await write;
  // Ended, not waited for: the write through Prisma did not wait the COMMIT's sleep out.
  expect(Date.now() - started).toBeLessThan((SLEEP_S * 1000) / 2);
  expect(logger.warnings).toEqual([expect.stringMatching(/its server session \(statement marked \/\* audit-events copy [0-9a-f-]{36} \*\/\) was ended \(pg_terminate_backend\)/)]);
  const [count] = await db.prisma.$queryRawUnsafe<{ n: number; distinct: number }[]>(
    `SELECT count(*)::int AS n, count(DISTINCT id)::int AS distinct FROM audit_events WHERE "objectId" LIKE 'slow-%'`,
  );
  expect(count).toEqual({ n: 10, distinct: 10 });
}, 60_000);
