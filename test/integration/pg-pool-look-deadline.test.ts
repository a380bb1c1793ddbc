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
 * The first look at a `pgPool` (`probePgPool`) given up at `COPY_DEADLINE_MS`: the pool
 * connection it holds is destroyed, not only forgotten (forgotten, it kept its pool slot for
 * ever, and once every slot was held so every batch waited a minute), and a look that
 * answers after it was given up is nobody's answer (it printed the "does NOT write through
 * the pgPool" warning while COPY was in use). Only `setTimeout` is faked; sockets are real.
 */

let db: TestDatabase<"postgresql">;
let proxy: TcpProxy;
const pools: ReturnType<typeof testPgPool>[] = [];
const logger = recordingLogger();
const FAKE_TIMEOUTS_ONLY: Parameters<typeof jest.useFakeTimers>[0] = {
  doNotFake: ["nextTick", "setImmediate", "clearImmediate", "queueMicrotask", "performance", "hrtime", "Date", "setInterval", "clearInterval"],
};

beforeAll(async () => {
  db = await openDatabase("postgresql", { name: "pg-pool-look-deadline" });
  const { hostname, port } = new URL(db.url);
  proxy = await startTcpProxy({ host: hostname, port: Number(port) });
});
afterEach(() => {
  jest.useRealTimers();
  proxy.restore();
  logger.warnings.length = 0;
});
afterAll(async () => {
  configureAudit({});
  await proxy?.close();
  await Promise.all(pools.map((pool) => pool.end().catch(() => undefined)));
  await db?.close();
});

const rows = (store: AuditStore, count: number, tag: string): EventRow[] =>
  Array.from({ length: count }, (_, i) => store.toRow({ ...sampleRecord(), ...newEventIdentity(), objectId: `${tag}-${i}` }, { extraData: {} }) as EventRow);

async function storedCount(tag: string): Promise<number> {
  const [row] = await db.prisma.$queryRawUnsafe<{ n: bigint }[]>(`SELECT count(*) AS n FROM audit_events WHERE "objectId" LIKE $1`, `${tag}-%`);
  return Number(row!.n);
}

/** How `promise` stands after waiting for it `ms` of real time at most. */
async function settledWithin(promise: Promise<unknown>, ms: number): Promise<string> {
  let settled = "pending";
  void promise.then(
    () => void (settled = "resolved"),
    (error: unknown) => void (settled = `rejected: ${String(error)}`),
  );
  for (let waited = 0; settled === "pending" && waited < ms; waited += 50) await realTimeout(50);
  return settled;
}

/** Starts `write`, lets it hang a moment, passes the deadline, and says how it stands. */
async function pastTheDeadline(write: () => Promise<void>): Promise<string> {
  jest.useFakeTimers(FAKE_TIMEOUTS_ONLY);
  const writing = write();
  await realTimeout(1000);
  jest.advanceTimersByTime(COPY_DEADLINE_MS);
  const settled = await settledWithin(writing, 20_000);
  jest.useRealTimers();
  return settled;
}

it("destroys the pool connection of a look given up at the deadline, so the pool has it again for the next batch", async () => {
  // One slot, its connection opened before the route dies (as the application's own Prisma queries open it).
  const pool = testPgPool(throughProxy(db.url, proxy), { max: 1 });
  pools.push(pool);
  (await pool.connect()).release();
  const store = prismaStore(db.prisma, { pgPool: pool });
  configureAudit({ store, logger });

  proxy.blackhole();
  expect(await pastTheDeadline(() => store.writeRows(rows(store, 3, "look-hung")))).toBe("resolved");
  expect(await storedCount("look-hung")).toBe(3);

  // The route comes back: the next batch looks again on a new connection, at once.
  proxy.restore();
  expect(await settledWithin(store.writeRows(rows(store, 4, "look-after")), 10_000)).toBe("resolved");
  expect(await storedCount("look-after")).toBe(4);
  expect(pool.totalCount).toBe(1);
  expect(logger.warnings).toEqual([expect.stringContaining("had no answer within 60 s; its connection was given up; the batch was written through Prisma")]);
}, 60_000);

it("keeps quiet about a look given up at the deadline that answers later, while COPY is in use", async () => {
  // The look's query through Prisma is held (a Prisma that does not answer for a while)
  // until released; every other call goes straight to the real client.
  let releaseLook!: () => void;
  const held = new Promise<void>((resolve) => (releaseLook = resolve));
  let holdNextLook = true;
  const slowLook = new Proxy(db.prisma, {
    get(target, key) {
      const value = Reflect.get(target, key) as unknown;
      if (key === "$queryRawUnsafe") {
        return async (sql: string, ...values: unknown[]) => {
          if (holdNextLook && sql.includes("pg_postmaster_start_time")) {
            holdNextLook = false;
            await held;
          }
          return target.$queryRawUnsafe(sql, ...values);
        };
      }
      return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
  const pool = testPgPool(db.url, { max: 2 });
  pools.push(pool);
  const store = prismaStore(slowLook, { pgPool: pool });
  configureAudit({ store, logger });

  expect(await pastTheDeadline(() => store.writeRows(rows(store, 3, "stale-look")))).toBe("resolved");
  // The next batch looks again, finds COPY usable, and writes by it.
  await store.writeRows(rows(store, 3, "second-look"));
  expect(await storedCount("second-look")).toBe(3);

  // Now the given-up look answers, and would find a reason not to use COPY.
  await db.prisma.$executeRawUnsafe(`CREATE RULE look_sees_this AS ON INSERT TO audit_events DO ALSO NOTHING`);
  try {
    releaseLook();
    await realTimeout(1500);
  } finally {
    await db.prisma.$executeRawUnsafe(`DROP RULE look_sees_this ON audit_events`);
  }
  expect(logger.warnings).toEqual([expect.stringContaining("had no answer within 60 s; its connection was given up")]);
}, 60_000);
