// The durable acknowledgement (issue #15): how long a buffered `createEvent` with a spool
// takes to resolve, under an open-loop load at a fixed rate, beside the bare cost of the
// durable medium at the same rate in the same run.
//
//   npm run bench:durable-ack [-- --rate 5000 --seconds 4 --rounds 3 --dir /var/tmp]
//
// Each event is scheduled at a fixed time (event i at i / rate seconds) and its latency is
// measured from that time, so a writer that falls behind is charged for it (no
// coordinated omission). Needs PostgreSQL (AUDIT_TEST_PG_URL or postgres@127.0.0.1:5432)
// and Redis (AUDIT_TEST_REDIS_URL or 127.0.0.1:6379). Exits 1 when an event is missing
// from the store or stored twice.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { open } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { Client as PgClient, Pool } from "pg";
import { createClient } from "redis";

import { AuditContext, closeAudit, configureAudit, fileSpool, flushAudit, prismaStore, redisSpool, type AuditMetricsEvent, type AuditSpool } from "../src";
import { encodeSpoolLine } from "../src/writer/spool-line";
import { connectClient, openDatabase } from "../test/support/databases";
import { benchOptions } from "./lib/cli-options";
import { int, ms, ratio } from "./lib/format";
import { goalLine } from "./lib/goals";
import { machineLine, postgresLines } from "./lib/machine";
import { markdownTable } from "./lib/markdown-table";
import { check, log as logLine, runBenchmark } from "./lib/sanity";
import { sampleEvents } from "./lib/sample-events";
import { median, percentile } from "./lib/stats";

const NAME = "durable-ack";
const GOAL = { rate: 5000, p99Ms: 10 };
const log = (line: string) => logLine(NAME, line);
const REDIS_URL = process.env.AUDIT_TEST_REDIS_URL || "redis://127.0.0.1:6379";
/** Nothing listens there: the store is down for the whole run. */
const UNREACHABLE_PG = "postgresql://postgres@127.0.0.1:1/unreachable";
/** A small `compactAfterBytes`, so the steady-state compaction of the file spool runs several times a second. */
const SMALL_COMPACTION = 1024 * 1024;

const invocation = benchOptions(NAME, {
  rate: { type: "number", full: GOAL.rate, smoke: GOAL.rate, integer: true, help: "events per second, on a fixed schedule" },
  seconds: { type: "number", full: 4, smoke: 1, help: "seconds of load per run" },
  rounds: { type: "number", full: 3, smoke: 1, integer: true, help: "interleaved rounds (odd, so the median is one round's figure: with two, one stalled round decides it)" },
  dir: { type: "string", help: "where the spool files go (default: the OS temporary directory)" },
  runs: {
    type: "list",
    full: ["rawFile", "rawRedis", "fileUp", "fileUpPrisma", "fileCompacting", "fileDown", "redisUp", "redisDown"],
    smoke: ["rawFile", "rawRedis", "fileUp", "fileUpPrisma", "fileCompacting", "fileDown", "redisUp", "redisDown"],
    choices: ["rawFile", "rawRedis", "fileUp", "fileUpPrisma", "fileCompacting", "fileDown", "redisUp", "redisDown"],
    help: "which runs (a writer run needs its anchor)",
  },
});

const RUNS = {
  rawFile: "bare medium: append + `fdatasync` of the same lines to a file, group commit",
  rawRedis: "bare medium: `RPUSH` of the same lines to Redis, group commit",
  fileUp: "`fileSpool`, PostgreSQL up",
  fileUpPrisma: "`fileSpool`, PostgreSQL up, store without `pgPool` (Prisma's statement instead of COPY)",
  fileCompacting: "`fileSpool`, PostgreSQL up, `compactAfterBytes` 1 MiB (compacts several times a second)",
  fileDown: "`fileSpool`, PostgreSQL unreachable",
  redisUp: "`redisSpool`, PostgreSQL up",
  redisDown: "`redisSpool`, PostgreSQL unreachable",
} as const;
type RunName = keyof typeof RUNS;
/** Each writer run's anchor: the bare cost of its durable medium. */
const ANCHOR: Partial<Record<RunName, RunName>> = { fileUp: "rawFile", fileUpPrisma: "rawFile", fileCompacting: "rawFile", fileDown: "rawFile", redisUp: "rawRedis", redisDown: "rawRedis" };

/** Latencies (ms from each event's scheduled time to its acknowledgement) of one run. */
interface Measured {
  latencies: number[];
  /** Events acknowledged per second, from the first scheduled time to the last acknowledgement. */
  achieved: number;
  /** This process's CPU time (user + system) per event, in microseconds, over the load. */
  cpuPerEvent: number;
  /** The event loop's longest delay during the load, in ms (`monitorEventLoopDelay`, 1 ms resolution): its longest stall. */
  loopMaxMs: number;
  /** Time the event loop spent in stalls of over 10 ms, summed, in ms: what pushes acknowledgements past the goal. */
  stalledMs: number;
}

/**
 * Calls `send(i)` for event i at its scheduled time (i / rate s after the start), without
 * waiting for earlier ones, and measures each from its scheduled time to its settlement.
 */
async function openLoop(count: number, rate: number, send: (i: number) => Promise<unknown>): Promise<Measured> {
  const latencies = new Array<number>(count);
  const settled: Promise<unknown>[] = [];
  const cpu = process.cpuUsage();
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  // Stalls: gaps of over 10 ms between ticks of a 1 ms interval timer.
  let stalledMs = 0;
  let tick = performance.now();
  const ticker = setInterval(() => {
    const now = performance.now();
    if (now - tick > 10) stalledMs += now - tick;
    tick = now;
  }, 1);
  const start = performance.now() + 5;
  let next = 0;
  await new Promise<void>((done) => {
    const issue = () => {
      const now = performance.now();
      while (next < count && start + (next * 1000) / rate <= now) {
        const i = next++;
        const scheduled = start + (i * 1000) / rate;
        settled.push(send(i).then(() => void (latencies[i] = performance.now() - scheduled)));
      }
      if (next < count) setTimeout(issue, 0);
      else done();
    };
    setTimeout(issue, 5);
  });
  await Promise.all(settled);
  clearInterval(ticker);
  loop.disable();
  const used = process.cpuUsage(cpu);
  const end = Math.max(...latencies.map((latency, i) => start + (i * 1000) / rate + latency));
  return { latencies: latencies.sort((a, b) => a - b), achieved: count / ((end - start) / 1000), cpuPerEvent: (used.user + used.system) / count, loopMaxMs: loop.max / 1e6, stalledMs };
}

/** Group commit over `write`: one write at a time; lines arriving meanwhile go together in the next. */
function groupCommit(write: (lines: string[]) => Promise<void>): (line: string) => Promise<void> {
  let waiting: { line: string; done: () => void; failed: (error: unknown) => void }[] = [];
  let busy = false;
  const drain = async () => {
    busy = true;
    while (waiting.length > 0) {
      const group = waiting;
      waiting = [];
      try {
        await write(group.map((w) => w.line));
        for (const w of group) w.done();
      } catch (error) {
        for (const w of group) w.failed(error);
      }
    }
    busy = false;
  };
  return (line) =>
    new Promise<void>((done, failed) => {
      waiting.push({ line, done, failed });
      if (!busy) void drain();
    });
}

async function main(): Promise<void> {
  const { smoke, values, command } = invocation;
  const count = Math.round(values.rate * values.seconds);
  const dir = mkdtempSync(path.join(values.dir ?? os.tmpdir(), "audit-bench-durable-ack-"));
  const redisKey = `audit-events-bench:${process.pid}:durable-ack`;
  const redis = createClient({ url: REDIS_URL });
  const db = await openDatabase("postgresql", { name: "bench_durable_ack" });
  const pg = new PgClient({ connectionString: db.url });
  const deadStore = connectClient({ provider: "postgresql", url: UNREACHABLE_PG });
  // The pools a user after low latency hands to prismaStore({ pgPool }) (COPY builds one text instead of Prisma's statement).
  const pool = new Pool({ connectionString: db.url, max: 4 });
  const deadPool = new Pool({ connectionString: UNREACHABLE_PG, max: 4 });
  const loads = [os.loadavg()[0]!];
  try {
    await redis.connect();
    await pg.connect();
    const events = sampleEvents(count);
    const lines = events.map((event) => encodeSpoolLine({ ...event }));
    const context = new AuditContext({ extraData: { bench: NAME } });
    const warnings: string[] = [];
    const logger = { warn: (message: string) => void warnings.push(message), error: (message: string) => void warnings.push(message) };
    let file = 0;

    const rawFile = async (): Promise<Measured> => {
      const target = path.join(dir, `raw-${++file}.log`);
      const handle = await open(target, "a");
      try {
        const append = groupCommit(async (group) => {
          await handle.write(`${group.join("\n")}\n`);
          await handle.datasync();
        });
        const measured = await openLoop(count, values.rate, (i) => append(lines[i]!));
        check(readFileSync(target, "utf8").split("\n").length - 1 === count, `raw file: ${target} does not hold ${count} lines`);
        return measured;
      } finally {
        await handle.close();
      }
    };
    const rawRedis = async (): Promise<Measured> => {
      await redis.del(redisKey);
      const append = groupCommit(async (group) => void (await redis.rPush(redisKey, group)));
      const measured = await openLoop(count, values.rate, (i) => append(lines[i]!));
      check((await redis.lLen(redisKey)) === count, `raw Redis: ${redisKey} does not hold ${count} lines`);
      await redis.del(redisKey);
      return measured;
    };

    /**
     * Where the stalls come from, per writer run: the longest synchronous part of a store
     * write (building its batch before the first await) and the longest spool append (call
     * to durable, waits on the spool's locks included).
     */
    const probe = { storeSyncMaxMs: 0, appendMaxMs: 0, ackMaxMs: 0 };
    const probed = <T extends object>(target: T, timings: Record<string, (ms: number, sync: boolean) => void>): T =>
      new Proxy(target, {
        get(object, key, receiver) {
          const value = Reflect.get(object, key, receiver) as unknown;
          const note = timings[key as string];
          if (note === undefined || typeof value !== "function") return value;
          return (...args: unknown[]) => {
            const started = performance.now();
            const result = (value as (...a: unknown[]) => Promise<unknown>).apply(object, args);
            note(performance.now() - started, true);
            return result.finally(() => note(performance.now() - started, false));
          };
        },
      });
    const storeFor = (up: boolean, withPool = true) =>
      probed(prismaStore(up ? db.prisma : deadStore, withPool ? { pgPool: up ? pool : deadPool } : {}), {
        writeRows: (took, sync) => void (sync && (probe.storeSyncMaxMs = Math.max(probe.storeSyncMaxMs, took))),
      });
    const spoolProbed = (spool: AuditSpool) =>
      probed(spool, {
        append: (took, sync) => void (!sync && (probe.appendMaxMs = Math.max(probe.appendMaxMs, took))),
        ack: (took, sync) => void (!sync && (probe.ackMaxMs = Math.max(probe.ackMaxMs, took))),
      });

    /** A writer run: the events of `count`, acknowledged through `spool`; then every one must be stored, once. */
    const writerRun = async (label: RunName, spool: () => AuditSpool, storeUp: boolean, withPool = true): Promise<Measured> => {
      await pg.query("TRUNCATE audit_events");
      // What the writer did with the events: each spooled once, and (store up) none replayed (fed through a store failure), or it took another way.
      const did = { spooled: 0, replayed: 0 };
      const onMetrics = (event: AuditMetricsEvent) => void ((event.type === "spooled" || event.type === "replayed") && (did[event.type] += event.count));
      configureAudit({ store: storeFor(storeUp, withPool), writeMode: "buffered", spool: spoolProbed(spool()), logger, onMetrics });
      const ids = new Array<string>(count);
      let measured: Measured;
      Object.assign(probe, { storeSyncMaxMs: 0, appendMaxMs: 0, ackMaxMs: 0 });
      const warned = warnings.length;
      try {
        measured = await openLoop(count, values.rate, (i) => {
          const event = events[i]!;
          return context.createEvent({ contentType: event.contentType, objectId: event.objectId }, event.content).then((record) => void (ids[i] = record.id));
        });
        log(
          `${label}: longest synchronous store write ${ms(probe.storeSyncMaxMs)} ms, longest spool append ${ms(probe.appendMaxMs)} ms, longest spool ack ${ms(probe.ackMaxMs)} ms`,
        );
        // A failure during the load (other than the store's own, when it is down) changes what is measured: say so.
        const heard = warnings.slice(warned).filter((w) => storeUp || !/^audit-events: the store /.test(w));
        if (heard.length > 0) log(`${label}: ${heard.length} warning(s) during the load, the first: ${heard[0]!.slice(0, 300)}`);
        if (did.spooled !== count || (storeUp && did.replayed > 0)) log(`${label}: ${did.spooled} line(s) spooled and ${did.replayed} replayed for ${count} events: the writer took another way than the measured one`);
      } finally {
        await closeAudit().catch(() => undefined);
      }
      if (!storeUp) {
        // The next process, with the store up, replays what the spool kept.
        configureAudit({ store: storeFor(true, withPool), writeMode: "buffered", spool: spool(), logger });
        await flushAudit();
        await closeAudit();
      }
      configureAudit({});
      const { rows } = await pg.query<{ stored: string; distinct: string }>("SELECT count(*) AS stored, count(DISTINCT id) AS distinct FROM audit_events WHERE id = ANY($1::uuid[])", [ids]);
      const total = (await pg.query<{ n: string }>("SELECT count(*) AS n FROM audit_events")).rows[0]!.n;
      check(Number(rows[0]!.stored) === count && Number(rows[0]!.distinct) === count && Number(total) === count, `${label}: ${count} events acknowledged, ${rows[0]!.distinct} of them stored (${rows[0]!.stored} rows; ${total} in the table)`);
      return measured;
    };
    const fileSpoolAt = (options: { compactAfterBytes?: number } = {}) => {
      const target = path.join(dir, `spool-${++file}.log`);
      return () => fileSpool({ path: target, ...options });
    };
    const redisSpoolFresh = async () => {
      await redis.del([redisKey, `${redisKey}:bytes`, `${redisKey}:lock`]);
      return () => redisSpool({ url: REDIS_URL, key: redisKey });
    };
    const runs: Record<RunName, () => Promise<Measured>> = {
      rawFile,
      rawRedis,
      fileUp: () => writerRun("fileUp", fileSpoolAt(), true),
      fileUpPrisma: () => writerRun("fileUpPrisma", fileSpoolAt(), true, false),
      fileCompacting: () => writerRun("fileCompacting", fileSpoolAt({ compactAfterBytes: SMALL_COMPACTION }), true),
      fileDown: () => writerRun("fileDown", fileSpoolAt(), false),
      redisUp: async () => writerRun("redisUp", await redisSpoolFresh(), true),
      redisDown: async () => writerRun("redisDown", await redisSpoolFresh(), false),
    };
    const names = values.runs as RunName[];
    for (const name of names) check(ANCHOR[name] === undefined || names.includes(ANCHOR[name]!), `--runs: ${name} needs its anchor ${ANCHOR[name]!} in the same run`);

    // Warm-up, untimed: connects, compiles, fills the caches.
    log("warm-up");
    configureAudit({ store: storeFor(true), writeMode: "buffered", spool: fileSpoolAt()(), logger });
    await Promise.all(events.slice(0, 500).map((event) => context.createEvent({ contentType: event.contentType, objectId: event.objectId }, event.content)));
    await closeAudit();
    // The unreachable store's client too: its first query compiles, as any client's does.
    const warmSpool = fileSpoolAt();
    configureAudit({ store: storeFor(false), writeMode: "buffered", spool: warmSpool(), logger });
    await Promise.all(events.slice(0, 50).map((event) => context.createEvent({ contentType: event.contentType, objectId: event.objectId }, event.content)));
    await flushAudit();
    await closeAudit().catch(() => undefined);
    configureAudit({ store: storeFor(true), writeMode: "buffered", spool: warmSpool(), logger });
    await flushAudit();
    await closeAudit();
    configureAudit({});
    await pg.query("TRUNCATE audit_events");

    const results = new Map<RunName, Measured[]>();
    for (let round = 1; round <= values.rounds; round++) {
      const order = names.map((_, i) => names[(i + round - 1) % names.length]!);
      for (const name of order) {
        const measured = await runs[name]();
        loads.push(os.loadavg()[0]!);
        results.set(name, [...(results.get(name) ?? []), measured]);
        log(`round ${round}, ${name}: p50 ${ms(percentile(measured.latencies, 50))} ms, p99 ${ms(percentile(measured.latencies, 99))} ms, max ${ms(measured.latencies.at(-1)!)} ms, ${int(measured.achieved)} events/s, ${int(measured.cpuPerEvent)} µs CPU/event, event loop: longest stall ${ms(measured.loopMaxMs)} ms, ${ms(measured.stalledMs)} ms in stalls over 10 ms, load ${os.loadavg()[0]!.toFixed(2)}`);
      }
    }

    const stat = (name: RunName, of: (m: Measured) => number) => median((results.get(name) ?? []).map(of));
    const p99 = (name: RunName) => stat(name, (m) => percentile(m.latencies, 99));
    const rows = names.map((name) => {
      const anchor = ANCHOR[name];
      const own = p99(name);
      return [
        RUNS[name],
        ms(stat(name, (m) => percentile(m.latencies, 50))),
        ms(own),
        ms(stat(name, (m) => m.latencies.at(-1)!)),
        int(stat(name, (m) => m.achieved)),
        int(stat(name, (m) => m.cpuPerEvent)),
        ms(stat(name, (m) => m.loopMaxMs)),
        ms(stat(name, (m) => m.stalledMs)),
        anchor === undefined ? "(anchor)" : `${ms(p99(anchor))} ms (${ratio(own / p99(anchor))}x)`,
        anchor === undefined ? "–" : `${own <= GOAL.p99Ms && stat(name, (m) => m.achieved) >= values.rate * 0.95 ? "met" : "MISSED"}`,
      ];
    });
    const goals = names.flatMap((name) => {
      const anchor = ANCHOR[name];
      if (anchor === undefined) return [];
      const own = p99(name);
      const achieved = stat(name, (m) => m.achieved);
      return [
        goalLine({
          issue: "#15",
          goal: `durable acknowledgement p99 <= ${GOAL.p99Ms} ms at ${int(GOAL.rate)} events/s, ${RUNS[name]}`,
          measured: `p99 ${ms(own)} ms (p50 ${ms(stat(name, (m) => percentile(m.latencies, 50)))} ms), ${int(achieved)} events/s acknowledged`,
          anchor: `${RUNS[anchor]}: p99 ${ms(p99(anchor))} ms`,
          met: own <= GOAL.p99Ms && achieved >= values.rate * 0.95,
        }),
      ];
    });
    const lineBytes = median(lines.map((line) => Buffer.byteLength(line) + 1));
    const report = [
      `## Durable acknowledgement: buffered \`createEvent\` with a spool${smoke ? " (smoke run: figures not meant to be read)" : ""}`,
      "",
      `${int(values.rate)} events/s on a fixed schedule for ${values.seconds} s (${int(count)} events per run), medians of ${values.rounds} interleaved round(s). ` +
        "Latency runs from each event's scheduled time to its acknowledgement (the resolved `createEvent`, or the bare medium's group-committed write), so falling behind is charged. " +
        "CPU µs/event: this process's user + system time during the load (building events, spooling, feeding PostgreSQL), which a shared machine cannot inflate the way it inflates latency. " +
        `Writer runs use the defaults (\`flushIntervalMs\` 200, \`maxBatchSize\` 1000) and \`prismaStore(prisma, { pgPool })\` (COPY), as a user after low latency would, unless the row says otherwise. ` +
        "Event-loop stalls: the longest delay `monitorEventLoopDelay` saw, and the time spent in gaps of over 10 ms between ticks of a 1 ms timer. " +
        `Lines of about ${int(lineBytes)} bytes.`,
      "",
      markdownTable(["durable medium / writer", "p50 ms", "p99 ms", "max ms", "events/s acknowledged", "CPU µs/event", "longest event-loop stall ms", "ms in stalls > 10 ms", "anchor p99 (ratio)", `goal p99 <= ${GOAL.p99Ms} ms at ${int(GOAL.rate)} events/s`], rows),
      "",
      ...goals,
      "",
      "Checked after every writer run: every acknowledged event is in `audit_events`, once, and nothing else is; with PostgreSQL unreachable, after a second writer (the next process) replayed the spool.",
      `Compaction: \`compactAfterBytes\` 1 MiB rewrites the file about every ${int(SMALL_COMPACTION / lineBytes)} events; the default (64 MiB) about every ${int((64 * 1024 * 1024) / lineBytes)}.`,
      "",
      `- Machine: ${machineLine()}; load average (1 min) ${loads.map((l) => l.toFixed(2)).join(", ")} (before the runs, then after each)`,
      `- Spool directory: ${dir}; Redis at ${REDIS_URL}`,
      `- Node ${process.version}`,
      ...(await postgresLines(pg)).map((line) => `- ${line}`),
      `- Command: \`${command}\``,
    ];
    console.log(report.join("\n"));
  } finally {
    await redis.del([redisKey, `${redisKey}:bytes`, `${redisKey}:lock`]).catch(() => undefined);
    await redis.close().catch(() => undefined);
    await pg.end().catch(() => undefined);
    await Promise.allSettled([pool.end(), deadPool.end()]);
    await (deadStore as unknown as { $disconnect(): Promise<void> }).$disconnect().catch(() => undefined);
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

runBenchmark(NAME, main);
