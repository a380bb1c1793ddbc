// `npm run bench:verify`: how fast `verifyAuditTrail()` checks a trail on PostgreSQL, through
// Prisma's pages and through a `pgPool` (COPY, hashing threads), against anchors measured in
// the same run: a plain read of the same pages through Prisma, a raw COPY read of the same
// rows (bytes only), and one thread's CPU to parse and hash them. The trail: --events signed
// events in --chains chains, a checkpoint every 1000 events, loaded with COPY (hashes made
// before, outside the timing).
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";

import { availableParallelism, loadavg } from "node:os";

import { Client as PgClient, Pool } from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { v7 as uuidv7 } from "uuid";

import { checkChainText } from "../src/integrity/chain-text";
import { resolveIntegrityKeys, signCheckpoint } from "../src/integrity/integrity-keys";
import { eventHash } from "../src/integrity/canonical-event";
import { verifyAuditTrail, VERIFY_PAGE_SIZE } from "../src/integrity/verify-trail";
import { EVENT_FIELDS, type AuditEventRecord } from "../src/model/event-record";
import { prismaStore } from "../src/stores/prisma-store";
import { openDatabase } from "../test/support/databases";
import { benchOptions } from "./lib/cli-options";
import { int, ratio } from "./lib/format";
import { goalLine } from "./lib/goals";
import { machineLine, postgresLines } from "./lib/machine";
import { markdownTable } from "./lib/markdown-table";
import { check, log as logLine, runBenchmark } from "./lib/sanity";
import { sampleEvents } from "./lib/sample-events";
import { median } from "./lib/stats";

const NAME = "verify";
const GOAL_PER_SECOND = 200_000;
const CHECKPOINT_EVERY = 1000;
const KEY = "bench key: at least thirty-two characters of secret";
const log = (line: string) => logLine(NAME, line);

const invocation = benchOptions(NAME, {
  events: { type: "number", full: 1_000_000, smoke: 20_000, integer: true, help: "signed events in the trail" },
  chains: { type: "number", full: 4, smoke: 2, integer: true, help: "chains they are spread over" },
  rounds: { type: "number", full: 2, smoke: 1, integer: true, help: "interleaved rounds (the reads and the verifies, one after the other)" },
  workers: { type: "list", full: ["0", "1", "2"], smoke: ["0", "2"], help: "hashing threads of the pgPool verifies to measure" },
});

function copyValue(value: unknown): string {
  if (value === null || value === undefined) return "\\N";
  const text = value instanceof Date ? value.toISOString() : typeof value === "object" ? JSON.stringify(value) : String(value);
  return text.replace(/[\\\t\n\r]/g, (c) => (c === "\\" ? "\\\\" : c === "\t" ? "\\t" : c === "\n" ? "\\n" : "\\r"));
}

const COPY_EVENTS = `COPY audit_events (${EVENT_FIELDS.map((f) => `"${f}"`).join(", ")}) FROM STDIN`;
const COPY_CHECKPOINTS = `COPY audit_checkpoints ("chainId", "seq", "hash", "keyId", "signature", "createdAt") FROM STDIN`;
const LOAD_BATCH = 20_000;

/** Builds and loads the trail in batches, so memory holds one batch at a time. */
async function load(pg: PgClient, events: number, chains: number): Promise<void> {
  const keys = resolveIntegrityKeys(KEY);
  const ids = Array.from({ length: chains }, () => uuidv7());
  const heads: Array<{ seq: number; hash: string | null }> = ids.map(() => ({ seq: 0, hash: null }));
  for (let start = 0; start < events; start += LOAD_BATCH) {
    const batch = sampleEvents(Math.min(LOAD_BATCH, events - start)) as AuditEventRecord[];
    const checkpoints: string[] = [];
    batch.forEach((event, i) => {
      const c = (start + i) % chains;
      const head = heads[c]!;
      Object.assign(event, { chainId: ids[c]!, seq: head.seq + 1, prevHash: head.hash });
      event.hash = eventHash(event);
      head.seq++;
      head.hash = event.hash;
      if (head.seq % CHECKPOINT_EVERY === 0) {
        const fields = { chainId: ids[c]!, seq: head.seq, hash: event.hash, keyId: keys.signing.id, createdAt: new Date() };
        checkpoints.push([fields.chainId, fields.seq, fields.hash, fields.keyId, signCheckpoint(fields, keys.signing), fields.createdAt.toISOString()].join("\t"));
      }
    });
    await pipeline(Readable.from([batch.map((event) => EVENT_FIELDS.map((field) => copyValue(event[field])).join("\t")).join("\n") + "\n"]), pg.query(copyFrom(COPY_EVENTS)));
    if (checkpoints.length > 0) await pipeline(Readable.from([checkpoints.join("\n") + "\n"]), pg.query(copyFrom(COPY_CHECKPOINTS)));
    log(`loaded ${int(start + batch.length)} of ${int(events)}`);
  }
  await pg.query("ANALYZE audit_events; ANALYZE audit_checkpoints");
}

/** The load average now, for the line of each measurement (the machine may be shared). */
function load1(): string {
  return loadavg()[0]!.toFixed(2);
}

/** Events per second of `work`, which handles `events` events, and the load average when it ended. */
async function timed(events: number, work: () => Promise<void>): Promise<{ rate: number; load: string; cpu: number }> {
  const t = performance.now();
  const start = process.cpuUsage();
  await work();
  const used = process.cpuUsage(start);
  return { rate: events / ((performance.now() - t) / 1000), load: load1(), cpu: (used.user + used.system) / events };
}

/** CPU microseconds per event of `work` on this thread, over `events` events. */
function cpuPerEvent(events: number, work: () => void): number {
  const start = process.cpuUsage();
  work();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / events;
}

async function main(): Promise<void> {
  const { values, command, smoke } = invocation;
  const db = await openDatabase("postgresql", { name: "bench_verify" });
  const pg = new PgClient({ connectionString: db.url });
  const pool = new Pool({ connectionString: db.url, max: 2 });
  try {
    await pg.connect();
    await load(pg, values.events, values.chains);
    const rows = values.events + Math.floor(values.events / values.chains / CHECKPOINT_EVERY) * values.chains;
    const paged = prismaStore(db.prisma);
    const text = prismaStore(db.prisma, { pgPool: pool });
    const workers = values.workers.map(Number);

    // Same-run anchors. The plain read: the same pages through Prisma's raw query, nothing checked.
    const plainRead = async (): Promise<void> => {
      let seen = 0;
      let page = await paged.readChainPage!({ source: "all", limit: VERIFY_PAGE_SIZE });
      while (page.length > 0) {
        seen += page.length;
        const last = page.at(-1)!;
        const after = last.part === "checkpoint" ? { chainId: last.checkpoint.chainId, seq: last.checkpoint.seq, part: last.part } : { chainId: last.event.chainId!, seq: last.event.seq!, part: last.part };
        page = page.length < VERIFY_PAGE_SIZE ? [] : await paged.readChainPage!({ source: "all", limit: VERIFY_PAGE_SIZE, after });
      }
      check(seen === rows, `the plain read saw ${seen} rows, expected ${rows}`);
    };
    // The raw read: the same rows through node-postgres's COPY, as bytes, nothing parsed.
    const rawRead = async (): Promise<void> => {
      let lines = 0;
      for await (const chunk of text.readChainText!({ source: "all", limit: VERIFY_PAGE_SIZE })) for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
      check(lines === rows, `the raw read saw ${lines} rows, expected ${rows}`);
    };
    const verifyWith = (store: typeof paged, threads?: number) => async (): Promise<void> => {
      const report = await verifyAuditTrail({ store, key: KEY, ...(threads === undefined ? {} : { workers: threads }) });
      check(report.ok && report.problems.length === 0, `verify found problems in an untouched trail: ${JSON.stringify(report.problems.slice(0, 3))}`);
      check(report.verified === values.events && report.chains === values.chains, `verify checked ${report.verified} events in ${report.chains} chains, expected ${values.events} in ${values.chains}`);
    };

    // Hashing alone, one thread, on the first chunks of the same rows: parse + hash (what a hashing thread does), and the hash of rows already parsed.
    const sample: Uint8Array[] = [];
    let sampled = 0;
    for await (const chunk of text.readChainText!({ source: "all", limit: VERIFY_PAGE_SIZE })) {
      sample.push(chunk);
      sampled += VERIFY_PAGE_SIZE;
      if (sampled >= Math.min(values.events, 50_000)) break;
    }
    const parsed = sample.flatMap((chunk) => checkChainText(new Uint8Array(chunk)));
    check(parsed.every((row) => row.part === "checkpoint" || row.event.fits), "a sampled event's hash did not fit");
    const sampleEvents = await paged.readChainPage!({ source: "all", limit: parsed.length });
    const records = sampleEvents.flatMap((row) => (row.part === "checkpoint" ? [] : [row.event]));
    const cpu = { parseHash: [] as number[], hash: [] as number[] };

    const labels = ["plain read (Prisma pages, `readChainPage`)", "raw read (node-postgres `COPY`, bytes only)", "`verifyAuditTrail()` through Prisma pages", ...workers.map((n) => `\`verifyAuditTrail()\` through \`pgPool\` (COPY), ${n === 0 ? "hashing on the main thread" : `${n} hashing thread(s)`}`)];
    const runs = [plainRead, rawRead, verifyWith(paged), ...workers.map((n) => verifyWith(text, n))];
    const rates: number[][] = runs.map(() => []);
    const cpuUsed: number[][] = runs.map(() => []);
    const loads: string[][] = runs.map(() => []);
    for (let round = 1; round <= values.rounds; round++) {
      for (const [i, run] of runs.entries()) {
        const { rate, load, cpu: used } = await timed(values.events, run);
        rates[i]!.push(rate);
        cpuUsed[i]!.push(used);
        loads[i]!.push(load);
        log(`round ${round}: ${labels[i]}: ${int(rate)} events/s, this process's CPU ${used.toFixed(1)} µs/event (load ${load})`);
      }
      cpu.parseHash.push(cpuPerEvent(parsed.length, () => sample.forEach((chunk) => checkChainText(chunk))));
      cpu.hash.push(cpuPerEvent(records.length, () => records.forEach((record) => eventHash(record))));
      log(`round ${round}: one thread: parse + hash ${cpu.parseHash.at(-1)!.toFixed(1)} µs/event, hash alone ${cpu.hash.at(-1)!.toFixed(1)} µs/event (load ${load1()})`);
    }
    // And it must still see a change: one event altered after the timed rounds, through both reads.
    await pg.query(`UPDATE audit_events SET "userId" = 'mallory' WHERE id = (SELECT id FROM audit_events ORDER BY "chainId", seq OFFSET ${Math.floor(values.events / 2)} LIMIT 1)`);
    for (const store of [paged, text]) {
      const tampered = await verifyAuditTrail({ store, key: KEY });
      check(!tampered.ok && tampered.problems.length === 1 && tampered.problems[0]!.kind === "altered", `verify missed an altered event: ${JSON.stringify(tampered.problems)}`);
    }

    const medians = rates.map(median);
    const best = Math.max(...medians.slice(2));
    const plain = medians[0]!;
    const parseHash = median(cpu.parseHash);
    const hash = median(cpu.hash);
    console.log(
      [
        "## Verify on PostgreSQL: `bench/verify.ts`",
        "",
        `${int(values.events)} signed events in ${values.chains} chains (a checkpoint every ${CHECKPOINT_EVERY}), live table, loaded with COPY; medians of ${values.rounds} interleaved round(s), each read ${int(rows)} rows (events and checkpoints).${smoke ? " SMOKE RUN: not meant to be read." : ""}`,
        "",
        markdownTable(
          ["read", "events/s", "vs plain read", "this process's CPU per event (all threads)", "load average after each round"],
          labels.map((label, i) => [label, int(medians[i]!), ratio(medians[i]! / plain), `${median(cpuUsed[i]!).toFixed(1)} µs`, loads[i]!.join(", ")]),
          ["left", "right", "right", "right", "right"],
        ),
        "",
        "The machine may be shared: the load average beside each figure says how much. The CPU per event does not depend on it (the database server's CPU is not in it).",
        "",
        `One thread's CPU per event, on the first ${int(records.length)} events: parse the COPY text and hash ${parseHash.toFixed(1)} µs (${int(1e6 / parseHash)} events/s), hash alone (\`eventHash\` of events already read) ${hash.toFixed(1)} µs (${int(1e6 / hash)} events/s). With ${availableParallelism()} cores and nothing else running (the database included), parsing and hashing alone bound verify at ${int((availableParallelism() * 1e6) / parseHash)} events/s.`,
        "",
        goalLine({
          issue: "#13",
          goal: `verify >= ${int(GOAL_PER_SECOND)} events/s`,
          measured: `${int(best)} events/s (best read), ${ratio(best / plain)}x a plain read`,
          anchor: `plain Prisma page read ${int(plain)} rows/s`,
          met: best >= GOAL_PER_SECOND,
        }),
        `Load average at the end: ${loadavg().map((n) => n.toFixed(2)).join(", ")}.`,
        "",
        `- Machine: ${machineLine()}`,
        ...(await postgresLines(pg)).map((line) => `- ${line}`),
        `- Command: \`${command}\``,
      ].join("\n"),
    );
  } finally {
    await pool.end().catch(() => undefined);
    await pg.end().catch(() => undefined);
    await db.close();
  }
}

runBenchmark(NAME, main);
