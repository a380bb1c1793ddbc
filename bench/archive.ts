// Archival benchmark on PostgreSQL: archiveOldEvents() through prismaStore(), with one and
// with two batches in flight, against the plain two-statement baseline (INSERT ... SELECT +
// DELETE in one transaction), each on the same freshly seeded rows, interleaved, in one run.
//
//   npm run bench:archive -- [--rows 1000000] [--batch-size 1000] [--concurrency 1,2] [--paths pool,prisma] [--rounds 2] [--async-commit yes]
//
// --paths pool archives through prismaStore(prisma, { pgPool }), prisma through prismaStore(prisma).
// --async-commit yes archives through prismaStore(prisma, { asyncArchiveCommit: true }).
//
// Needs the PostgreSQL server of the tests (AUDIT_TEST_PG_URL or postgres@127.0.0.1:5432)
// and the generated Prisma clients (`npm run db:generate`). Creates and drops its own
// database. Exits 1 when a sanity check fails (rows lost, left behind or doubled); the
// throughput goals are reported, not asserted.
import os from "node:os";

import { Client as PgClient, Pool } from "pg";

import { archiveOldEvents, prismaStore, type AuditStore } from "../src/index";
import { EVENT_FIELDS } from "../src/model/event-record";
import { openDatabase, type TestDatabase } from "../test/support/databases";
import { benchOptions } from "./lib/cli-options";
import { int, ms, ratio } from "./lib/format";
import { goalLine } from "./lib/goals";
import { machineLine, postgresLines } from "./lib/machine";
import { markdownTable } from "./lib/markdown-table";
import { backendCpuMs, cpuSpentMs, overlapsAny, watchCheckpoints } from "./lib/pg-observe";
import { check, log as logLine, runBenchmark } from "./lib/sanity";
import { median, percentile } from "./lib/stats";

const DAY_MS = 86_400_000;
/** Seeded events are spread evenly over this many days, ending one day ago. */
const SPREAD_DAYS = 200;

const GOALS = { rowsPerSecond: 100_000, longestBatchMs: 100 };

/** Every column both tables share, quoted, in migration order. */
const COLUMNS = EVENT_FIELDS.map((c) => `"${c}"`).join(", ");

const invocation = benchOptions("archive", {
  rows: { type: "number", full: 1_000_000, smoke: 20_000, integer: true, help: "events seeded before each timed run" },
  "batch-size": { type: "number", full: 1000, smoke: 1000, integer: true, help: "archiveOldEvents' batchSize" },
  concurrency: { type: "list", full: ["1", "2"], smoke: ["1", "2"], help: "archiveOldEvents' concurrency values to measure, each against its own baseline run" },
  rounds: { type: "number", full: 2, smoke: 1, integer: true, help: "interleaved rounds" },
  paths: { type: "list", full: ["pool", "prisma"], smoke: ["pool", "prisma"], choices: ["pool", "prisma"], help: "store paths to measure: pool = prismaStore(prisma, { pgPool }), prisma = prismaStore(prisma)" },
  "async-commit": { type: "list", full: ["no"], smoke: ["no"], choices: ["no", "yes"], help: "yes: prismaStore(prisma, { asyncArchiveCommit: true })" },
});

const log = (line: string) => logLine("archive", line);

/** What the archive must hold after a run: the seeded rows, each once, unchanged. */
interface Seeded {
  rows: number;
  checksum: string;
  /** Average size of `content` as JSON text, in bytes. */
  contentBytes: number;
  /** Average size of a whole row as stored (pg_column_size of the row), in bytes. */
  rowBytes: number;
  seedMs: number;
}

// The seed fills the columns of the first migration; the event model's and the hash
// chain's columns take their defaults (null, "success", "info"), as rows of that time do.
const SEEDED_COLUMNS = ["id", "timestamp", "contentType", "objectId", "content", "userId", "url", "method", "remoteAddr", "queryParams", "postData", "headers"]
  .map((c) => `"${c}"`)
  .join(", ");

// Ids are UUID v7 in layout: 48 bits of the millisecond timestamp, then pseudo-random bits
// from md5(g). Timestamps are distinct milliseconds (as long as rows <= 200 days in ms), so
// id order == timestamp order, as with uuid v7 ids written by the library.
const SEED_SQL = `
INSERT INTO audit_events (${SEEDED_COLUMNS})
SELECT
  (lpad(to_hex(s.ms), 12, '0') || '7' || substr(s.h, 1, 3) || '8' || substr(s.h, 4, 15))::uuid,
  timestamptz 'epoch' + s.ms * interval '1 millisecond',
  (ARRAY['shop.order', 'shop.customer', 'shop.payment', 'auth.user'])[1 + s.g % 4],
  (s.g % 50000)::text,
  jsonb_build_object(
    'action', (ARRAY['create', 'update', 'status_change', 'delete'])[1 + s.g % 4],
    'reference', 'ORD-' || lpad((s.g % 50000)::text, 8, '0'),
    'changes', jsonb_build_object(
      'status', jsonb_build_array('pending', 'paid'),
      'total', jsonb_build_array(round((s.g % 100000) / 100.0, 2), round((s.g % 100000) / 100.0 + 4.99, 2))
    ),
    'customer', jsonb_build_object('id', 'cus_' || substr(s.h, 20, 12), 'email', 'user' || (s.g % 5000) || '@example.com')
  ),
  CASE WHEN s.g % 10 = 0 THEN NULL ELSE 'user-' || (s.g % 500) END,
  '/api/orders/' || (s.g % 50000) || '/status',
  (ARRAY['POST', 'PATCH', 'PUT', 'DELETE'])[1 + s.g % 4],
  '10.0.' || (s.g / 256 % 256) || '.' || (s.g % 256),
  CASE WHEN s.g % 3 = 0 THEN jsonb_build_object('notify', 'true') ELSE '{}'::jsonb END,
  jsonb_build_object('status', 'paid', 'comment', substr(s.h, 1, 16)),
  jsonb_build_object('user-agent', 'Mozilla/5.0 (X11; Linux x86_64) shop-client/2.4', 'accept', 'application/json')
FROM (
  SELECT g, $2::bigint + (g * $3::bigint) / $1::bigint AS ms, md5(g::text) AS h
  FROM generate_series(0, $1::bigint - 1) AS g
) AS s`;

const CHECKSUM_SQL = (table: string) =>
  `SELECT count(*)::bigint AS n, coalesce(sum(hashtextextended(id::text || '|' || "timestamp"::text || '|' || content::text || '|' || headers::text, 0)), 0)::text AS checksum FROM ${table}`;

async function seed(pg: PgClient, rows: number): Promise<Seeded> {
  const started = performance.now();
  await pg.query("TRUNCATE audit_events, archived_audit_events");
  const span = SPREAD_DAYS * DAY_MS;
  const start = Date.now() - (SPREAD_DAYS + 1) * DAY_MS;
  if (rows > span) throw new Error(`--rows ${rows} exceeds one event per millisecond over ${SPREAD_DAYS} days`);
  await pg.query(SEED_SQL, [rows, start, span]);
  // A table in steady state: statistics current, visibility map set, and no checkpoint
  // owed from the seed landing inside the timed run.
  await pg.query("VACUUM (ANALYZE) audit_events");
  await pg.query("ANALYZE archived_audit_events");
  await pg.query("CHECKPOINT");
  const seedMs = performance.now() - started;
  const { rows: sums } = await pg.query<{ n: string; checksum: string }>(CHECKSUM_SQL("audit_events"));
  const { rows: sizes } = await pg.query<{ content: string; row: string }>(
    "SELECT avg(octet_length(content::text))::float8 AS content, avg(pg_column_size(e.*))::float8 AS row FROM (SELECT * FROM audit_events LIMIT 10000) AS e",
  );
  check(Number(sums[0]!.n) === rows, `seeding wrote ${sums[0]!.n} rows, not ${rows}`);
  return { rows, checksum: sums[0]!.checksum, contentBytes: Number(sizes[0]!.content), rowBytes: Number(sizes[0]!.row), seedMs };
}

/** The archive holds exactly the seeded rows, once each; nothing older than cutoff is live. */
async function verify(pg: PgClient, seeded: Seeded, cutoff: Date, label: string): Promise<void> {
  const one = async (sql: string, values: unknown[] = []) => Number((await pg.query<{ n: string }>(sql, values)).rows[0]!.n);
  const liveBefore = await one(`SELECT count(*) AS n FROM audit_events WHERE "timestamp" < $1`, [cutoff]);
  check(liveBefore === 0, `${label}: ${liveBefore} live event(s) older than the cutoff ${cutoff.toISOString()} were left behind`);
  const { rows } = await pg.query<{ n: string; checksum: string }>(CHECKSUM_SQL("archived_audit_events"));
  const archived = Number(rows[0]!.n);
  check(archived === seeded.rows, `${label}: the archive holds ${archived} event(s), ${seeded.rows} were seeded`);
  const duplicates = await one("SELECT count(*) - count(DISTINCT id) AS n FROM archived_audit_events");
  check(duplicates === 0, `${label}: ${duplicates} duplicate id(s) in the archive`);
  const both = await one("SELECT count(*) AS n FROM audit_events AS l JOIN archived_audit_events AS a USING (id)");
  check(both === 0, `${label}: ${both} event(s) are both live and archived`);
  check(rows[0]!.checksum === seeded.checksum, `${label}: the archived rows differ from the seeded ones (checksum ${rows[0]!.checksum}, expected ${seeded.checksum})`);
}

/** What one timed run used of the machine's CPU, per archived row, in microseconds. */
interface CpuPerRow {
  /** The database's backends that did the run. */
  database: number;
  /** This Node process (archiveOldEvents, the store, the driver). */
  node: number;
}

type StorePath = "pool" | "prisma";

interface OursRun {
  path: StorePath;
  concurrency: number;
  rowsPerSecond: number;
  totalMs: number;
  /** Times of the batches that moved events, as onBatch heard them. */
  batches: number[];
  /** Times of the calls that moved nothing: each ends a pass (onBatch does not hear them). */
  passEnds: number[];
  /** How many of the batches and calls over the 100 ms goal overlapped a checkpoint's sync phase. */
  slowInSync: number;
  cpu: CpuPerRow | undefined;
}

/** CPU per row of a run; undefined when the server's processes are not on this machine (nothing measured). */
function cpuPerRow(databaseMs: number, nodeMs: number, rows: number, measured: boolean): CpuPerRow | undefined {
  return measured ? { database: (databaseMs * 1000) / rows, node: (nodeMs * 1000) / rows } : undefined;
}

async function runOurs(db: TestDatabase<"postgresql">, pool: Pool, pg: PgClient, seeded: Seeded, path: StorePath, concurrency: number, label: string): Promise<OursRun> {
  const batchSize = invocation.values["batch-size"];
  const inner = prismaStore(db.prisma, { asyncArchiveCommit: invocation.values["async-commit"][0] === "yes", ...(path === "pool" ? { pgPool: pool } : {}) });
  const passEnds: number[] = [];
  const slow: { from: number; to: number }[] = [];
  const store: AuditStore = {
    ...inner,
    async archiveBatch(before, limit, after) {
      const called = performance.now();
      const batch = await inner.archiveBatch(before, limit, after);
      const took = performance.now() - called;
      if (batch.moved === 0) passEnds.push(took);
      if (took > GOALS.longestBatchMs) slow.push({ from: called, to: called + took });
      return batch;
    },
  };
  const batches: number[] = [];
  let movedTotal = 0;
  const checkpoints = await watchCheckpoints(pg);
  const cpuBefore = await backendCpuMs(pg, db.name);
  const nodeBefore = process.cpuUsage();
  const started = performance.now();
  const result = await archiveOldEvents({
    olderThanDays: 0,
    batchSize,
    concurrency,
    store,
    onBatch: ({ moved, batchMs }) => {
      batches.push(batchMs);
      movedTotal += moved;
    },
  });
  const totalMs = performance.now() - started;
  const node = process.cpuUsage(nodeBefore);
  const cpuAfter = await backendCpuMs(pg, db.name);
  const syncs = await checkpoints.stop();
  check(result.archived === seeded.rows, `${label}: archiveOldEvents reported ${result.archived} archived, ${seeded.rows} were seeded`);
  check(movedTotal === seeded.rows, `${label}: onBatch heard ${movedTotal} moved, ${seeded.rows} were seeded`);
  check(result.batches === batches.length, `${label}: ${result.batches} batches reported, onBatch heard ${batches.length}`);
  await verify(pg, seeded, result.cutoff, label);
  return {
    path,
    concurrency,
    rowsPerSecond: (seeded.rows / totalMs) * 1000,
    totalMs,
    batches,
    passEnds,
    slowInSync: slow.filter((s) => overlapsAny(s.from, s.to, syncs)).length,
    // The bench's own connection (and the checkpoint watch on it) is in both samples: it counts too, a little.
    cpu: cpuPerRow(cpuSpentMs(cpuBefore, cpuAfter), (node.user + node.system) / 1000, seeded.rows, cpuAfter.size > 0),
  };
}

interface BaselineRun {
  rowsPerSecond: number;
  totalMs: number;
  cpu: CpuPerRow | undefined;
}

const COPY_SQL = (where: string) =>
  `INSERT INTO archived_audit_events (${COLUMNS}, "archivedAt") SELECT ${COLUMNS}, now() FROM audit_events WHERE ${where}`;

/** Copies then deletes the rows `where` picks, in one transaction on `client`; returns how many it moved. */
async function moveInOneTransaction(client: PgClient, where: string, values: unknown[], label: string): Promise<number> {
  await client.query("BEGIN");
  try {
    const inserted = await client.query(COPY_SQL(where), values);
    const deleted = await client.query(`DELETE FROM audit_events WHERE ${where}`, values);
    await client.query("COMMIT");
    check(inserted.rowCount === deleted.rowCount, `${label}: copied ${inserted.rowCount} and deleted ${deleted.rowCount}`);
    return deleted.rowCount ?? 0;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  }
}

/** The baseline: INSERT ... SELECT and DELETE of every old row, in one transaction on one connection. */
async function runBaseline(pg: PgClient, db: TestDatabase<"postgresql">, seeded: Seeded, label: string): Promise<BaselineRun> {
  const cutoff = new Date();
  const { rows } = await pg.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
  const cpuBefore = await backendCpuMs(pg, db.name);
  const started = performance.now();
  const moved = await moveInOneTransaction(pg, `"timestamp" < $1`, [cutoff], label);
  const totalMs = performance.now() - started;
  const cpuAfter = await backendCpuMs(pg, db.name);
  check(moved === seeded.rows, `${label}: moved ${moved}, ${seeded.rows} were seeded`);
  await verify(pg, seeded, cutoff, label);
  const pid = rows[0]!.pid;
  const own = cpuAfter.get(pid);
  return { rowsPerSecond: (seeded.rows / totalMs) * 1000, totalMs, cpu: cpuPerRow(own === undefined ? NaN : own - (cpuBefore.get(pid) ?? 0), 0, seeded.rows, own !== undefined) };
}

/**
 * The baseline on two connections at once, each moving half of the rows (split at the
 * median timestamp) in its own transaction: what the database itself does with two
 * backends, the most concurrency 2 can hope for on this machine.
 */
async function runTwoBackends(db: TestDatabase<"postgresql">, pg: PgClient, seeded: Seeded, label: string): Promise<BaselineRun> {
  const cutoff = new Date();
  const { rows } = await pg.query<{ middle: string }>(`SELECT "timestamp"::text AS middle FROM audit_events ORDER BY "timestamp" OFFSET $1 LIMIT 1`, [Math.floor(seeded.rows / 2)]);
  const middle = rows[0]!.middle;
  const clients = [new PgClient({ connectionString: db.url }), new PgClient({ connectionString: db.url })];
  try {
    await Promise.all(clients.map((c) => c.connect()));
    const cpuBefore = await backendCpuMs(pg, db.name);
    const started = performance.now();
    const moved = await Promise.all([
      moveInOneTransaction(clients[0]!, `"timestamp" < $1::timestamptz`, [middle], label),
      moveInOneTransaction(clients[1]!, `"timestamp" >= $1::timestamptz AND "timestamp" < $2`, [middle, cutoff], label),
    ]);
    const totalMs = performance.now() - started;
    const cpuAfter = await backendCpuMs(pg, db.name);
    check(moved[0]! + moved[1]! === seeded.rows, `${label}: moved ${moved[0]! + moved[1]!}, ${seeded.rows} were seeded`);
    await verify(pg, seeded, cutoff, label);
    return { rowsPerSecond: (seeded.rows / totalMs) * 1000, totalMs, cpu: cpuPerRow(cpuSpentMs(cpuBefore, cpuAfter), 0, seeded.rows, cpuAfter.size > 0) };
  } finally {
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
  }
}

/** Rows a second the machine's cores could move at the CPU a row took, if they did nothing else. */
function cpuCeiling(cpu: CpuPerRow | undefined): number {
  return cpu === undefined ? NaN : (os.cpus().length * 1e6) / (cpu.database + cpu.node);
}

const µs = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? "–" : n.toFixed(1));

/** One table row per store path and concurrency: medians over the rounds, batch times pooled. */
function summaryRow(runs: OursRun[], baselines: BaselineRun[]): string[] {
  const all = runs.flatMap((o) => o.batches).sort((a, b) => a - b);
  const passEnds = runs.flatMap((o) => o.passEnds);
  const slow = all.filter((t) => t > GOALS.longestBatchMs).length;
  const slowCalls = slow + passEnds.filter((t) => t > GOALS.longestBatchMs).length;
  const cpus = runs.flatMap((o) => (o.cpu === undefined ? [] : [o.cpu]));
  return [
    runs[0]!.path === "pool" ? "prismaStore(prisma, { pgPool })" : "prismaStore(prisma)",
    String(runs[0]!.concurrency),
    int(median(runs.map((o) => o.rowsPerSecond))),
    ratio(median(runs.map((o) => o.rowsPerSecond)) / median(baselines.map((b) => b.rowsPerSecond))),
    ms(all.at(-1) ?? NaN),
    ms(percentile(all, 99)),
    ms(percentile(all, 50)),
    `${slow} of ${int(all.length)}`,
    `${passEnds.length}, ${ms(Math.max(...passEnds))}`,
    `${runs.reduce((s, o) => s + o.slowInSync, 0)} of ${slowCalls}`,
    `${µs(median(cpus.map((c) => c.database)))} + ${µs(median(cpus.map((c) => c.node)))}`,
  ];
}

/** The goal lines of one store path at one concurrency, the baselines of the same run beside them. */
function goalLines(runs: OursRun[], baselines: BaselineRun[], twoBackends: BaselineRun[]): string[] {
  const rate = median(runs.map((o) => o.rowsPerSecond));
  const calls = runs.flatMap((o) => [...o.batches, ...o.passEnds]);
  const longest = Math.max(...calls);
  const over = calls.filter((t) => t > GOALS.longestBatchMs).length;
  const inSync = runs.reduce((s, o) => s + o.slowInSync, 0);
  const cpus = runs.flatMap((o) => (o.cpu === undefined ? [] : [o.cpu]));
  const ceiling = median(cpus.map((c) => cpuCeiling(c)));
  const path = runs[0]!.path === "pool" ? "with `pgPool`" : "through Prisma";
  const { concurrency } = runs[0]!;
  return [
    goalLine({
      issue: "#15",
      goal: `archival >= ${int(GOALS.rowsPerSecond)} rows/s at concurrency ${concurrency}, ${path}`,
      measured:
        `${int(rate)} rows/s; the CPU a row took, ${µs(median(cpus.map((c) => c.database)))} µs in the database + ${µs(median(cpus.map((c) => c.node)))} µs in Node, ` +
        `caps ${os.cpus().length} cores at ${int(ceiling)} rows/s`,
      anchor: `baseline ${int(median(baselines.map((b) => b.rowsPerSecond)))} rows/s on one connection, ${int(median(twoBackends.map((b) => b.rowsPerSecond)))} on two`,
      met: rate >= GOALS.rowsPerSecond,
    }),
    goalLine({
      issue: "#15",
      goal: `archival: no batch over ${GOALS.longestBatchMs} ms at concurrency ${concurrency}, ${path}`,
      measured: `longest ${ms(longest)} ms; ${over} of ${int(calls.length)} calls over ${GOALS.longestBatchMs} ms, ${inSync} of them during a checkpoint's sync phase`,
      anchor: "",
      met: longest <= GOALS.longestBatchMs,
    }),
  ];
}

async function main(): Promise<void> {
  const { rows, rounds } = invocation.values;
  const batchSize = invocation.values["batch-size"];
  const asyncCommit = invocation.values["async-commit"][0] === "yes";
  const paths = invocation.values.paths as StorePath[];
  const concurrencies = invocation.values.concurrency.map((value) => {
    const n = Number(value);
    check(Number.isSafeInteger(n) && n >= 1 && n <= 16, `--concurrency takes whole numbers from 1 to 16 (got ${value})`);
    return n;
  });
  const variants = paths.flatMap((path) => concurrencies.map((concurrency) => ({ path, concurrency })));

  const db = await openDatabase("postgresql", { name: "bench_archive" });
  const pg = new PgClient({ connectionString: db.url });
  // The pool a user hands to prismaStore({ pgPool }); idle connections stay, so their CPU is counted whole.
  const pool = new Pool({ connectionString: db.url, max: Math.max(...concurrencies) + 2, idleTimeoutMillis: 0 });
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) return;
    interrupted = true;
    log("interrupted: dropping the benchmark database");
    void Promise.allSettled([pg.end(), pool.end()]).then(() => db.close()).then(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  try {
    await pg.connect();
    // Warm-up, untimed: connects Prisma and the pool and reads the table metadata on an empty table.
    for (const path of paths) {
      await archiveOldEvents({ olderThanDays: 0, batchSize, concurrency: Math.max(...concurrencies), store: prismaStore(db.prisma, path === "pool" ? { pgPool: pool } : {}) });
    }

    const runs: OursRun[] = [];
    const baselines: BaselineRun[] = [];
    const twoBackends: BaselineRun[] = [];
    let seeded: Seeded | undefined;
    for (let round = 1; round <= rounds; round++) {
      // The order of the variants rotates each round, so none always runs first.
      const order = variants.map((_, i) => variants[(i + round - 1) % variants.length]!);
      for (const { path, concurrency } of order) {
        const label = `round ${round}/${rounds}, ${path}, concurrency ${concurrency}`;
        seeded = await seed(pg, rows);
        log(`${label}: seeded ${int(rows)} rows in ${ms(seeded.seedMs)} ms; archiveOldEvents...`);
        const o = await runOurs(db, pool, pg, seeded, path, concurrency, `ours, ${label}`);
        const sorted = [...o.batches].sort((a, b) => a - b);
        log(
          `  ours: ${int(o.rowsPerSecond)} rows/s, ${o.batches.length} batches, p50 ${ms(percentile(sorted, 50))} ms, p99 ${ms(percentile(sorted, 99))} ms, max ${ms(sorted.at(-1) ?? NaN)} ms ` +
            `(${o.slowInSync} over ${GOALS.longestBatchMs} ms in a checkpoint's sync phase); CPU/row ${µs(o.cpu?.database)} µs database + ${µs(o.cpu?.node)} µs Node; pass-ending calls ${o.passEnds.map(ms).join(", ")} ms`,
        );
        runs.push(o);
      }
      seeded = await seed(pg, rows);
      const baseline = await runBaseline(pg, db, seeded, `baseline, round ${round}/${rounds}`);
      log(`round ${round}/${rounds}: baseline ${int(baseline.rowsPerSecond)} rows/s, CPU/row ${µs(baseline.cpu?.database)} µs`);
      baselines.push(baseline);
      seeded = await seed(pg, rows);
      const two = await runTwoBackends(db, pg, seeded, `baseline on two connections, round ${round}/${rounds}`);
      log(`round ${round}/${rounds}: baseline on two connections ${int(two.rowsPerSecond)} rows/s, CPU/row ${µs(two.cpu?.database)} µs`);
      twoBackends.push(two);
    }

    const byVariant = variants.map(({ path, concurrency }) => runs.filter((o) => o.path === path && o.concurrency === concurrency));
    const perRound = runs.map((o, i) => {
      const tenth = Math.max(1, Math.floor(o.batches.length / 10));
      const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
      const round = Math.floor(i / variants.length);
      return [String(round + 1), o.path, String(o.concurrency), int(o.rowsPerSecond), (o.totalMs / 1000).toFixed(2), String(o.batches.length), ms(mean(o.batches.slice(0, tenth))), ms(mean(o.batches.slice(-tenth))), int(baselines[round]!.rowsPerSecond), int(twoBackends[round]!.rowsPerSecond)];
    });
    const cpuOf = (b: BaselineRun[]) => µs(median(b.flatMap((r) => (r.cpu === undefined ? [] : [r.cpu.database]))));
    const lines = [
      `## Archival: ${int(rows)} rows, batch size ${int(batchSize)}${asyncCommit ? ", asyncArchiveCommit" : ""}`,
      "",
      "Goals (reported, not asserted), each beside the baselines of the same run:",
      "",
      ...byVariant.flatMap((v) => goalLines(v, baselines, twoBackends)),
      "",
      markdownTable(
        ["store", "concurrency", "ours rows/s", "ours/baseline", "longest batch ms", "p99 batch ms", "p50 batch ms", `batches > ${GOALS.longestBatchMs} ms`, "pass-ending calls, longest ms", `calls > ${GOALS.longestBatchMs} ms in a checkpoint's sync`, "CPU µs/row, database + Node"],
        byVariant.map((v) => summaryRow(v, baselines)),
      ),
      "",
      markdownTable(
        ["baseline", "rows/s", "CPU µs/row, database"],
        [
          ["INSERT ... SELECT + DELETE, one transaction, one connection", int(median(baselines.map((b) => b.rowsPerSecond))), cpuOf(baselines)],
          ["the same on two connections at once, half of the rows each", int(median(twoBackends.map((b) => b.rowsPerSecond))), cpuOf(twoBackends)],
        ],
      ),
      "",
      `Medians of ${rounds} round(s). In each round, each store path and concurrency (the order rotating) runs archiveOldEvents on`,
      "freshly seeded rows, then the baselines run, each on freshly seeded rows again; ours/baseline is the ratio of the medians.",
      "Batch times are pooled over the rounds. Pass-ending calls moved nothing (each batch chain ends its seeking pass, then",
      "a pass from the oldest event); onBatch does not hear them, the goal counts them. A checkpoint's sync phase is seen",
      "from pg_control_checkpoint() and pg_stat_bgwriter.checkpoint_sync_time, polled every 25 ms (any checkpoint of the",
      "server). CPU per row is read from /proc for the database's backends and from process.cpuUsage() for Node; the",
      `ceiling is ${os.cpus().length} cores divided by it, before the WAL writer, the checkpointer and anything else on the machine.`,
      "",
      markdownTable(["round", "store", "concurrency", "ours rows/s", "ours s", "batches", "first 10% of batches, mean ms", "last 10%, mean ms", "baseline rows/s", "on two connections"], perRound),
      "",
      `Seeded rows: content JSON ~${Math.round(seeded!.contentBytes)} bytes, whole row ~${Math.round(seeded!.rowBytes)} bytes stored; ` +
        `${SPREAD_DAYS} days; indexes as migrated; VACUUM ANALYZE + CHECKPOINT after each seed. Sanity checks passed after every run.`,
      "",
      `- Machine: ${machineLine()}; load average ${os.loadavg().map((l) => l.toFixed(2)).join(", ")} at the end`,
      `- Node ${process.version}`,
      ...(await postgresLines(pg)).map((line) => `- ${line}`),
      `- Command: \`${invocation.command}\``,
    ];
    console.log(lines.join("\n"));
  } finally {
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
    if (!interrupted) {
      await pg.end().catch(() => undefined);
      await pool.end().catch(() => undefined);
      await db.close();
    }
  }
}

runBenchmark("archive", main);
