/**
 * `postgresCpuMicros()` (bench/lib/postgres-cpu.ts), which bench:http uses to report
 * PostgreSQL's CPU per event, against the real local PostgreSQL: a backend's CPU counts
 * between two readings, also when its connection ended before the second.
 */
import { existsSync, readFileSync } from "node:fs";
import { Client } from "pg";

import { postgresCpuMicros } from "../../bench/lib/postgres-cpu";
import { openDatabase, type TestDatabase } from "../support/databases";

/**
 * The CPU time so far, in µs, of the backend serving `client` (its own /proc entry): what
 * the readings are checked against. Not the wall time of a query: on a shared, loaded
 * machine a backend may get a small share of a core, and other clients of the server
 * (another test run's) add CPU of their own to a reading of the whole server.
 */
async function backendOf(client: Client): Promise<{ pid: number; cpu: () => number }> {
  const { rows } = await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
  const pid = rows[0]!.pid;
  return { pid, cpu: () => {
    try {
      return Number(readFileSync(`/proc/${pid}/schedstat`, "utf8").split(" ")[0]) / 1000;
    } catch {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      return (Number(fields[11]) + Number(fields[12])) * 10_000;
    }
  } };
}

describe("postgresCpuMicros", () => {
  let db: TestDatabase<"postgresql">;
  beforeAll(async () => {
    db = await openDatabase("postgresql", { name: "bench_pg_cpu" });
  });
  afterAll(async () => {
    await db?.close();
  });

  it("counts the CPU of a backend whose connection ended between the readings", async () => {
    const client = new Client({ connectionString: db.url });
    client.on("error", () => undefined);
    await client.connect();
    const backend = await backendOf(client);
    // One backend, one CPU-bound query.
    await client.query("SET max_parallel_workers_per_gather = 0");
    const before = postgresCpuMicros();
    expect(before).toBeGreaterThan(0);
    const backendBefore = backend.cpu();
    await client.query("SELECT count(*) FROM generate_series(1, 4000000)");
    const used = backend.cpu() - backendBefore;
    expect(used).toBeGreaterThan(10_000);
    await client.end();
    // Until the postmaster has reaped the ended backend (its /proc entry stays until then):
    // its time has moved to the postmaster's children's, which the reading must count.
    for (let tries = 0; tries < 250 && existsSync(`/proc/${backend.pid}`); tries++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(existsSync(`/proc/${backend.pid}`)).toBe(false);
    const after = postgresCpuMicros()!;
    // Reaped time is counted in ticks (10 ms): a tick or two of it may not show.
    expect(after - before!).toBeGreaterThanOrEqual(used * 0.9 - 30_000);
    // Not bounded closely from above: the whole server's CPU includes what other clients do
    // meanwhile, and the lifetime CPU of their backends that end meanwhile. Only a reading
    // off by orders of magnitude (a unit) fails this.
    expect(after - before!).toBeLessThan(100 * used + 60_000_000);
  });

  it("counts, for one database, the live backends connected to it and no other", async () => {
    const ours = new Client({ connectionString: db.url });
    const other = new Client({ connectionString: db.url.replace(/\/[^/]+$/, "/postgres") });
    for (const client of [ours, other]) client.on("error", () => undefined);
    await Promise.all([ours.connect(), other.connect()]);
    try {
      const busy = (client: Client) => client.query("SELECT count(*) FROM generate_series(1, 3000000)");
      const database = new URL(db.url).pathname.slice(1);
      const oursCpu = (await backendOf(ours)).cpu;
      const otherCpu = (await backendOf(other)).cpu;
      let before = postgresCpuMicros(database)!;
      let backendBefore = otherCpu();
      let started = performance.now();
      await busy(other);
      const otherWall = (performance.now() - started) * 1000;
      const afterOther = postgresCpuMicros(database)!;
      expect(otherCpu() - backendBefore).toBeGreaterThan(10_000);
      // Another database's backend: not counted (a tenth of its time at most, for our idle backends' own).
      expect(afterOther - before).toBeLessThan(otherWall / 10);
      before = afterOther;
      backendBefore = oursCpu();
      await busy(ours);
      // Our backend: counted, all of its CPU (compared with its own, not with the wall time,
      // which on a loaded machine may be many times its CPU).
      const used = oursCpu() - backendBefore;
      expect(used).toBeGreaterThan(10_000);
      expect(postgresCpuMicros(database)! - before).toBeGreaterThanOrEqual(used * 0.99);
    } finally {
      await Promise.all([ours.end(), other.end()]);
    }
  });
});
