// Writer throughput into PostgreSQL: Prisma `create` one by one, Prisma `createMany`, our
// write paths (the sync `store.insert` of a batch; the buffered writer, also with `integrity`) and raw COPY (the
// ceiling), with the same events and the same batch sizes,
// interleaved, medians, ratios per round.
//
//   npm run bench:writer [-- --events 20000 --one-by-one 2000 --batch-sizes 100,1000 --rounds 3]
//
// Needs PostgreSQL (AUDIT_TEST_PG_URL or postgres@127.0.0.1:5432) and the generated
// clients. Exits 1 when a run stored other rows than it was given.
import { Client as PgClient, Pool } from "pg";

import type { AuditEventRecord } from "../src/model/event-record";
import { openDatabase } from "../test/support/databases";
import { benchOptions } from "./lib/cli-options";
import { int, ratio } from "./lib/format";
import { goalLine } from "./lib/goals";
import { machineLine, postgresLines } from "./lib/machine";
import { markdownTable } from "./lib/markdown-table";
import { packageVersion } from "./lib/package-version";
import { check, log as logLine, runBenchmark } from "./lib/sanity";
import { sampleEvents } from "./lib/sample-events";
import { median } from "./lib/stats";
import { allIndexesCost, indexCosts, indexCostTable } from "./writer/index-costs";
import { bufferedWriter, pgCopy, prismaCreate, prismaCreateMany, storeInsert, storeWriteRows, type WritePath } from "./writer/write-paths";

const NAME = "writer";
const GOALS = { bufferedPerSecond: 50_000, bufferedToCreateMany: 5, chainingCostPercent: 10, copyShare: 0.8, copyToCreateMany: 10 };
/** The integrity secret of the chained run: any 32 characters sign alike. */
const BENCH_INTEGRITY_KEY = "bench-integrity-key-0123456789abcdef";
const log = (line: string) => logLine(NAME, line);

const invocation = benchOptions(NAME, {
  events: { type: "number", full: 20_000, smoke: 500, integer: true, help: "events per batched run" },
  "one-by-one": { type: "number", full: 2_000, smoke: 100, integer: true, help: "events for Prisma create one by one (the first N of the same events)" },
  "batch-sizes": { type: "list", full: ["100", "1000"], smoke: ["100"], help: "batch sizes" },
  "index-rounds": { type: "number", full: 3, smoke: 1, integer: true, zeroAllowed: true, help: "rounds per index of raw COPY with and without it, at the largest batch size (0: none)" },
  rounds: { type: "number", full: 3, smoke: 1, integer: true, help: "interleaved rounds" },
});

const PATHS = {
  create: "Prisma `create`, one by one",
  createMany: "Prisma `createMany`",
  storeInsert: "ours, sync: `prismaStore().insert(batch)`",
  buffered: "ours, buffered: `createEvent` in `writeMode: \"buffered\"`, then `closeAudit()`",
  bufferedChained: "ours, buffered, with `integrity` (hash chain, checkpoint every 1000 events and at `closeAudit()`)",
  bufferedCopy: "ours, buffered, `prismaStore(prisma, { pgPool })`: COPY through the pool",
  bufferedCopyChained: "ours, buffered, `pgPool` and `integrity`",
  writeRowsCopy: "ours, the buffered writer's store write alone: `writeRows(batch)` with `pgPool` (no `createEvent`)",
  copy: "raw `COPY ... FROM STDIN` over `pg` (the ceiling)",
} as const;
type PathName = keyof typeof PATHS;
const BUFFERED: ReadonlySet<PathName> = new Set(["buffered", "bufferedChained", "bufferedCopy", "bufferedCopyChained"]);
const CHAINED: ReadonlySet<PathName> = new Set(["bufferedChained", "bufferedCopyChained"]);

interface Run {
  path: PathName;
  batchSize: number;
  events: readonly AuditEventRecord[];
}

/** What a table holds: its count, distinct ids, and digests of every stored field. */
interface Stored {
  rows: number;
  ids: number;
  /** Over content type, object id and content: what any write path must store alike. */
  core: string;
  /** Over every field, ids and timestamps included: the same events, stored exactly. */
  full: string;
}

const STORED_SQL = `
SELECT count(*) AS rows, count(DISTINCT id) AS ids,
  md5(coalesce(string_agg(concat_ws('|', "contentType", "objectId", content::text), ',' ORDER BY "contentType", "objectId", content::text), '')) AS core,
  md5(coalesce(string_agg(concat_ws('|', id, "timestamp", "contentType", "objectId", content::text, "userId", url, method, "remoteAddr",
    "queryParams"::text, "postData"::text, headers::text), ',' ORDER BY id), '')) AS full
FROM audit_events`;

async function main(): Promise<void> {
  const { smoke, values, command } = invocation;
  const batchSizes = values["batch-sizes"].map((raw) => {
    const size = Number(raw);
    check(Number.isSafeInteger(size) && size > 0, `--batch-sizes: ${raw} is not a whole number above 0`);
    return size;
  });
  check(values["one-by-one"] <= values.events, "--one-by-one must not exceed --events: it writes the first N of the same events");

  const events = sampleEvents(values.events);
  const firstEvents = events.slice(0, values["one-by-one"]);
  const db = await openDatabase("postgresql", { name: "bench_writer" });
  const pg = new PgClient({ connectionString: db.url });
  const pool = new Pool({ connectionString: db.url, max: 2 });
  try {
    await pg.connect();
    const createMany = prismaCreateMany(db.prisma);
    const paths: Record<PathName, WritePath> = {
      create: prismaCreate(db.prisma),
      createMany,
      storeInsert: storeInsert(db.prisma),
      buffered: bufferedWriter(db.prisma),
      bufferedChained: bufferedWriter(db.prisma, { key: BENCH_INTEGRITY_KEY }),
      bufferedCopy: bufferedWriter(db.prisma, undefined, pool),
      bufferedCopyChained: bufferedWriter(db.prisma, { key: BENCH_INTEGRITY_KEY }, pool),
      writeRowsCopy: storeWriteRows(db.prisma, pool),
      copy: pgCopy(pg),
    };
    const runs: Run[] = [
      { path: "create", batchSize: 1, events: firstEvents },
      ...batchSizes.flatMap((batchSize) =>
        (["createMany", "storeInsert", "buffered", "bufferedChained", "bufferedCopy", "bufferedCopyChained", "writeRowsCopy", "copy"] as const).map((path) => ({ path, batchSize, events })),
      ),
    ];

    // Warm-up, untimed: connects both clients and compiles the queries.
    for (const run of runs) {
      await pg.query("TRUNCATE audit_events, audit_checkpoints");
      await paths[run.path]!(run.events.slice(0, Math.min(run.batchSize * 2, 200)), run.batchSize);
    }

    // What every run must store: the same events written by Prisma's own createMany.
    const reference = new Map<number, Stored>();
    for (const sample of [firstEvents, events]) {
      await pg.query("TRUNCATE audit_events");
      await createMany(sample, 1000);
      reference.set(sample.length, (await pg.query<Stored>(STORED_SQL)).rows[0]!);
    }
    const rates = new Map<string, number[]>();
    const key = (path: PathName, batchSize: number) => `${path}|${batchSize}`;
    for (let round = 1; round <= values.rounds; round++) {
      // Rotating the order each round keeps any one path from always running first.
      const order = runs.map((_, i) => runs[(i + round - 1) % runs.length]!);
      for (const run of order) {
        const label = `round ${round}, ${run.path}, batch size ${run.batchSize}`;
        await pg.query("TRUNCATE audit_events, audit_checkpoints");
        const started = performance.now();
        await paths[run.path]!(run.events, run.batchSize);
        const seconds = (performance.now() - started) / 1000;
        const stored = (await pg.query<Stored>(STORED_SQL)).rows[0]!;
        const expected = run.events.length;
        check(Number(stored.rows) === expected && Number(stored.ids) === expected, `${label}: audit_events holds ${stored.rows} rows with ${stored.ids} distinct ids; ${expected} events were written`);
        const known = reference.get(expected)!;
        check(stored.core === known.core, `${label}: the stored content differs from Prisma createMany's (digest ${stored.core}, expected ${known.core})`);
        // The buffered writer gives events its own ids and timestamps.
        if (!BUFFERED.has(run.path)) check(stored.full === known.full, `${label}: the stored rows differ from Prisma createMany's (digest ${stored.full}, expected ${known.full})`);
        if (CHAINED.has(run.path)) {
          const chain = (await pg.query<{ unsigned: string; chains: string; head: string; signed: string | null }>(
            `SELECT count(*) FILTER (WHERE hash IS NULL) AS unsigned, count(DISTINCT "chainId") AS chains, max(seq) AS head, (SELECT max(seq) FROM audit_checkpoints) AS signed FROM audit_events`,
          )).rows[0]!;
          check(
            Number(chain.unsigned) === 0 && Number(chain.chains) === 1 && Number(chain.head) === expected && Number(chain.signed) === expected,
            `${label}: expected one chain of ${expected} events signed at its head, found ${chain.unsigned} unsigned, ${chain.chains} chain(s), head ${chain.head}, signed at ${chain.signed}`,
          );
        }
        const rate = expected / seconds;
        rates.set(key(run.path, run.batchSize), [...(rates.get(key(run.path, run.batchSize)) ?? []), rate]);
        log(`${label}: ${int(rate)} events/s (${expected} events in ${seconds.toFixed(2)} s)`);
      }
    }

    const perRound = (path: PathName, batchSize: number) => rates.get(key(path, batchSize)) ?? [];
    const ratioTo = (path: PathName, batchSize: number, base: PathName) => {
      const own = perRound(path, path === "create" ? 1 : batchSize);
      const baseline = perRound(base, base === "create" ? 1 : batchSize);
      return median(own.map((rate, i) => rate / baseline[i]!));
    };
    const lines = [
      `## Writer: events/s into PostgreSQL${smoke ? " (smoke run: figures not meant to be read)" : ""}`,
      "",
      `${int(values.events)} events per run (Prisma \`create\` one by one: the first ${int(values["one-by-one"])} of them), medians of ${values.rounds} interleaved round(s); ` +
        `ratios: median over rounds of events/s divided by the baseline's events/s in the same round.`,
    ];
    const goalLines: string[] = [];
    const chainingLines: string[] = [];
    const copyGoalLines: string[] = [];
    for (const batchSize of batchSizes) {
      const rows = (Object.keys(PATHS) as PathName[]).map((path) => {
        const size = path === "create" ? 1 : batchSize;
        const rate = median(perRound(path, size));
        return [PATHS[path], int(size), int(rate), ratio(ratioTo(path, batchSize, "createMany")), ratio(ratioTo(path, batchSize, "copy"))];
      });
      lines.push("", `### Batches of ${int(batchSize)}`, "", markdownTable(["write path", "batch size", "events/s", "vs createMany", "vs COPY"], rows));
      const rate = median(perRound("buffered", batchSize));
      const toCreateMany = ratioTo("buffered", batchSize, "createMany");
      const chainingCost = (1 - ratioTo("bufferedChained", batchSize, "buffered")) * 100;
      chainingLines.push(
        goalLine({
          issue: "#13",
          goal: `chaining costs <= ${GOALS.chainingCostPercent}% of the buffered writer's events/s, batches of ${int(batchSize)}`,
          measured: `${chainingCost.toFixed(1)}%`,
          anchor: `the buffered writer without integrity ${int(rate)} events/s`,
          met: chainingCost <= GOALS.chainingCostPercent,
        }),
      );
      for (const path of ["bufferedCopy", "bufferedCopyChained", "writeRowsCopy"] as const) {
        const toCopy = ratioTo(path, batchSize, "copy");
        const times = ratioTo(path, batchSize, "createMany");
        if (path === "bufferedCopy") {
          const rate = int(median(perRound(path, batchSize)));
          copyGoalLines.push(
            goalLine({
              issue: "#15",
              goal: `the buffered writer with \`pgPool\` >= ${GOALS.copyShare} of raw COPY, batches of ${int(batchSize)}`,
              measured: `${ratio(toCopy)} of COPY (${rate} events/s)`,
              anchor: `raw COPY ${int(median(perRound("copy", batchSize)))} events/s`,
              met: toCopy >= GOALS.copyShare,
            }),
            goalLine({
              issue: "#15",
              goal: `the buffered writer with \`pgPool\` >= ${GOALS.copyToCreateMany}x Prisma \`createMany\`, batches of ${int(batchSize)}`,
              measured: `${ratio(times)}x (${rate} events/s)`,
              // Raw COPY is the ceiling of any write path: below the goal itself, the goal cannot be met on this machine.
              anchor: `createMany ${int(median(perRound("createMany", batchSize)))} events/s; raw COPY itself ${ratio(ratioTo("copy", batchSize, "createMany"))}x createMany (the ceiling${ratioTo("copy", batchSize, "createMany") < GOALS.copyToCreateMany ? `, below ${GOALS.copyToCreateMany}x: out of reach here` : ""})`,
              met: times >= GOALS.copyToCreateMany,
            }),
          );
        } else {
          copyGoalLines.push(
            `- batches of ${int(batchSize)}, ${PATHS[path]}: ${int(median(perRound(path, batchSize)))} events/s, ${ratio(toCopy)} of COPY, ${ratio(times)}x createMany (reported)`,
          );
        }
      }
      goalLines.push(
        goalLine({
          issue: "#4",
          goal: `the buffered writer >= ${int(GOALS.bufferedPerSecond)} events/s, batches of ${int(batchSize)}`,
          measured: `${int(rate)} events/s`,
          anchor: `raw COPY ${int(median(perRound("copy", batchSize)))} events/s (the ceiling)`,
          met: rate >= GOALS.bufferedPerSecond,
        }),
        goalLine({
          issue: "#4",
          goal: `the buffered writer >= ${GOALS.bufferedToCreateMany}x Prisma \`createMany\`, batches of ${int(batchSize)}`,
          measured: `${ratio(toCreateMany)}x`,
          anchor: `createMany ${int(median(perRound("createMany", batchSize)))} events/s`,
          met: toCreateMany >= GOALS.bufferedToCreateMany,
        }),
      );
    }
    lines.push(
      "",
      "Goals (reported, not asserted; ratios are medians over rounds of the ratio in each round, anchors the medians of the same run; the cost of chaining is the median over rounds of 1 - chained/unchained events/s):",
      "",
      ...goalLines,
      ...copyGoalLines,
      ...chainingLines,
      "",
      "Each run starts on an emptied table (TRUNCATE) and is timed from its first write to its last commit, serialization included, over one connection at a time. " +
        "Checked after every run: the table holds exactly the events written, each id once, and the same rows as Prisma `createMany` stored before the timed rounds " +
        "(a digest over every field; over content type, object id and content for the buffered writer, which makes its own ids).",
      "",
      `- Machine: ${machineLine()}`,
      `- Node ${process.version}; @prisma/client ${packageVersion("@prisma/client")} with @prisma/adapter-pg ${packageVersion("@prisma/adapter-pg")}; pg ${packageVersion("pg")}, pg-copy-streams ${packageVersion("pg-copy-streams")}`,
      ...(await postgresLines(pg)).map((line) => `- ${line}`),
      `- Command: \`${command}\``,
    );
    const largest = Math.max(...batchSizes);
    if (values["index-rounds"] > 0) {
      const costs = await indexCosts(pg, paths.copy, events, largest, values["index-rounds"], (line) => log(line));
      const all = await allIndexesCost(pg, paths.copy, events, largest, values["index-rounds"]);
      log(`every index but the primary key: COPY ${int(all.withAll)} rows/s with them, ${int(all.keyOnly)} without: ${(all.share * 100).toFixed(1)}% of COPY's time`);
      lines.push("", ...indexCostTable(costs, all, largest, values["index-rounds"], events.length));
    }
    console.log(lines.join("\n"));
  } finally {
    await pg.end().catch(() => undefined);
    await pool.end().catch(() => undefined);
    await db.close();
  }
}

runBenchmark(NAME, main);
