// Read-side benchmark on PostgreSQL: findEvents() pages (page 1 and page 10 000 of a
// filtered, sorted query) and exportEvents() NDJSON through prismaStore(), against the
// same statements sent with the raw `pg` driver, an OFFSET page, and a raw COPY TO, all
// in one run on the same rows.
//
//   npx tsx bench/query.ts [--rows 1000000] [--samples 30]
//
// Needs the PostgreSQL server of the tests (AUDIT_TEST_PG_URL or postgres@127.0.0.1:5432)
// and the generated Prisma clients (`npm run db:generate`). Creates and drops its own
// database. Exits 1 when a sanity check fails (a page differs from the raw query's, paging
// skips or repeats an event, the export misses rows); the speed goals are reported, not asserted.
import { createHash } from "node:crypto";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import { pipeline } from "node:stream/promises";

import { Client as PgClient } from "pg";
import { to as copyTo } from "pg-copy-streams";

import { exportEvents, findEvents, prismaStore, type AuditQuery, type AuditStore } from "../src/index";
import { EVENT_FIELDS } from "../src/model/event-record";
import { goalLine } from "./lib/goals";
import { openDatabase } from "../test/support/databases";

const PAGE_SIZE = 50;
const DEEP_PAGE = 10_000;
const GOALS = { pageMs: 20, exportPerSecond: 100_000 };
/** Timed exports of every event, each followed by the COPY TO baseline. */
const EXPORT_ROUNDS = 3;
/** The filtered, sorted query of the page timings: three in five events are orders. */
const FILTER = { contentType: "shop.order" } satisfies AuditQuery;

interface Options {
  rows: number;
  samples: number;
}

function usage(message?: string): never {
  if (message) console.error(`bench/query.ts: ${message}`);
  console.error("usage: npx tsx bench/query.ts [--rows 1000000] [--samples 30]");
  process.exit(2);
}

function parseArgs(argv: string[]): Options {
  const options: Options = { rows: 1_000_000, samples: 30 };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--help" || arg === "-h") usage();
    const [flag, inline] = arg.split("=", 2) as [string, string | undefined];
    if (flag !== "--rows" && flag !== "--samples") usage(`unknown argument ${arg}`);
    const raw = inline ?? argv[++i];
    const value = Number(String(raw).replaceAll("_", ""));
    if (!Number.isSafeInteger(value) || value < 1) usage(`${flag} needs a whole number of 1 or more (got ${String(raw)})`);
    options[flag === "--rows" ? "rows" : "samples"] = value;
  }
  return options;
}

class SanityError extends Error {
  override name = "SanityError";
}

function check(condition: boolean, message: string): void {
  if (!condition) throw new SanityError(message);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const int = (n: number) => Math.round(n).toLocaleString("en-US");
const ms = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(2));

// The seed fills the columns of the first migration; the event model's and the hash
// chain's columns take their defaults (null, "success", "info"), as rows of that time do.
const SEEDED_COLUMNS = ["id", "timestamp", "contentType", "objectId", "content", "userId", "url", "method", "remoteAddr", "queryParams", "postData", "headers"]
  .map((c) => `"${c}"`)
  .join(", ");

// One event a second going back from now; ids are UUID v7 of the timestamp with random
// bits from md5(g), so id order is time order, as the library writes them.
const SEED_SQL = `
INSERT INTO audit_events (${SEEDED_COLUMNS})
SELECT
  (lpad(to_hex(s.ms), 12, '0') || '7' || substr(s.h, 1, 3) || '9' || substr(s.h, 4, 15))::uuid,
  timestamptz 'epoch' + s.ms * interval '1 millisecond',
  (ARRAY['shop.order', 'shop.order', 'shop.order', 'shop.customer', 'auth.user'])[1 + s.g % 5],
  (s.g % 20000)::text,
  jsonb_build_object('action', (ARRAY['create', 'update', 'refund', 'delete'])[1 + s.g % 4], 'reference', 'ORD-' || lpad((s.g % 20000)::text, 8, '0'),
                     'total', round((s.g % 100000) / 100.0, 2), 'customer', jsonb_build_object('email', 'user' || (s.g % 5000) || '@example.com')),
  CASE WHEN s.g % 10 = 0 THEN NULL ELSE 'user-' || (s.g % 500) END,
  'https://shop.example/api/orders/' || (s.g % 20000),
  (ARRAY['POST', 'PATCH', 'PUT', 'DELETE'])[1 + s.g % 4],
  '10.0.' || (s.g / 256 % 256) || '.' || (s.g % 256),
  '{}'::jsonb,
  jsonb_build_object('status', 'paid'),
  jsonb_build_object('user-agent', 'shop-client/2.4')
FROM (SELECT g, $2::bigint - g * 1000 AS ms, md5(g::text) AS h FROM generate_series(0, $1::bigint - 1) AS g) AS s`;

const COLUMNS = EVENT_FIELDS.map((c) => `"${c}"`).join(", ");
const RAW_PAGE = `SELECT ${COLUMNS} FROM audit_events WHERE "contentType" = $1 AND ("timestamp", "id") < ($2::timestamptz, $3::uuid) ORDER BY "timestamp" DESC, "id" DESC LIMIT $4`;
const RAW_FIRST_PAGE = `SELECT ${COLUMNS} FROM audit_events WHERE "contentType" = $1 ORDER BY "timestamp" DESC, "id" DESC LIMIT $2`;
const OFFSET_PAGE = `SELECT ${COLUMNS} FROM audit_events WHERE "contentType" = $1 ORDER BY "timestamp" DESC, "id" DESC LIMIT $2 OFFSET $3`;

async function timed<T>(run: () => Promise<T>): Promise<[T, number]> {
  const started = performance.now();
  const result = await run();
  return [result, performance.now() - started];
}

/** Counts lines and bytes, and hashes the id of each line: enough to check an export. */
class CheckingSink extends Writable {
  lines = 0;
  bytes = 0;
  private partial = "";
  constructor(private readonly hashIds: boolean, private readonly hash = createHash("sha256")) {
    super();
  }
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.bytes += chunk.length;
    const text = this.partial + chunk.toString("utf8");
    let start = 0;
    for (let end = text.indexOf("\n"); end >= 0; end = text.indexOf("\n", start)) {
      this.lines++;
      // Every exported line starts with the id: {"id":"<uuid>" (or {"id" : "<uuid>" as PostgreSQL writes JSON).
      if (this.hashIds) {
        const open = text.indexOf('"', start + 5);
        this.hash.update(text.slice(open + 1, open + 37));
      }
      start = end + 1;
    }
    this.partial = text.slice(start);
    callback();
  }
  digest(): string {
    return this.hash.digest("hex");
  }
}

function command(): string {
  const script = path.relative(process.cwd(), process.argv[1] ?? "bench/query.ts") || "bench/query.ts";
  return ["npx tsx", script, ...process.argv.slice(2)].join(" ");
}

async function main(): Promise<void> {
  const { rows, samples } = parseArgs(process.argv.slice(2));
  const log = (line: string) => console.error(`[bench] ${line}`);
  const db = await openDatabase("postgresql", { name: "bench_query" });
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
    const started = performance.now();
    await pg.query(SEED_SQL, [rows, Date.now() - 60_000]);
    await pg.query("VACUUM (ANALYZE) audit_events");
    await pg.query("CHECKPOINT");
    log(`seeded ${int(rows)} rows in ${ms(performance.now() - started)} ms`);
    const matching = Number((await pg.query<{ n: string }>(`SELECT count(*) AS n FROM audit_events WHERE "contentType" = $1`, [FILTER.contentType])).rows[0]!.n);
    const deepPage = Math.min(DEEP_PAGE, Math.ceil(matching / PAGE_SIZE));
    check(rows < 1_000_000 || deepPage === DEEP_PAGE, `only ${matching} events match the filter: page ${DEEP_PAGE} does not exist`);

    const store: AuditStore = prismaStore(db.prisma);
    const query = { ...FILTER, store, limit: PAGE_SIZE };

    // Walk to the deep page the way a client does: following cursors, checking order and uniqueness.
    log(`paging to page ${int(deepPage)} of ${int(matching)} matching events...`);
    const seen = new Set<string>();
    let previous: { timestamp: Date; id: string } | undefined;
    let cursor: string | null = null;
    let deepCursor: string | null = null;
    const walk: number[] = [];
    for (let page = 1; page <= deepPage; page++) {
      if (page === deepPage) deepCursor = cursor;
      const [result, took]: [Awaited<ReturnType<typeof findEvents>>, number] = await timed(() => findEvents({ ...query, ...(cursor ? { cursor } : {}) }));
      walk.push(took);
      for (const event of result.events) {
        check(!seen.has(event.id), `page ${page}: event ${event.id} was already on an earlier page`);
        check(event.contentType === FILTER.contentType, `page ${page}: event ${event.id} does not match the filter`);
        if (previous) check(event.timestamp < previous.timestamp || (event.timestamp.getTime() === previous.timestamp.getTime() && event.id < previous.id), `page ${page}: out of order at ${event.id}`);
        seen.add(event.id);
        previous = event;
      }
      cursor = result.nextCursor;
    }
    check(seen.size === Math.min(matching, deepPage * PAGE_SIZE), `paging visited ${seen.size} events, expected ${Math.min(matching, deepPage * PAGE_SIZE)}`);

    // Page 1 and the deep page, timed alone, alternating with the raw driver sending the same statements.
    const oursFirst: number[] = [];
    const oursDeep: number[] = [];
    const rawFirst: number[] = [];
    const rawDeep: number[] = [];
    const deepAfter = deepCursor === null ? undefined : await findEvents({ ...query, cursor: deepCursor });
    // The raw baseline continues after the last event of the page before, found by OFFSET once, untimed.
    const lastOfPrevious = deepCursor === null ? undefined : (await pg.query<{ timestamp: Date; id: string }>(
      `SELECT "timestamp", "id" FROM audit_events WHERE "contentType" = $1 ORDER BY "timestamp" DESC, "id" DESC LIMIT 1 OFFSET $2`,
      [FILTER.contentType, (deepPage - 1) * PAGE_SIZE - 1],
    )).rows[0];
    for (let i = 0; i < samples; i++) {
      const [first, a] = await timed(() => findEvents(query));
      oursFirst.push(a);
      const [rawRows, b] = await timed(() => pg.query<{ id: string }>(RAW_FIRST_PAGE, [FILTER.contentType, PAGE_SIZE + 1]));
      rawFirst.push(b);
      check(first.events.map((e) => e.id).join() === rawRows.rows.slice(0, PAGE_SIZE).map((r) => r.id).join(), "page 1 differs from the raw query's");
      if (deepCursor !== null && lastOfPrevious) {
        const [deep, c] = await timed(() => findEvents({ ...query, cursor: deepCursor! }));
        oursDeep.push(c);
        const [rawDeepRows, d] = await timed(() => pg.query<{ id: string }>(RAW_PAGE, [FILTER.contentType, lastOfPrevious.timestamp, lastOfPrevious.id, PAGE_SIZE + 1]));
        rawDeep.push(d);
        check(deep.events.map((e) => e.id).join() === rawDeepRows.rows.slice(0, PAGE_SIZE).map((r) => r.id).join(), `page ${deepPage} differs from the raw query's`);
        check(deep.events.map((e) => e.id).join() === deepAfter!.events.map((e) => e.id).join(), `page ${deepPage} changed between reads`);
      }
    }
    const offsetTimes: number[] = [];
    for (let i = 0; i < Math.min(samples, 5); i++) {
      const [, took] = await timed(() => pg.query(OFFSET_PAGE, [FILTER.contentType, PAGE_SIZE, (deepPage - 1) * PAGE_SIZE]));
      offsetTimes.push(took);
    }

    // Export: every event as NDJSON, against COPY TO of the same rows as JSON text, in
    // alternating rounds into sinks that only count; then once more, untimed, hashing the ids.
    const exportTimes: number[] = [];
    const copyTimes: number[] = [];
    let exportedBytes = 0;
    for (let round = 1; round <= EXPORT_ROUNDS; round++) {
      log(`exporting, round ${round}/${EXPORT_ROUNDS}...`);
      const ours = new CheckingSink(false);
      const [exported, exportMs] = await timed(() => exportEvents({ store, format: "ndjson" }, ours));
      check(exported.exported === rows && ours.lines === rows, `the export wrote ${ours.lines} lines and reported ${exported.exported}, ${rows} rows exist`);
      exportTimes.push(exportMs);
      exportedBytes = ours.bytes;
      const copySink = new CheckingSink(false);
      const [, copyMs] = await timed(() => pipeline(pg.query(copyTo(`COPY (SELECT row_to_json(e) FROM (SELECT ${COLUMNS} FROM audit_events ORDER BY "timestamp" DESC, "id" DESC) AS e) TO STDOUT`)), copySink));
      check(copySink.lines === rows, `COPY TO wrote ${copySink.lines} lines, ${rows} rows exist`);
      copyTimes.push(copyMs);
    }
    const hashed = new CheckingSink(true);
    await exportEvents({ store, format: "ndjson" }, hashed);
    const expectedIds = createHash("sha256");
    const ids = await pg.query<{ id: string }>(`SELECT "id" FROM audit_events ORDER BY "timestamp" DESC, "id" DESC`);
    for (const row of ids.rows) expectedIds.update(row.id);
    check(hashed.digest() === expectedIds.digest("hex"), "the export's ids, in order, differ from the table's");

    const exportRate = (rows / median(exportTimes)) * 1000;
    const copyRate = (rows / median(copyTimes)) * 1000;
    const page1 = median(oursFirst);
    const pageDeep = oursDeep.length > 0 ? median(oursDeep) : NaN;
    const cpus = os.cpus();
    const { rows: versionRows } = await pg.query<{ version: string }>("SELECT version()");
    console.log(
      [
        `## Read benchmark: ${int(rows)} events, filter contentType = "${FILTER.contentType}" (${int(matching)} match), ${PAGE_SIZE} a page, newest first`,
        "",
        "| measure | ours (findEvents / exportEvents) | baseline | ours/baseline |",
        "|---|---:|---:|---:|",
        `| page 1, median ms | ${ms(page1)} | ${ms(median(rawFirst))} (same SQL, raw pg) | ${(page1 / median(rawFirst)).toFixed(2)} |`,
        `| page ${int(deepPage)}, median ms | ${ms(pageDeep)} | ${ms(median(rawDeep))} (same SQL, raw pg) | ${(pageDeep / median(rawDeep)).toFixed(2)} |`,
        `| page ${int(deepPage)} by OFFSET, median ms | | ${ms(median(offsetTimes))} (raw pg) | ${(pageDeep / median(offsetTimes)).toFixed(3)} |`,
        `| every page on the way, median ms | ${ms(median(walk))} | | |`,
        `| export NDJSON, events/s | ${int(exportRate)} (${(exportedBytes / 2 ** 20).toFixed(0)} MiB) | ${int(copyRate)} (COPY TO of row_to_json, raw pg) | ${(exportRate / copyRate).toFixed(2)} |`,
        "",
        `Pages: medians of ${samples} samples; export: medians of ${EXPORT_ROUNDS} rounds; ours and baseline alternating. Goals (reported, not asserted); sanity checks passed.`,
        "",
        goalLine({
          issue: "#5",
          goal: `a page under ${GOALS.pageMs} ms, first and page ${int(deepPage)}`,
          measured: `${ms(page1)} ms and ${ms(pageDeep)} ms`,
          anchor: `the same SQL over raw pg: ${ms(median(rawFirst))} ms and ${ms(median(rawDeep))} ms`,
          met: page1 < GOALS.pageMs && pageDeep < GOALS.pageMs,
        }),
        goalLine({
          issue: "#5",
          goal: `export >= ${int(GOALS.exportPerSecond)} events/s`,
          measured: `${int(exportRate)} events/s`,
          anchor: `COPY TO of row_to_json ${int(copyRate)} events/s`,
          met: exportRate >= GOALS.exportPerSecond,
        }),
        "",
        `- Machine: ${cpus.length} x ${cpus[0]?.model.trim() ?? "unknown CPU"}, ${Math.round(os.totalmem() / 2 ** 30)} GiB RAM, ${os.type()} ${os.release()} ${os.arch()}`,
        `- Node ${process.version}`,
        `- ${versionRows[0]!.version}`,
        `- Command: \`${command()}\``,
      ].join("\n"),
    );
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
