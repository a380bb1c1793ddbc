import { setTimeout as realTimeout } from "node:timers/promises";
import { Client } from "pg";
import { configureAudit, prismaStore, type AuditStore, type EventRow } from "../../src";
import { newEventIdentity } from "../../src/model/event-record";
import { COPY_DEADLINE_MS } from "../../src/stores/pg-copy-insert";
import { sampleRecord } from "../conformance/store-conformance";
import { connectClient, openDatabase, type TestDatabase, type TestPrismaClient } from "../support/databases";
import { startTcpProxy, throughProxy, type TcpProxy } from "../support/tcp-proxy";
import { testPgPool } from "../support/test-pg-pool";
import { recordingLogger } from "../writer/spool-conformance";

/**
 * The usual production setup: Prisma and the pgPool log in as the same application role,
 * not a superuser. Such a role sees every session of its own, and `<insufficient
 * privilege>` for the server's background processes (checkpointer, walwriter, the
 * launchers: no database) and for the sessions of other roles in other databases, none of
 * which can be the pool's. When the given-up write's session is not found (its COPY never
 * reached the server, or the server ended it already), the warning must not blame those:
 * it told the user to grant pg_read_all_stats, for nothing, every time. Sessions that could
 * be the pool's are those of the pool's own role (learnt by the first look).
 */

let db: TestDatabase<"postgresql">;
let proxy: TcpProxy;
let pool: ReturnType<typeof testPgPool>;
let appPrisma: TestPrismaClient<"postgresql">;
let store: AuditStore;
const logger = recordingLogger();
/** A role of the cluster, the application's, dropped with the database. */
const APP_ROLE = "audit_events_session_warning_app";

async function admin<T>(work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: Object.assign(new URL(db.url), { pathname: "/postgres" }).toString() });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

beforeAll(async () => {
  db = await openDatabase("postgresql", { name: "pg-copy-session-warning" });
  await admin((c) => c.query(`DROP ROLE IF EXISTS ${APP_ROLE}`));
  await db.prisma.$executeRawUnsafe(`CREATE ROLE ${APP_ROLE} LOGIN`);
  await db.prisma.$executeRawUnsafe(`GRANT ALL ON SCHEMA public TO ${APP_ROLE}`);
  await db.prisma.$executeRawUnsafe(`GRANT ALL ON ALL TABLES IN SCHEMA public TO ${APP_ROLE}`);
  await db.prisma.$executeRawUnsafe(`GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO ${APP_ROLE}`);
  const appUrl = new URL(db.url);
  appUrl.username = APP_ROLE;
  const { hostname, port } = new URL(db.url);
  proxy = await startTcpProxy({ host: hostname, port: Number(port) });
  pool = testPgPool(throughProxy(appUrl.toString(), proxy), { max: 2 });
  appPrisma = connectClient({ provider: "postgresql", url: appUrl.toString() });
  store = prismaStore(appPrisma, { pgPool: pool });
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
  await appPrisma?.$disconnect();
  await db?.close();
  await admin((c) => c.query(`DROP ROLE IF EXISTS ${APP_ROLE}`)).catch(() => undefined);
});

const rows = (count: number, tag: string): EventRow[] =>
  Array.from({ length: count }, (_, i) => store.toRow({ ...sampleRecord(), ...newEventIdentity(), objectId: `${tag}-${i}` }, { extraData: {} }) as EventRow);

it("does not blame sessions of other roles (background processes, an administrator's) when the pool's role is Prisma's and the given-up write's session is not found", async () => {
  // Sessions the application's role may not read are there, as in production: the
  // server's background processes, and an administrator's session in this very database
  // (the test's own superuser connection), none of them the pool's.
  const [{ hidden }] = await appPrisma.$queryRawUnsafe<[{ hidden: number }]>(`SELECT count(*)::int AS hidden FROM pg_stat_activity WHERE query = '<insufficient privilege>'`);
  expect(hidden).toBeGreaterThan(0);
  // The pool's connection stops answering: its COPY never reaches the server.
  proxy.blackhole();
  jest.useFakeTimers({ doNotFake: ["nextTick", "setImmediate", "clearImmediate", "queueMicrotask", "performance", "hrtime", "Date", "setInterval", "clearInterval"] });
  let settled = false;
  const write = store.writeRows(rows(10, "gone")).then(() => void (settled = true));
  await realTimeout(500);
  jest.advanceTimersByTime(COPY_DEADLINE_MS);
  for (let waited = 0; !settled && waited < 10_000; waited += 50) await realTimeout(50);
  jest.useRealTimers();
  await write;
  const [count] = await appPrisma.$queryRawUnsafe<{ n: number }[]>(`SELECT count(DISTINCT id)::int AS n FROM audit_events WHERE "objectId" LIKE 'gone-%'`);
  expect(count!.n).toBe(10);
  expect(logger.warnings).toEqual([expect.stringContaining("had no answer within 60 s; its connection was given up; its server session")]);
  expect(logger.warnings[0]).not.toContain("may not read the statements");
  expect(logger.warnings[0]).toMatch(/its server session \(statement marked \/\* audit-events copy [0-9a-f-]{36} \*\/\) was gone already/);
}, 60_000);

it("says statements are not tracked when the pool's sessions do not track them, though Prisma's do", async () => {
  logger.warnings.length = 0;
  // track_activities is a setting of each session: here the pool's (a superuser's option), not Prisma's.
  const untracked = testPgPool(throughProxy(db.url, proxy), { max: 2, options: "-c track_activities=off" });
  try {
    const untrackedStore = prismaStore(db.prisma, { pgPool: untracked });
    configureAudit({ store: untrackedStore, logger });
    await untrackedStore.writeRows(rows(3, "untracked-before"));
    proxy.halfDead(400_000);
    jest.useFakeTimers({ doNotFake: ["nextTick", "setImmediate", "clearImmediate", "queueMicrotask", "performance", "hrtime", "Date", "setInterval", "clearInterval"] });
    let settled = false;
    const write = untrackedStore.writeRows(rows(4000, "untracked")).then(() => void (settled = true));
    await realTimeout(1500);
    jest.advanceTimersByTime(COPY_DEADLINE_MS);
    for (let waited = 0; !settled && waited < 3000; waited += 50) await realTimeout(50);
    jest.useRealTimers();
    // The session lives on, holding its rows, and the write through Prisma waits for them ...
    expect(settled).toBe(false);
    // ... until the server's side ends (here the proxy drops it, as TCP keepalive would).
    proxy.cut();
    await write;
    expect(logger.warnings).toEqual([expect.stringContaining("could not be found: statements are not tracked (track_activities is off")]);
  } finally {
    configureAudit({ store, logger });
    await untracked.end().catch(() => undefined);
  }
}, 60_000);
