import { setTimeout as realTimeout } from "node:timers/promises";
import { Client } from "pg";
import { configureAudit, prismaStore, type AuditStore, type EventRow } from "../../src";
import { newEventIdentity } from "../../src/model/event-record";
import { COPY_DEADLINE_MS } from "../../src/stores/pg-copy-insert";
import { sampleRecord } from "../conformance/store-conformance";
import { connectClient, openDatabase, type TestDatabase } from "../support/databases";
import { startTcpProxy, throughProxy, type TcpProxy } from "../support/tcp-proxy";
import { testPgPool } from "../support/test-pg-pool";
import { recordingLogger } from "../writer/spool-conformance";

/**
 * A `pgPool` connection whose route dies one way in the middle of a COPY, the server still
 * connected: destroying our socket at `COPY_DEADLINE_MS` does not end the server's session,
 * which keeps its transaction open with the rows it had received until its TCP keepalive
 * ends it (two hours by default). The path without a pool inserts the same ids and waited
 * for those rows, so the writer hung again. The write must end that session, found by the
 * mark of its transaction, and no other. Only `setTimeout` is faked; the sockets are real.
 */

let db: TestDatabase<"postgresql">;
let proxy: TcpProxy;
let pool: ReturnType<typeof testPgPool>;
let store: AuditStore;
const logger = recordingLogger();
/** A role of the cluster, created by the last test and dropped with the database. */
const WEAK_ROLE = "audit_events_half_dead_weak";

beforeAll(async () => {
  db = await openDatabase("postgresql", { name: "pg-copy-half-dead-route" });
  await dropWeakRole();
  const { hostname, port } = new URL(db.url);
  proxy = await startTcpProxy({ host: hostname, port: Number(port) });
  pool = testPgPool(throughProxy(db.url, proxy), { max: 2 });
  store = prismaStore(db.prisma, { pgPool: pool });
  configureAudit({ store, logger });
  // COPY works first (the pool's look is done, its connection in the pool).
  await store.writeRows(rows(3, "before"));
});
afterEach(() => {
  jest.useRealTimers();
  proxy.restore();
});
afterAll(async () => {
  configureAudit({});
  await proxy?.close();
  await pool?.end().catch(() => undefined);
  await db?.close();
  await dropWeakRole();
});

/** Roles belong to the cluster, not the test database: dropped once the database that grants to it is gone. */
async function dropWeakRole(): Promise<void> {
  const admin = new Client({ connectionString: Object.assign(new URL(db.url), { pathname: "/postgres" }).toString() });
  await admin.connect();
  try {
    await admin.query(`DROP ROLE IF EXISTS ${WEAK_ROLE}`);
  } finally {
    await admin.end();
  }
}

const rows = (count: number, tag: string): EventRow[] =>
  Array.from({ length: count }, (_, i) => store.toRow({ ...sampleRecord(), ...newEventIdentity(), objectId: `${tag}-${i}` }, { extraData: {} }) as EventRow);

async function stored(tag: string): Promise<{ n: number; distinct: number }> {
  const [row] = await db.prisma.$queryRawUnsafe<{ n: bigint; distinct: bigint }[]>(
    `SELECT count(*) AS n, count(DISTINCT id) AS distinct FROM audit_events WHERE "objectId" LIKE $1`,
    `${tag}-%`,
  );
  return { n: Number(row!.n), distinct: Number(row!.distinct) };
}

/** The sessions of this database running a COPY into the table, with the mark their statement begins with. */
const copySessions = () =>
  db.prisma.$queryRawUnsafe<{ pid: number; name: string }[]>(
    `SELECT pid, substring(query from '^/\\* audit-events copy [0-9a-f-]+ \\*/') AS name FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '/* audit-events copy % */ COPY %' AND pid <> pg_backend_pid()`,
  );

/** 4000 events, about 1.5 MB of COPY text: the server receives and inserts the first 400 KB (COPY stores rows in groups of at most 64 KB), then the route dies. */
const COUNT = 4000;

/** Starts a write through `through` whose route dies one way mid-COPY, passes the deadline, and waits for it (`waitMs` at most). */
async function writeThroughHalfDeadRoute(tag: string, through = store, waitMs = 20_000) {
  proxy.halfDead(400_000);
  jest.useFakeTimers({ doNotFake: ["nextTick", "setImmediate", "clearImmediate", "queueMicrotask", "performance", "hrtime", "Date", "setInterval", "clearInterval"] });
  let settled = "pending";
  const write = through.writeRows(rows(COUNT, tag)).then(
    () => void (settled = "resolved"),
    (error: unknown) => void (settled = `rejected: ${String(error)}`),
  );
  await realTimeout(1500);
  const sessionsBefore = await copySessions();
  jest.advanceTimersByTime(COPY_DEADLINE_MS);
  for (let waited = 0; settled === "pending" && waited < waitMs; waited += 50) await realTimeout(50);
  jest.useRealTimers();
  if (settled !== "pending") await write;
  return { settled, sessionsBefore, write, state: () => settled };
}

it("ends the server session of a write given up at COPY_DEADLINE_MS, so the write through Prisma does not wait for its rows", async () => {
  const { settled, sessionsBefore } = await writeThroughHalfDeadRoute("half-dead");
  expect(settled).toBe("resolved");
  // The server had the marked COPY under way when the deadline came.
  expect(sessionsBefore).toEqual([{ pid: expect.any(Number), name: expect.stringMatching(/^\/\* audit-events copy [0-9a-f-]{36} \*\/$/) }]);
  expect(await stored("half-dead")).toEqual({ n: COUNT, distinct: COUNT });
  const [gone] = await db.prisma.$queryRawUnsafe<{ n: bigint }[]>(`SELECT count(*) AS n FROM pg_stat_activity WHERE pid = $1 OR left(query, length($2)) = $2`, sessionsBefore[0]!.pid, sessionsBefore[0]!.name);
  expect(Number(gone!.n)).toBe(0);
  expect(logger.warnings).toEqual([
    expect.stringContaining(`had no answer within 60 s; its connection was given up; its server session (statement marked ${sessionsBefore[0]!.name}) was ended (pg_terminate_backend)`),
  ]);
  expect(await stored("before")).toEqual({ n: 3, distinct: 3 });
}, 60_000);

it("never ends a session that is not the given-up write's, even one marked by another write or in a transaction of its own", async () => {
  logger.warnings.length = 0;
  const url = new URL(db.url);
  const otherWrite = new Client({ connectionString: url.toString() });
  const userSession = new Client({ connectionString: url.toString(), application_name: "the-application" });
  const viaProxy = new Client({ connectionString: throughProxy(db.url, proxy) });
  const others = [otherWrite, userSession, viaProxy];
  try {
    for (const client of others) {
      client.on("error", () => undefined);
      await client.connect();
    }
    await otherWrite.query("BEGIN");
    // Its statement carries another write's mark.
    await otherWrite.query("/* audit-events copy 00000000-0000-4000-8000-000000000000 */ SELECT txid_current()");
    await userSession.query("BEGIN; SELECT txid_current()");
    const pids = others.map((client) => (client as unknown as { processID: number }).processID);

    const { settled } = await writeThroughHalfDeadRoute("not-ours");
    expect(settled).toBe("resolved");
    expect(await stored("not-ours")).toEqual({ n: COUNT, distinct: COUNT });
    expect(logger.warnings).toEqual([expect.stringContaining("was ended (pg_terminate_backend)")]);

    // The server still has every other session, and the two transactions go on.
    const alive = await db.prisma.$queryRawUnsafe<{ pid: number }[]>(`SELECT pid FROM pg_stat_activity WHERE pid = ANY($1::int[])`, pids);
    expect(alive.map((row) => row.pid).sort()).toEqual([...pids].sort());
    await expect(otherWrite.query("COMMIT")).resolves.toBeDefined();
    await expect(userSession.query("COMMIT")).resolves.toBeDefined();
  } finally {
    // The one through the dead route could never say goodbye: its socket is dropped.
    (viaProxy as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
    await Promise.all([otherWrite, userSession].map((client) => client.end().catch(() => undefined)));
  }
}, 60_000);

it("says in the warning when Prisma's role may not see the given-up session, which then holds its rows until the server ends it", async () => {
  logger.warnings.length = 0;
  // Prisma as a role that may write the table but not end the pool's (superuser) sessions.
  await db.prisma.$executeRawUnsafe(`CREATE ROLE ${WEAK_ROLE} LOGIN`);
  await db.prisma.$executeRawUnsafe(`GRANT ALL ON SCHEMA public TO ${WEAK_ROLE}`);
  await db.prisma.$executeRawUnsafe(`GRANT ALL ON ALL TABLES IN SCHEMA public TO ${WEAK_ROLE}`);
  await db.prisma.$executeRawUnsafe(`GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO ${WEAK_ROLE}`);
  const weakUrl = new URL(db.url);
  weakUrl.username = WEAK_ROLE;
  const weakPrisma = connectClient({ provider: "postgresql", url: weakUrl.toString() });
  try {
    const weakStore = prismaStore(weakPrisma, { pgPool: pool });
    configureAudit({ store: weakStore, logger });
    const { settled, state, write } = await writeThroughHalfDeadRoute("no-privilege", weakStore, 3000);
    // The write through Prisma waits for the rows of the session it could not end ...
    expect(settled).toBe("pending");
    // ... until the server's side ends (here the proxy drops it, as TCP keepalive would).
    proxy.cut();
    await write;
    expect(state()).toBe("resolved");
    expect(await stored("no-privilege")).toEqual({ n: COUNT, distinct: COUNT });
    expect(logger.warnings).toEqual([
      expect.stringMatching(
        /its server session \(statement marked \/\* audit-events copy [0-9a-f-]{36} \*\/\) could not be found: Prisma's role may not read the statements of [1-9]\d* session\(s\) of the pool's role \S+ in this database .*; if among them, it holds the rows its COPY had received until the server's TCP keepalive ends it/s,
      ),
    ]);
  } finally {
    configureAudit({ store, logger });
    await weakPrisma.$disconnect();
  }
}, 60_000);
