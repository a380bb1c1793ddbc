/**
 * `postgresCpuMicros()` (bench/lib/postgres-cpu.ts), which bench:http uses to report
 * PostgreSQL's CPU per event, against the real local PostgreSQL: a backend's CPU counts
 * between two readings, also when its connection ended before the second.
 */
import { Client } from "pg";

import { postgresCpuMicros } from "../../bench/lib/postgres-cpu";
import { openDatabase, type TestDatabase } from "../support/databases";

describe("postgresCpuMicros", () => {
  let db: TestDatabase<"postgresql">;
  beforeAll(async () => {
    db = await openDatabase("postgresql", { name: "bench_pg_cpu" });
  });
  afterAll(async () => {
    await db?.close();
  });

  it("counts the CPU of a backend whose connection ended between the readings", async () => {
    const before = postgresCpuMicros();
    expect(before).toBeGreaterThan(0);
    const client = new Client({ connectionString: db.url });
    await client.connect();
    // One backend, one CPU-bound query: its CPU time is close to its wall time.
    await client.query("SET max_parallel_workers_per_gather = 0");
    const started = performance.now();
    await client.query("SELECT count(*) FROM generate_series(1, 4000000)");
    const wallMicros = (performance.now() - started) * 1000;
    await client.end();
    // The postmaster reaps the ended backend: its time moves to the postmaster's children's.
    let after = postgresCpuMicros()!;
    for (let tries = 0; tries < 50 && after - before! < wallMicros / 3; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      after = postgresCpuMicros()!;
    }
    // At least a third of the query's wall time (the machine may be shared), and not a whole second more.
    expect(after - before!).toBeGreaterThanOrEqual(wallMicros / 3);
    expect(after - before!).toBeLessThan(wallMicros + 1_000_000);
  });

  it("counts, for one database, the live backends connected to it and no other", async () => {
    const ours = new Client({ connectionString: db.url });
    const other = new Client({ connectionString: db.url.replace(/\/[^/]+$/, "/postgres") });
    await Promise.all([ours.connect(), other.connect()]);
    try {
      const busy = (client: Client) => client.query("SELECT count(*) FROM generate_series(1, 3000000)");
      const database = new URL(db.url).pathname.slice(1);
      let before = postgresCpuMicros(database)!;
      let started = performance.now();
      await busy(other);
      const otherWall = (performance.now() - started) * 1000;
      const afterOther = postgresCpuMicros(database)!;
      // Another database's backend: not counted (a tenth of its time at most, for our idle backend's own).
      expect(afterOther - before).toBeLessThan(otherWall / 10);
      before = afterOther;
      started = performance.now();
      await busy(ours);
      const oursWall = (performance.now() - started) * 1000;
      expect(postgresCpuMicros(database)! - before).toBeGreaterThanOrEqual(oursWall / 3);
    } finally {
      await Promise.all([ours.end(), other.end()]);
    }
  });
});
