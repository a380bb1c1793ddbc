import { Client } from "pg";
import { copyMark, terminateCopySession } from "../../src/stores/pg-copy-session";
import { openDatabase, type TestDatabase } from "../support/databases";

/**
 * `terminateCopySession` ends the session whose statement begins with the mark only while
 * that session may hold rows: running it, or in a transaction. An idle session keeps its
 * last statement in `pg_stat_activity.query`: a pool connection whose COPY committed (the
 * deadline passed just as it did) goes back to the pool, or behind PgBouncer serves
 * another client, and must not be ended (f9524df, which came without a test).
 */

let db: TestDatabase<"postgresql">;
const clients: Client[] = [];

beforeAll(async () => {
  db = await openDatabase("postgresql", { name: "pg-copy-session-idle" });
});
afterAll(async () => {
  await Promise.all(clients.map((client) => client.end().catch(() => undefined)));
  await db?.close();
});

async function session(): Promise<Client & { processID: number }> {
  const client = new Client({ connectionString: db.url });
  client.on("error", () => undefined);
  await client.connect();
  clients.push(client);
  return client as Client & { processID: number };
}

async function alive(pid: number): Promise<boolean> {
  const rows = await db.prisma.$queryRawUnsafe<{ n: number }[]>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = $1`, pid);
  return rows[0]!.n === 1;
}

it("leaves alone an idle session whose last statement carried the mark", async () => {
  const mark = copyMark();
  const idle = await session();
  await idle.query(`${mark} SELECT 1`);
  expect(await terminateCopySession(db.prisma, mark)).toMatch(/was gone already$/);
  expect(await alive(idle.processID)).toBe(true);
  await expect(idle.query("SELECT 1")).resolves.toBeDefined();
});

it("ends a session in a transaction whose last statement carried the mark (between the COPYs of one batch), and no other", async () => {
  const mark = copyMark();
  const holding = await session();
  const other = await session();
  await holding.query("BEGIN");
  await holding.query(`${mark} SELECT 1`);
  await other.query("BEGIN");
  await other.query(`SELECT '${mark}'`);
  expect(await terminateCopySession(db.prisma, mark)).toMatch(/was ended \(pg_terminate_backend\)/);
  for (let waited = 0; (await alive(holding.processID)) && waited < 5000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
  expect(await alive(holding.processID)).toBe(false);
  expect(await alive(other.processID)).toBe(true);
  await expect(other.query("COMMIT")).resolves.toBeDefined();
});

it("is not fooled by a mark with SQL in it: the mark is a parameter", async () => {
  const idle = await session();
  await idle.query("BEGIN");
  await idle.query("SELECT 1");
  expect(await terminateCopySession(db.prisma, "' OR true OR '")).toMatch(/was gone already$/);
  expect(await alive(idle.processID)).toBe(true);
});
