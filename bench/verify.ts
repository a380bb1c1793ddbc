// `npm run bench:verify`: how fast `verifyAuditTrail()` checks a trail on PostgreSQL, against
// a plain read of the same rows in the same pages (no hashing, no checks) measured in the
// same run. The trail: --events signed events in --chains chains, a checkpoint every 1000
// events, loaded with COPY (hashes made before, outside the timing).
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";

import { Client as PgClient } from "pg";
import { from as copyFrom } from "pg-copy-streams";
import { v7 as uuidv7 } from "uuid";

import { resolveIntegrityKeys, signCheckpoint } from "../src/integrity/integrity-keys";
import { eventHash } from "../src/integrity/canonical-event";
import { verifyAuditTrail, VERIFY_PAGE_SIZE } from "../src/integrity/verify-trail";
import { EVENT_FIELDS, type AuditEventRecord } from "../src/model/event-record";
import { prismaStore } from "../src/stores/prisma-store";
import { openDatabase } from "../test/support/databases";
import { benchOptions } from "./lib/cli-options";
import { int, ratio } from "./lib/format";
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
  rounds: { type: "number", full: 2, smoke: 1, integer: true, help: "interleaved rounds (baseline, verify)" },
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

async function main(): Promise<void> {
  const { values, command, smoke } = invocation;
  const db = await openDatabase("postgresql", { name: "bench_verify" });
  const pg = new PgClient({ connectionString: db.url });
  try {
    await pg.connect();
    await load(pg, values.events, values.chains);
    const store = prismaStore(db.prisma);
    // The baseline: the same pages through the same Prisma raw query, nothing checked.
    const plainRead = async (): Promise<number> => {
      let rows = 0;
      let page = await store.readChainPage!({ source: "all", limit: VERIFY_PAGE_SIZE });
      while (page.length > 0) {
        rows += page.length;
        const last = page.at(-1)!;
        const after = last.part === "checkpoint" ? { chainId: last.checkpoint.chainId, seq: last.checkpoint.seq, part: last.part } : { chainId: last.event.chainId!, seq: last.event.seq!, part: last.part };
        page = page.length < VERIFY_PAGE_SIZE ? [] : await store.readChainPage!({ source: "all", limit: VERIFY_PAGE_SIZE, after });
      }
      return rows;
    };
    const rates = { plain: [] as number[], verify: [] as number[], ratio: [] as number[] };
    for (let round = 1; round <= values.rounds; round++) {
      let t = performance.now();
      const rows = await plainRead();
      const plain = values.events / ((performance.now() - t) / 1000);
      check(rows === values.events + Math.floor(values.events / values.chains / CHECKPOINT_EVERY) * values.chains || rows >= values.events, `the plain read saw ${rows} rows for ${values.events} events`);
      t = performance.now();
      const report = await verifyAuditTrail({ store, key: KEY });
      const verify = values.events / ((performance.now() - t) / 1000);
      check(report.ok && report.problems.length === 0, `verify found problems in an untouched trail: ${JSON.stringify(report.problems.slice(0, 3))}`);
      check(report.verified === values.events && report.chains === values.chains, `verify checked ${report.verified} events in ${report.chains} chains, expected ${values.events} in ${values.chains}`);
      rates.plain.push(plain);
      rates.verify.push(verify);
      rates.ratio.push(verify / plain);
      log(`round ${round}: plain read ${int(plain)} rows/s, verify ${int(verify)} events/s`);
    }
    // And it must still see a change: one event altered after the timed rounds.
    await pg.query(`UPDATE audit_events SET "userId" = 'mallory' WHERE id = (SELECT id FROM audit_events ORDER BY "chainId", seq OFFSET ${Math.floor(values.events / 2)} LIMIT 1)`);
    const tampered = await verifyAuditTrail({ store, key: KEY });
    check(!tampered.ok && tampered.problems.length === 1 && tampered.problems[0]!.kind === "altered", `verify missed an altered event: ${JSON.stringify(tampered.problems)}`);

    const verifyRate = median(rates.verify);
    const loadAverage = (await import("node:os")).loadavg().map((n) => n.toFixed(2)).join(", ");
    console.log(
      [
        "## Verify on PostgreSQL: `bench/verify.ts`",
        "",
        `${int(values.events)} signed events in ${values.chains} chains (a checkpoint every ${CHECKPOINT_EVERY}), live table, loaded with COPY; medians of ${values.rounds} interleaved round(s).${smoke ? " SMOKE RUN: not meant to be read." : ""}`,
        "",
        markdownTable(
          ["read", "events/s", "vs plain read"],
          [
            ["plain read of the same pages (`readChainPage`, no hashing)", int(median(rates.plain)), "1.00"],
            ["`verifyAuditTrail()` (hash, links, checkpoints)", int(verifyRate), ratio(median(rates.ratio))],
          ],
          ["left", "right", "right"],
        ),
        "",
        `Goal ≥ ${int(GOAL_PER_SECOND)} events/s: **${verifyRate >= GOAL_PER_SECOND ? "met" : "missed"}** (${int(verifyRate)}). Load average at the end: ${loadAverage}.`,
        "",
        `- Machine: ${machineLine()}`,
        ...(await postgresLines(pg)).map((line) => `- ${line}`),
        `- Command: \`${command}\``,
      ].join("\n"),
    );
  } finally {
    await pg.end().catch(() => undefined);
    await db.close();
  }
}

runBenchmark(NAME, main);
