// Archival benchmark on PostgreSQL: archiveOldEvents() through prismaStore() against the
// plain two-statement baseline (INSERT ... SELECT + DELETE in one transaction), on the
// same freshly seeded rows, interleaved, in one run.
//
//   npx tsx bench/archive.ts [--rows 1000000] [--batch-size 1000] [--rounds 2] [--async-commit]
//
// --async-commit archives through prismaStore(prisma, { asyncArchiveCommit: true }).
//
// Needs the PostgreSQL server of the tests (AUDIT_TEST_PG_URL or postgres@127.0.0.1:5432)
// and the generated Prisma clients (`npm run db:generate`). Creates and drops its own
// database. Exits non-zero when a sanity check fails (rows lost, left behind or doubled);
// the throughput goals are reported, not asserted.
import os from "node:os";
import path from "node:path";

import { Client as PgClient } from "pg";

import { archiveOldEvents, prismaStore, type AuditStore } from "../src/index";
import { EVENT_FIELDS } from "../src/event-record";
import { openDatabase, type TestDatabase } from "../test/support/databases";

const DAY_MS = 86_400_000;
/** Seeded events are spread evenly over this many days, ending one day ago. */
const SPREAD_DAYS = 200;

const GOALS = { rowsPerSecond: 100_000, longestBatchMs: 100, ratioToBaseline: 0.5 };

/** Every column both tables share, quoted, in migration order. */
const COLUMNS = EVENT_FIELDS.map((c) => `"${c}"`).join(", ");

interface Options {
  rows: number;
  batchSize: number;
  rounds: number;
  asyncCommit: boolean;
}

function usage(message?: string): never {
  if (message) console.error(`bench/archive.ts: ${message}`);
  console.error("usage: npx tsx bench/archive.ts [--rows 1000000] [--batch-size 1000] [--rounds 2] [--async-commit]");
  process.exit(2);
}

function parseArgs(argv: string[]): Options {
  const options: Options = { rows: 1_000_000, batchSize: 1000, rounds: 2, asyncCommit: false };
  const keys: Record<string, "rows" | "batchSize" | "rounds"> = { "--rows": "rows", "--batch-size": "batchSize", "--rounds": "rounds" };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--help" || arg === "-h") usage();
    if (arg === "--async-commit") {
      options.asyncCommit = true;
      continue;
    }
    const [flag, inline] = arg.split("=", 2) as [string, string | undefined];
    const key = keys[flag];
    if (key === undefined) usage(`unknown argument ${arg}`);
    const raw = inline ?? argv[++i];
    const value = Number(String(raw).replaceAll("_", ""));
    if (!Number.isSafeInteger(value) || value < 1) usage(`${flag} needs a whole number of 1 or more (got ${String(raw)})`);
    options[key] = value;
  }
  return options;
}

class SanityError extends Error {
  override name = "SanityError";
}

function check(condition: boolean, message: string): void {
  if (!condition) throw new SanityError(message);
}

/** Nearest-rank percentile of an ascending array. */
function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const int = (n: number) => Math.round(n).toLocaleString("en-US");
const ms = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(1));

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

// Ids are UUID v7 in layout: 48 bits of the millisecond timestamp, then pseudo-random bits
// from md5(g). Timestamps are distinct milliseconds (as long as rows <= 200 days in ms), so
// id order == timestamp order, as with uuid v7 ids written by the library.
const SEED_SQL = `
INSERT INTO audit_events (${COLUMNS})
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
  rowsPerSecond: number;
  totalMs: number;
  /** Times of the batches that moved events, as onBatch heard them. */
  batches: number[];
  /** Times of the calls that moved nothing: each ends a pass (onBatch does not hear them). */
  passEnds: number[];
}

async function runOurs(db: TestDatabase<"postgresql">, pg: PgClient, seeded: Seeded, options: Options, label: string): Promise<OursRun> {
  const { batchSize, asyncCommit } = options;
  const inner = prismaStore(db.prisma, { asyncArchiveCommit: asyncCommit });
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
    store,
    onBatch: ({ moved, batchMs }) => {
      batches.push(batchMs);
      movedTotal += moved;
    },
  });
  const totalMs = performance.now() - started;
  check(result.archived === seeded.rows, `${label}: archiveOldEvents reported ${result.archived} archived, ${seeded.rows} were seeded`);
  check(movedTotal === seeded.rows, `${label}: onBatch heard ${movedTotal} moved, ${seeded.rows} were seeded`);
  check(result.batches === batches.length, `${label}: ${result.batches} batches reported, onBatch heard ${batches.length}`);
  await verify(pg, seeded, result.cutoff, label);
  return { rowsPerSecond: (seeded.rows / totalMs) * 1000, totalMs, batches, passEnds };
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

function command(): string {
  const script = path.relative(process.cwd(), process.argv[1] ?? "bench/archive.ts") || "bench/archive.ts";
  return ["npx tsx", script, ...process.argv.slice(2)].join(" ");
}

async function main(): Promise<void> {
  const options = parseArgs(process.argv.slice(2));
  const { rows, batchSize, rounds, asyncCommit } = options;
  const log = (line: string) => console.error(`[bench] ${line}`);

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
    const { rows: versionRows } = await pg.query<{ version: string }>("SELECT version()");
    const { rows: settingRows } = await pg.query<{ name: string; setting: string; unit: string | null }>(
      "SELECT name, setting, unit FROM pg_settings WHERE name IN ('shared_buffers', 'synchronous_commit', 'fsync', 'autovacuum', 'max_wal_size', 'work_mem') ORDER BY name",
    );

    // Warm-up, untimed: connects Prisma and reads the table metadata on an empty table.
    await archiveOldEvents({ olderThanDays: 0, batchSize, store: prismaStore(db.prisma) });

    const ours: OursRun[] = [];
    const baseline: BaselineRun[] = [];
    let seeded: Seeded | undefined;
    for (let round = 1; round <= rounds; round++) {
      seeded = await seed(pg, rows);
      log(`round ${round}/${rounds}: seeded ${int(rows)} rows in ${ms(seeded.seedMs)} ms; archiveOldEvents...`);
      const o = await runOurs(db, pg, seeded, options, `ours, round ${round}`);
      ours.push(o);
      const sortedO = [...o.batches].sort((a, b) => a - b);
      log(`  ours: ${int(o.rowsPerSecond)} rows/s, ${o.batches.length} batches, p50 ${ms(percentile(sortedO, 50))} ms, p99 ${ms(percentile(sortedO, 99))} ms, max ${ms(sortedO.at(-1) ?? NaN)} ms; pass-ending calls ${o.passEnds.map(ms).join(", ")} ms`);

      seeded = await seed(pg, rows);
      log(`round ${round}/${rounds}: seeded ${int(rows)} rows in ${ms(seeded.seedMs)} ms; baseline...`);
      const b = await runBaseline(pg, seeded, `baseline, round ${round}`);
      baseline.push(b);
      log(`  baseline: ${int(b.rowsPerSecond)} rows/s`);
    }

    const allBatches = ours.flatMap((o) => o.batches).sort((a, b) => a - b);
    const oursRate = median(ours.map((o) => o.rowsPerSecond));
    const baseRate = median(baseline.map((b) => b.rowsPerSecond));
    // Each round's ours and baseline ran back to back on the same machine state, so the
    // ratio is taken per round, then the median of those.
    const ratio = median(ours.map((o, i) => o.rowsPerSecond / baseline[i]!.rowsPerSecond));
    const longest = allBatches.at(-1) ?? NaN;
    const p50 = percentile(allBatches, 50);
    const p99 = percentile(allBatches, 99);
    const slow = allBatches.filter((t) => t > GOALS.longestBatchMs).length;
    // The calls that end a pass move nothing but are transactions too: the goal counts them.
    const passEnds = ours.flatMap((o) => o.passEnds);
    const longestPassEnd = Math.max(...passEnds);
    const longestCall = Math.max(longest, longestPassEnd);

    const cpus = os.cpus();
    const lines = [
      `## Archival benchmark: ${int(rows)} rows, batch size ${int(batchSize)}${asyncCommit ? ", asyncArchiveCommit" : ""}`,
      "",
      `| rows | batch size | ours rows/s | baseline rows/s | ours/baseline | longest batch ms | p99 batch ms | p50 batch ms | batches > ${GOALS.longestBatchMs} ms | pass-ending calls, longest ms |`,
      "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
      `| ${int(rows)} | ${int(batchSize)} | ${int(oursRate)} | ${int(baseRate)} | ${ratio.toFixed(2)} | ${ms(longest)} | ${ms(p99)} | ${ms(p50)} | ${slow} of ${int(allBatches.length)} | ${passEnds.length}, ${ms(longestPassEnd)} |`,
      "",
      `Medians of ${rounds} interleaved rounds (ours, baseline, ours, baseline, ...), each on freshly seeded rows;`,
      "ratio: median of the per-round ratios; batch times: all batches of all rounds pooled. Pass-ending calls moved",
      "nothing (the end of the pass that seeks, then the pass from the oldest event); onBatch does not hear them.",
      "",
      "| round | ours rows/s | ours s | batches | first 10% of batches, mean ms | last 10%, mean ms | baseline rows/s | baseline s |",
      "|---:|---:|---:|---:|---:|---:|---:|---:|",
      ...ours.map((o, i) => {
        const tenth = Math.max(1, Math.floor(o.batches.length / 10));
        const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
        const b = baseline[i]!;
        return `| ${i + 1} | ${int(o.rowsPerSecond)} | ${(o.totalMs / 1000).toFixed(2)} | ${o.batches.length} | ${ms(mean(o.batches.slice(0, tenth)))} | ${ms(mean(o.batches.slice(-tenth)))} | ${int(b.rowsPerSecond)} | ${(b.totalMs / 1000).toFixed(2)} |`;
      }),
      "",
      `Goals (reported, not asserted): >= ${int(GOALS.rowsPerSecond)} rows/s: ${oursRate >= GOALS.rowsPerSecond ? "met" : "MISSED"}; ` +
        `no batch (nor pass-ending call) > ${GOALS.longestBatchMs} ms: ${longestCall <= GOALS.longestBatchMs ? "met" : "MISSED"}; ` +
        `within 2x of the baseline: ${ratio >= GOALS.ratioToBaseline ? "met" : "MISSED"}.`,
      "",
      `Seeded rows: content JSON ~${Math.round(seeded!.contentBytes)} bytes, whole row ~${Math.round(seeded!.rowBytes)} bytes stored; ` +
        `${SPREAD_DAYS} days; indexes as migrated; VACUUM ANALYZE + CHECKPOINT after each seed. Sanity checks passed after every run.`,
      "",
      `- Machine: ${cpus.length} x ${cpus[0]?.model.trim() ?? "unknown CPU"}, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, ${os.type()} ${os.release()} ${os.arch()}`,
      `- Node ${process.version}`,
      `- ${versionRows[0]!.version}`,
      `- PostgreSQL settings: ${settingRows.map((s) => `${s.name}=${s.setting}${s.unit && s.unit !== "" ? ` (${s.unit})` : ""}`).join(", ")}`,
      `- Command: \`${command()}\``,
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

main().catch((error: unknown) => {
  console.error(error instanceof SanityError ? `SANITY CHECK FAILED: ${error.message}` : error);
  process.exitCode = 1;
});
