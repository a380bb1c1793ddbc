import { setTimeout as realTimeout } from "node:timers/promises";
import { configureAudit, prismaStore, type AuditStore, type EventRow } from "../../src";
import { newEventIdentity } from "../../src/model/event-record";
import { COPY_DEADLINE_MS } from "../../src/stores/pg-copy-insert";
import { sampleRecord } from "../conformance/store-conformance";
import { openDatabase, type TestDatabase } from "../support/databases";
import { startTcpProxy, throughProxy, type TcpProxy } from "../support/tcp-proxy";
import { testPgPool } from "../support/test-pg-pool";
import { recordingLogger } from "../writer/spool-conformance";

/**
 * A `pgPool` whose connection neither answers nor fails (a dropped route, a firewall that
 * forgot the connection: no reset, no reply): node-postgres has no time limit of its own,
 * so a COPY on it waited for ever, and the buffered writer with it. Past
 * `COPY_DEADLINE_MS` the write gives the connection up and the batch goes the path
 * without a pool (Prisma's client, which here reaches the database directly). Only
 * `setTimeout` is faked, so the minute passes at once while the sockets are real.
 */

let db: TestDatabase<"postgresql">;
let proxy: TcpProxy;
let pool: ReturnType<typeof testPgPool>;
let store: AuditStore;
const logger = recordingLogger();

beforeAll(async () => {
  db = await openDatabase("postgresql", { name: "pg-copy-deadline" });
  const { hostname, port } = new URL(db.url);
  proxy = await startTcpProxy({ host: hostname, port: Number(port) });
  pool = testPgPool(throughProxy(db.url, proxy), { max: 2 });
  store = prismaStore(db.prisma, { pgPool: pool });
  configureAudit({ store, logger });
});
afterAll(async () => {
  jest.useRealTimers();
  configureAudit({});
  await proxy?.close();
  await pool?.end().catch(() => undefined);
  await db?.close();
});

const rows = (count: number, tag: string): EventRow[] =>
  Array.from({ length: count }, (_, i) => store.toRow({ ...sampleRecord(), ...newEventIdentity(), objectId: `${tag}-${i}` }, { extraData: {} }) as EventRow);

async function storedCount(tag: string): Promise<number> {
  const [row] = await db.prisma.$queryRawUnsafe<{ n: bigint }[]>(`SELECT count(*) AS n FROM audit_events WHERE "objectId" LIKE $1`, `${tag}-%`);
  return Number(row!.n);
}

it("gives up a pool connection that never answers after COPY_DEADLINE_MS, and writes the batch without the pool", async () => {
  // COPY works first (the pool's look is done, its connection in the pool).
  await store.writeRows(rows(3, "before"));
  expect(await storedCount("before")).toBe(3);

  proxy.blackhole();
  jest.useFakeTimers({ doNotFake: ["nextTick", "setImmediate", "clearImmediate", "queueMicrotask", "performance", "hrtime", "Date", "setInterval", "clearInterval"] });
  let settled: "pending" | "resolved" | "rejected" = "pending";
  const write = store.writeRows(rows(5, "during")).then(
    () => void (settled = "resolved"),
    () => void (settled = "rejected"),
  );
  // The COPY is sent into the void; nothing answers for as long as one waits.
  await realTimeout(1500);
  expect(settled).toBe("pending");
  jest.advanceTimersByTime(COPY_DEADLINE_MS);
  for (let waited = 0; settled === "pending" && waited < 20_000; waited += 50) await realTimeout(50);
  jest.useRealTimers();
  expect(settled).toBe("resolved");
  await write;
  expect(await storedCount("during")).toBe(5);
  // Said as what it is: a network fault, not a pool that cannot write the table.
  expect(logger.warnings).toEqual([expect.stringContaining("had no answer within 60 s; its connection was given up")]);

  // The route comes back: new connections write by COPY again, and nothing was stored twice.
  proxy.restore();
  await store.writeRows(rows(4, "after"));
  expect(await storedCount("after")).toBe(4);
  const [all] = await db.prisma.$queryRawUnsafe<{ n: bigint; distinct: bigint }[]>(`SELECT count(*) AS n, count(DISTINCT id) AS distinct FROM audit_events`);
  expect(Number(all!.n)).toBe(12);
  expect(Number(all!.distinct)).toBe(12);
}, 60_000);
