// Archival benchmark on PostgreSQL: archiveOldEvents() through prismaStore(), with one and
// with two batches in flight, against the plain two-statement baseline (INSERT ... SELECT +
// DELETE in one transaction), each on the same freshly seeded rows, interleaved, in one run.
//
//   npm run bench:archive -- [--rows 1000000] [--batch-size 1000] [--concurrency 1,2] [--rounds 2] [--async-commit yes]
//
// --async-commit yes archives through prismaStore(prisma, { asyncArchiveCommit: true }).
//
// Needs the PostgreSQL server of the tests (AUDIT_TEST_PG_URL or postgres@127.0.0.1:5432)
// and the generated Prisma clients (`npm run db:generate`). Creates and drops its own
// database. Exits 1 when a sanity check fails (rows lost, left behind or doubled); the
// throughput goals are reported, not asserted.
import { Client as PgClient } from "pg";

import { archiveOldEvents, prismaStore, type AuditStore } from "../src/index";
import { EVENT_FIELDS } from "../src/model/event-record";
import { openDatabase, type TestDatabase } from "../test/support/databases";
import { benchOptions } from "./lib/cli-options";
import { int, ms, ratio } from "./lib/format";
import { machineLine, postgresLines } from "./lib/machine";
import { markdownTable } from "./lib/markdown-table";
import { check, log as logLine, runBenchmark } from "./lib/sanity";
import { median, percentile } from "./lib/stats";

const DAY_MS = 86_400_000;
/** Seeded events are spread evenly over this many days, ending one day ago. */
const SPREAD_DAYS = 200;

const GOALS = { rowsPerSecond: 100_000, longestBatchMs: 100, ratioToBaseline: 0.5 };

/** Every column both tables share, quoted, in migration order. */
const COLUMNS = EVENT_FIELDS.map((c) => `"${c}"`).join(", ");

const invocation = benchOptions("archive", {
  rows: { type: "number", full: 1_000_000, smoke: 20_000, integer: true, help: "events seeded before each timed run" },
  "batch-size": { type: "number", full: 1000, smoke: 1000, integer: true, help: "archiveOldEvents' batchSize" },
  concurrency: { type: "list", full: ["1", "2"], smoke: ["1", "2"], help: "archiveOldEvents' concurrency values to measure, each against its own baseline run" },
  rounds: { type: "number", full: 2, smoke: 1, integer: true, help: "interleaved rounds" },
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

interface OursRun {
  concurrency: number;
  rowsPerSecond: number;
  totalMs: number;
  /** Times of the batches that moved events, as onBatch heard them. */
  batches: number[];
  /** Times of the calls that moved nothing: each ends a pass (onBatch does not hear them). */
  passEnds: number[];
  /** This round's baseline, run right after on the same freshly seeded rows. */
  baseline: BaselineRun;
}

async function runOurs(db: TestDatabase<"postgresql">, pg: PgClient, seeded: Seeded, concurrency: number, label: string): Promise<Omit<OursRun, "baseline">> {
  const batchSize = invocation.values["batch-size"];
  const inner = prismaStore(db.prisma, { asyncArchiveCommit: invocation.values["async-commit"][0] === "yes" });
  const passEnds: number[] = [];
  const store: AuditStore = {
    ...inner,
    async archiveBatch(before, limit, after) {
      const called = performance.now();
      const batch = await inner.archiveBatch(before, limit, after);
      if (batch.moved === 0) passEnds.push(performance.now() - called);
      return batch;
    },
  };
  const batches: number[] = [];
  let movedTotal = 0;
  const started = performance.now();
  const result = await archiveOldEvents({
    olderThanDays: 0,
    batchSize,
    concurrency,
    store,
    onBatch: ({ moved, batchMs }) => {
      batches.push(batchMs);
      movedTotal += moved;
      // Wall-clock times of slow batches, to set beside the server log (checkpoints).
      if (batchMs > GOALS.longestBatchMs) log(`  ${label}: a batch took ${ms(batchMs)} ms, ended ${new Date().toISOString()}`);
    },
  });
  const totalMs = performance.now() - started;
  check(result.archived === seeded.rows, `${label}: archiveOldEvents reported ${result.archived} archived, ${seeded.rows} were seeded`);
  check(movedTotal === seeded.rows, `${label}: onBatch heard ${movedTotal} moved, ${seeded.rows} were seeded`);
  check(result.batches === batches.length, `${label}: ${result.batches} batches reported, onBatch heard ${batches.length}`);
  await verify(pg, seeded, result.cutoff, label);
  return { concurrency, rowsPerSecond: (seeded.rows / totalMs) * 1000, totalMs, batches, passEnds };
}

interface BaselineRun {
  rowsPerSecond: number;
  totalMs: number;
}

async function runBaseline(pg: PgClient, seeded: Seeded, label: string): Promise<BaselineRun> {
  const cutoff = new Date();
  const started = performance.now();
  await pg.query("BEGIN");
  try {
    const inserted = await pg.query(
      `INSERT INTO archived_audit_events (${COLUMNS}, "archivedAt") SELECT ${COLUMNS}, now() FROM audit_events WHERE "timestamp" < $1`,
      [cutoff],
    );
    const deleted = await pg.query(`DELETE FROM audit_events WHERE "timestamp" < $1`, [cutoff]);
    await pg.query("COMMIT");
    const totalMs = performance.now() - started;
    check(inserted.rowCount === seeded.rows && deleted.rowCount === seeded.rows, `${label}: copied ${inserted.rowCount} and deleted ${deleted.rowCount}, ${seeded.rows} were seeded`);
    await verify(pg, seeded, cutoff, label);
    return { rowsPerSecond: (seeded.rows / totalMs) * 1000, totalMs };
  } catch (error) {
    await pg.query("ROLLBACK").catch(() => undefined);
    throw error;
  }
}

/** One table row per concurrency: medians over the rounds, batch times pooled. */
function summaryRow(runs: OursRun[]): string[] {
  const all = runs.flatMap((o) => o.batches).sort((a, b) => a - b);
  const passEnds = runs.flatMap((o) => o.passEnds);
  const slow = all.filter((t) => t > GOALS.longestBatchMs).length;
  return [
    String(runs[0]!.concurrency),
    int(median(runs.map((o) => o.rowsPerSecond))),
    int(median(runs.map((o) => o.baseline.rowsPerSecond))),
    ratio(median(runs.map((o) => o.rowsPerSecond / o.baseline.rowsPerSecond))),
    ms(all.at(-1) ?? NaN),
    ms(percentile(all, 99)),
    ms(percentile(all, 50)),
    `${slow} of ${int(all.length)}`,
    `${passEnds.length}, ${ms(Math.max(...passEnds))}`,
  ];
}

/** Goals for one concurrency, in words. */
function goalsLine(runs: OursRun[]): string {
  const rate = median(runs.map((o) => o.rowsPerSecond));
  const toBaseline = median(runs.map((o) => o.rowsPerSecond / o.baseline.rowsPerSecond));
  const longest = Math.max(...runs.flatMap((o) => [...o.batches, ...o.passEnds]));
  const verdict = (met: boolean) => (met ? "met" : "MISSED");
  return (
    `- concurrency ${runs[0]!.concurrency}: >= ${int(GOALS.rowsPerSecond)} rows/s: ${verdict(rate >= GOALS.rowsPerSecond)}; ` +
    `no batch (nor pass-ending call) > ${GOALS.longestBatchMs} ms: ${verdict(longest <= GOALS.longestBatchMs)} (longest ${ms(longest)} ms); ` +
    `within 2x of the baseline: ${verdict(toBaseline >= GOALS.ratioToBaseline)} (${ratio(toBaseline)})`
  );
}

async function main(): Promise<void> {
  const { rows, rounds } = invocation.values;
  const batchSize = invocation.values["batch-size"];
  const asyncCommit = invocation.values["async-commit"][0] === "yes";
  const concurrencies = invocation.values.concurrency.map((value) => {
    const n = Number(value);
    check(Number.isSafeInteger(n) && n >= 1 && n <= 16, `--concurrency takes whole numbers from 1 to 16 (got ${value})`);
    return n;
  });

  const db = await openDatabase("postgresql", { name: "bench_archive" });
  const pg = new PgClient({ connectionString: db.url });
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) return;
    interrupted = true;
    log("interrupted: dropping the benchmark database");
    void Promise.allSettled([pg.end(), db.close()]).then(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);

  try {
    await pg.connect();
    // Warm-up, untimed: connects Prisma and reads the table metadata on an empty table.
    await archiveOldEvents({ olderThanDays: 0, batchSize, concurrency: Math.max(...concurrencies), store: prismaStore(db.prisma) });

    const runs: OursRun[] = [];
    let seeded: Seeded | undefined;
    for (let round = 1; round <= rounds; round++) {
      // The order of the concurrencies rotates each round, so none always runs first.
      const order = concurrencies.map((_, i) => concurrencies[(i + round - 1) % concurrencies.length]!);
      for (const concurrency of order) {
        const label = `round ${round}/${rounds}, concurrency ${concurrency}`;
        seeded = await seed(pg, rows);
        log(`${label}: seeded ${int(rows)} rows in ${ms(seeded.seedMs)} ms; archiveOldEvents...`);
        const o = await runOurs(db, pg, seeded, concurrency, `ours, ${label}`);
        const sorted = [...o.batches].sort((a, b) => a - b);
        log(`  ours: ${int(o.rowsPerSecond)} rows/s, ${o.batches.length} batches, p50 ${ms(percentile(sorted, 50))} ms, p99 ${ms(percentile(sorted, 99))} ms, max ${ms(sorted.at(-1) ?? NaN)} ms; pass-ending calls ${o.passEnds.map(ms).join(", ")} ms`);
        seeded = await seed(pg, rows);
        log(`${label}: seeded ${int(rows)} rows in ${ms(seeded.seedMs)} ms; baseline...`);
        const baseline = await runBaseline(pg, seeded, `baseline, ${label}`);
        log(`  baseline: ${int(baseline.rowsPerSecond)} rows/s`);
        runs.push({ ...o, baseline });
      }
    }

    const byConcurrency = concurrencies.map((c) => runs.filter((o) => o.concurrency === c));
    const perRound = runs.map((o, i) => {
      const tenth = Math.max(1, Math.floor(o.batches.length / 10));
      const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
      return [String(Math.floor(i / concurrencies.length) + 1), String(o.concurrency), int(o.rowsPerSecond), (o.totalMs / 1000).toFixed(2), String(o.batches.length), ms(mean(o.batches.slice(0, tenth))), ms(mean(o.batches.slice(-tenth))), int(o.baseline.rowsPerSecond), (o.baseline.totalMs / 1000).toFixed(2)];
    });
    const lines = [
      `## Archival: ${int(rows)} rows, batch size ${int(batchSize)}${asyncCommit ? ", asyncArchiveCommit" : ""}`,
      "",
      markdownTable(
        ["concurrency", "ours rows/s", "baseline rows/s", "ours/baseline", "longest batch ms", "p99 batch ms", "p50 batch ms", `batches > ${GOALS.longestBatchMs} ms`, "pass-ending calls, longest ms"],
        byConcurrency.map(summaryRow),
      ),
      "",
      `Medians of ${rounds} round(s). In each round, for each concurrency (the order rotating), archiveOldEvents runs on`,
      "freshly seeded rows, then the baseline on freshly seeded rows again; the ratio is the median of those pairs'",
      "ratios. Batch times are pooled over the rounds. Pass-ending calls moved nothing (each batch chain ends its",
      "seeking pass, then a pass from the oldest event); onBatch does not hear them, the goal counts them.",
      "",
      markdownTable(["round", "concurrency", "ours rows/s", "ours s", "batches", "first 10% of batches, mean ms", "last 10%, mean ms", "baseline rows/s", "baseline s"], perRound),
      "",
      "Goals (reported, not asserted):",
      "",
      ...byConcurrency.map(goalsLine),
      "",
      `Seeded rows: content JSON ~${Math.round(seeded!.contentBytes)} bytes, whole row ~${Math.round(seeded!.rowBytes)} bytes stored; ` +
        `${SPREAD_DAYS} days; indexes as migrated; VACUUM ANALYZE + CHECKPOINT after each seed. Sanity checks passed after every run.`,
      "",
      `- Machine: ${machineLine()}`,
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
      await db.close();
    }
  }
}

runBenchmark("archive", main);
