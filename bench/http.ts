// HTTP overhead: the same Express, Koa and Fastify app, bare, with the audit middleware, with one
// audit event per request, and with pino-http as the familiar peer, under autocannon.
// Server and load generator run in separate processes, each pinned to its own core where
// `taskset` exists; rounds interleave every variant on every Node; figures are medians
// and ratios to bare measured in the same round.
//
//   npm run bench:http [-- --rounds 5 --seconds 5 --nodes 20,24 --frameworks express,koa,fastify]
//
// Needs PostgreSQL (AUDIT_TEST_PG_URL or postgres@127.0.0.1:5432) and the generated
// clients (`npm run db:generate`). Exits 1 when a request failed or the events written
// differ from the requests served; goals are reported, not asserted.
import { execFileSync, spawn } from "node:child_process";
import os from "node:os";
import path from "node:path";

import { Client as PgClient } from "pg";

import { openDatabase } from "../test/support/databases";
import { benchOptions } from "./lib/cli-options";
import { cost, int, ms, percent, ratio } from "./lib/format";
import { goalLine } from "./lib/goals";
import { machineLine, postgresLines } from "./lib/machine";
import { markdownTable } from "./lib/markdown-table";
import { packageVersion } from "./lib/package-version";
import { check, log as logLine, runBenchmark } from "./lib/sanity";
import { median } from "./lib/stats";
import { generateLoad, type LoadOptions, type LoadResult } from "./http/load";
import { postgresCpuMicros } from "./lib/postgres-cpu";
import { compiledServer } from "./http/compiled-server";
import { nodeRuntime, type NodeRuntime } from "./http/node-runtimes";
import { FRAMEWORK_NAMES, FRAMEWORKS, VARIANT_NAMES, VARIANTS, variantLabel, type Framework, type ServerMessage, type Variant } from "./http/variants";

const NAME = "http";
const ROOT = path.resolve(__dirname, "..");
const START_TIMEOUT_MS = 60_000;
const GOALS = { auditCost: 0.15, auditShareOfPino: 1 / 3, bufferedEventCost: 0.25, cpuPerEventMicros: 10 };
/** The Node major the buffered-event goal is set on; the others are reported. */
const GOAL_NODE = "24";
/** The variants whose server CPU per event is reported: one buffered event per request. */
const BUFFERED_EVENT_VARIANTS = ["audit-buffered-event", "request-events-buffered"] as const;

const log = (line: string) => logLine(NAME, line);

const invocation = benchOptions(NAME, {
  rounds: { type: "number", full: 5, smoke: 1, integer: true, help: "interleaved rounds" },
  seconds: { type: "number", full: 5, smoke: 1, integer: true, help: "measured seconds per run" },
  warmup: { type: "number", full: 2, smoke: 0, integer: true, zeroAllowed: true, help: "unmeasured seconds of load before each run" },
  connections: { type: "number", full: 100, smoke: 10, integer: true, help: "concurrent connections: enough to keep the server busy, so req/s measures its work, not round trips" },
  rate: { type: "number", full: 0, smoke: 0, integer: true, zeroAllowed: true, help: "requests per second from all connections (autocannon -R); 0: as fast as the server answers (saturating). A rate the server keeps up with measures latency without queueing" },
  nodes: { type: "list", full: ["20", "24"], smoke: ["20", "24"], help: "Node major versions to serve on" },
  frameworks: { type: "list", full: FRAMEWORKS, smoke: FRAMEWORKS, choices: FRAMEWORKS, help: "frameworks" },
  variants: { type: "list", full: VARIANT_NAMES, smoke: VARIANT_NAMES, choices: VARIANT_NAMES, help: "variants" },
  "cpu-prof": { type: "string", help: "a folder: each server process writes a V8 CPU profile there (node --cpu-prof), named <node>-<framework>-<variant>-<round>.cpuprofile, to open in Chrome DevTools" },
});

type Stopped = Extract<ServerMessage, { type: "stopped" }>;

interface Server {
  port: number;
  /** Flushes what the warm-up buffered; the server's CPU is counted from here. */
  mark(): Promise<void>;
  stop(): Promise<Stopped>;
}

/** `taskset -c <cpu>` when taskset exists and there are two cores to share out. */
function pinning(): { server: string[]; load: string[]; note: string } {
  let hasTaskset = false;
  try {
    execFileSync("taskset", ["-V"], { stdio: "ignore" });
    hasTaskset = true;
  } catch {
    hasTaskset = false;
  }
  if (!hasTaskset || os.cpus().length < 2) {
    return { server: [], load: [], note: `not pinned (${hasTaskset ? "fewer than 2 CPUs" : "no taskset"})` };
  }
  return { server: ["taskset", "-c", "0"], load: ["taskset", "-c", "1"], note: "server on CPU 0, autocannon on CPU 1 (`taskset -c`); PostgreSQL not pinned" };
}

async function startServer(serverJs: string, runtime: NodeRuntime, framework: Framework, variant: Variant, dbUrl: string, pin: string[], profile?: { dir: string; name: string }): Promise<Server> {
  const profiling = profile === undefined ? [] : ["--cpu-prof", "--cpu-prof-dir", profile.dir, "--cpu-prof-name", `${profile.name}.cpuprofile`];
  const command = [...pin, runtime.path, ...profiling, serverJs, framework, variant];
  const child = spawn(command[0]!, command.slice(1), {
    cwd: ROOT,
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    env: { ...process.env, NODE_ENV: "production", AUDIT_BENCH_DB_URL: dbUrl },
  });
  const what = `${runtime.label} ${framework} ${variant} server`;
  // "close" comes after the last IPC message is delivered, unlike "exit".
  const closed = new Promise<void>((resolve) => child.once("close", () => resolve()));
  const early = closed.then((): never => {
    throw new Error(`the ${what} exited (${child.signalCode ?? `code ${child.exitCode}`}) before it reported`);
  });
  early.catch(() => undefined);
  const next = <T extends ServerMessage["type"]>(type: T) =>
    Promise.race([
      new Promise<Extract<ServerMessage, { type: T }>>((resolve) => {
        const onMessage = (message: ServerMessage) => {
          if (message.type !== type) return;
          child.off("message", onMessage);
          resolve(message as Extract<ServerMessage, { type: T }>);
        };
        child.on("message", onMessage);
      }),
      early,
    ]);
  const timeout = setTimeout(() => child.kill("SIGKILL"), START_TIMEOUT_MS);
  try {
    const ready = await next("ready");
    check(ready.node === runtime.version, `the ${what} runs on ${ready.node}, not ${runtime.version}`);
    return {
      port: ready.port,
      async mark() {
        const marked = next("marked");
        child.send({ type: "mark" });
        await marked;
      },
      async stop() {
        const stopped = next("stopped");
        child.send({ type: "stop" });
        const result = await stopped;
        await closed;
        return result;
      },
    };
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  } finally {
    clearTimeout(timeout);
  }
}

interface Sample extends LoadResult {
  round: number;
  /** The server's CPU per request served in the measured load, flush included (µs). */
  cpuPerRequest: number;
  /** PostgreSQL's CPU per request served over the same span (µs), when its processes can be seen (see postgresCpuMicros). */
  pgCpuPerRequest: number | undefined;
  /** The system (kernel) part of `cpuPerRequest` (µs). */
  systemPerRequest: number;
  /** The garbage collector's main-thread pauses per request over the same span (µs). */
  gcPerRequest: number;
  /** The server's event-loop utilization under the measured load (0-1; see `busy` in variants.ts). */
  busy: number;
}

async function main(): Promise<void> {
  const { smoke, values, command } = invocation;
  const frameworks = values.frameworks as Framework[];
  const runtimes = values.nodes.map((major) => {
    if (!/^\d+$/.test(major)) throw new Error(`--nodes takes Node major versions such as 20,24 (got ${major})`);
    return nodeRuntime(Number(major), log);
  });
  const variants = values.variants as Variant[];
  check(variants.includes("bare"), "the variants must include bare: every ratio is to it");
  const pin = pinning();
  log("compiling the server process with tsc (bench/http/tsconfig.server.json)");
  const serverJs = compiledServer();
  const load = (seconds: number): LoadOptions => ({ connections: values.connections, seconds, rate: values.rate, pin: pin.load });

  const db = await openDatabase("postgresql", { name: "bench_http" });
  const pg = new PgClient({ connectionString: db.url });
  const samples = new Map<string, Sample[]>();
  const key = (runtime: NodeRuntime, framework: Framework, variant: Variant) => `${runtime.label}|${framework}|${variant}`;
  try {
    await pg.connect();
    /** One probe request checked for its body, then the warm-up and the measured load. */
    const drive = async (server: Server, url: string, variant: Variant, label: string) => {
      const probe = await fetch(url);
      const body = (await probe.json()) as { id?: string; eventId?: string };
      check(probe.status === 200 && body.id === "42", `${label}: GET ${url} answered ${probe.status} ${JSON.stringify(body)}`);
      check((body.eventId !== undefined) === (VARIANTS[variant].event === "handler"), `${label}: the answer ${body.eventId === undefined ? "lacks" : "has"} an event id`);
      const warm = values.warmup > 0 ? await generateLoad(url, load(values.warmup), `${label} (warm-up)`) : undefined;
      await server.mark();
      const pgAtMark = postgresCpuMicros();
      return { warm, pgAtMark, measured: await generateLoad(url, load(values.seconds), label) };
    };
    /**
     * PostgreSQL's CPU since `atMark`, read once the server's connections have ended (their
     * backends' time then counts in the postmaster's reaped time): the flush at close included.
     */
    const postgresCpuSince = async (atMark: number): Promise<number | undefined> => {
      for (let tries = 0; tries < 50; tries++) {
        const { rows } = await pg.query<{ n: string }>("SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()");
        if (rows[0]!.n === "0") break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const now = postgresCpuMicros();
      return now === undefined ? undefined : now - atMark;
    };
    const countRows = async () => Number((await pg.query<{ n: string }>("SELECT count(DISTINCT id) AS n FROM audit_events")).rows[0]!.n);
    for (let round = 1; round <= values.rounds; round++) {
      for (const runtime of runtimes) {
        for (const framework of frameworks) {
          // Rotating the order each round keeps any one variant from always running first.
          const order = variants.map((_, i) => variants[(i + round - 1) % variants.length]!);
          for (const variant of order) {
            const label = `round ${round}, ${runtime.label}, ${framework}, ${variant}`;
            await pg.query("TRUNCATE audit_events");
            const profile = values["cpu-prof"] === undefined ? undefined : { dir: values["cpu-prof"], name: `${runtime.label}-${framework}-${variant}-${round}`.replace(/[^\w.-]+/g, "_") };
            const server = await startServer(serverJs, runtime, framework, variant, db.url, pin.server, profile);
            let stopped: Stopped;
            let answered: { warm: LoadResult | undefined; pgAtMark: number | undefined; measured: LoadResult };
            try {
              answered = await drive(server, `http://127.0.0.1:${server.port}/orders/42`, variant, label);
            } finally {
              stopped = await server.stop();
            }
            const { warm, pgAtMark, measured } = answered;
            const pgCpu = pgAtMark === undefined ? undefined : await postgresCpuSince(pgAtMark);
            check(stopped.failed === 0, `${label}: ${stopped.failed} request(s) failed in the server, the first with: ${stopped.firstError}`);
            const answers = 1 + (warm?.ok ?? 0) + measured.ok;
            // autocannon drops the requests in flight when its time is up; the server may have served them.
            const inFlight = stopped.handled - answers;
            check(inFlight >= 0 && inFlight <= 2 * values.connections, `${label}: the server served ${stopped.handled} requests, autocannon counted ${answers} answers`);
            const rows = await countRows();
            const expected = VARIANTS[variant].writes === undefined ? 0 : stopped.handled;
            check(rows === expected, `${label}: audit_events holds ${rows} event(s) after ${stopped.handled} requests; expected ${expected}`);
            check(stopped.measuredHandled > 0, `${label}: the server handled no request after the warm-up`);
            const cpuPerRequest = stopped.cpuMicros / stopped.measuredHandled;
            const pgCpuPerRequest = pgCpu === undefined ? undefined : pgCpu / stopped.measuredHandled;
            samples.set(key(runtime, framework, variant), [...(samples.get(key(runtime, framework, variant)) ?? []), { ...measured, round, cpuPerRequest, pgCpuPerRequest, systemPerRequest: stopped.systemMicros / stopped.measuredHandled, gcPerRequest: stopped.gcMicros / stopped.measuredHandled, busy: stopped.busy }]);
            log(
              `${label}: ${int(measured.requestsPerSecond)} req/s, p50 ${ms(measured.p50)} ms, p99 ${ms(measured.p99)} ms, server CPU ${cpuPerRequest.toFixed(1)} µs/request (system ${(stopped.systemMicros / stopped.measuredHandled).toFixed(1)}, GC ${(stopped.gcMicros / stopped.measuredHandled).toFixed(1)}), server busy ${percent(stopped.busy)}` +
                `${pgCpuPerRequest === undefined ? "" : `, PostgreSQL CPU ${pgCpuPerRequest.toFixed(1)} µs/request`}` +
                `${expected > 0 ? `, ${int(rows)} events stored` : ""}`,
            );
          }
        }
      }
    }
    const pgLines = await postgresLines(pg);
    console.log(report({ runtimes, frameworks, variants, samples, key, smoke, command, pin: pin.note, pgLines, values }));
  } finally {
    await pg.end().catch(() => undefined);
    await db.close();
  }
}

interface ReportInput {
  runtimes: NodeRuntime[];
  frameworks: Framework[];
  variants: Variant[];
  samples: Map<string, Sample[]>;
  key: (runtime: NodeRuntime, framework: Framework, variant: Variant) => string;
  smoke: boolean;
  command: string;
  pin: string;
  pgLines: string[];
  values: { rounds: number; seconds: number; warmup: number; connections: number; rate: number };
}

interface Figures {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  /** Median over rounds of (this variant's req/s / bare's req/s in the same round). */
  ratio: number;
  /**
   * Median over rounds of (bare's server CPU per request / this variant's, same round):
   * the ratio of req/s the two would serve with the server's core as their only bound,
   * whatever bounded them here (the load generator, PostgreSQL on the same cores).
   */
  cpuRatio: number;
  /** Median over rounds of the server's event-loop utilization (0-1). */
  busy: number;
}

function figures(input: ReportInput, runtime: NodeRuntime, framework: Framework, variant: Variant): Figures | undefined {
  const runs = input.samples.get(input.key(runtime, framework, variant));
  const bare = input.samples.get(input.key(runtime, framework, "bare"));
  if (runs === undefined || bare === undefined) return undefined;
  return {
    requestsPerSecond: median(runs.map((r) => r.requestsPerSecond)),
    p50: median(runs.map((r) => r.p50)),
    p99: median(runs.map((r) => r.p99)),
    ratio: median(runs.map((r) => r.requestsPerSecond / bare.find((b) => b.round === r.round)!.requestsPerSecond)),
    cpuRatio: median(runs.map((r) => bare.find((b) => b.round === r.round)!.cpuPerRequest / r.cpuPerRequest)),
    busy: median(runs.map((r) => r.busy)),
  };
}

function report(input: ReportInput): string {
  const { runtimes, frameworks, values } = input;
  const lines = [
    `## HTTP overhead: ${frameworks.map((f) => FRAMEWORK_NAMES[f]).join(", ")}, ${runtimes.map((r) => r.label).join(" and ")}${input.smoke ? " (smoke run: figures not meant to be read)" : ""}`,
    "",
    `Requests per second and latency under autocannon (${values.connections} connections, ${values.rate > 0 ? `${values.rate} requests/s in all` : "as fast as the server answers"}, ${values.seconds} s measured after ${values.warmup} s of warm-up, ` +
      `medians of ${values.rounds} interleaved round(s)); "vs bare": median over rounds of req/s divided by bare req/s of the same round, Node and framework, with its cost in throughput. ` +
      `"busy": the server's event-loop utilization under the load (Node's \`performance.eventLoopUtilization()\`); well below 100%, the server waited for requests, so its req/s was bounded by the load generator ` +
      `(and PostgreSQL, which shares the cores), not by its own work, and "vs bare" mixes the variant's cost with that bound: "CPU-bound" is then the ratio to read, ` +
      `bare's server CPU per request divided by the variant's (median over rounds), the req/s ratio the two would have with the server's core as their only bound.`,
  ];
  for (const framework of frameworks) {
    const headers = ["variant", ...runtimes.flatMap((r) => [`${r.label} req/s`, "p50 ms", "p99 ms", "busy", "vs bare", "CPU-bound"])];
    const rows = input.variants.map((variant) => [
      variantLabel(variant, framework),
      ...runtimes.flatMap((runtime) => {
        const f = figures(input, runtime, framework, variant);
        if (f === undefined) return ["–", "–", "–", "–", "–", "–"];
        const vsBare = (r: number) => (variant === "bare" ? "1.00" : `${ratio(r)} (${cost(r)})`);
        return [int(f.requestsPerSecond), ms(f.p50), ms(f.p99), percent(f.busy), vsBare(f.ratio), vsBare(f.cpuRatio)];
      }),
    ]);
    lines.push("", `### ${FRAMEWORK_NAMES[framework]} ${packageVersion(framework)}`, "", markdownTable(headers, rows));
  }
  lines.push("", goals(input), "", bufferedEventGoals(input), "", cpuPerEvent(input), "", requestEventLatency(input), "", ...details(input));
  return lines.join("\n");
}

function goals(input: ReportInput): string {
  const verdict = (met: boolean | undefined) => (met === undefined ? "n/a" : met ? "met" : "MISSED");
  const rows: string[][] = [];
  for (const runtime of input.runtimes) {
    for (const framework of input.frameworks) {
      const audit = figures(input, runtime, framework, "audit");
      const pino = figures(input, runtime, framework, "pino");
      const event = figures(input, runtime, framework, "audit-buffered-event");
      const auditCost = audit && 1 - audit.ratio;
      const pinoCost = pino && 1 - pino.ratio;
      const share = auditCost !== undefined && pinoCost !== undefined && pinoCost > 0 ? auditCost / pinoCost : undefined;
      const eventCost = event && 1 - event.ratio;
      const pct = (x: number | undefined) => (x === undefined ? "–" : `${(x * 100).toFixed(0)}%`);
      rows.push([
        `${runtime.label}, ${FRAMEWORK_NAMES[framework]}${runtime.version.startsWith("v20.") && framework === "express" ? " (the goals' setting)" : ""}`,
        `${pct(auditCost)}: ${verdict(auditCost === undefined ? undefined : auditCost <= GOALS.auditCost)}`,
        pct(pinoCost),
        `${share === undefined ? "–" : share.toFixed(2)}: ${verdict(share === undefined ? undefined : share <= GOALS.auditShareOfPino)}`,
        `${pct(eventCost)}: ${verdict(eventCost === undefined ? undefined : eventCost <= GOALS.bufferedEventCost)}`,
      ]);
    }
  }
  return [
    `Goals (reported, not asserted; set for Express on Node 20, shown for every setting): the middleware alone costs at most ${GOALS.auditCost * 100}% of bare req/s ` +
      `and at most a third of pino-http's cost; with one buffered event per request, at most ${GOALS.bufferedEventCost * 100}%.`,
    "",
    markdownTable(["setting", "middleware cost (≤ 15%)", "pino-http cost", "middleware / pino-http cost (≤ 0.33)", "buffered event cost (≤ 25%)"], rows),
  ].join("\n");
}

/**
 * The goal of issue #15 as one line per framework: one buffered `createEvent` per request
 * costs at most 25% of bare req/s (same round), set on Node 24, reported on the others.
 */
function bufferedEventGoals(input: ReportInput): string {
  if (!input.variants.includes("audit-buffered-event")) return "Buffered event goal: not measured (run the audit-buffered-event variant).";
  const lines = [`Goal (issue #15): one buffered \`createEvent\` per request costs at most ${GOALS.bufferedEventCost * 100}% of bare req/s (median of the rounds' ratios), on Node ${GOAL_NODE}; other Nodes reported.`, ""];
  for (const runtime of input.runtimes) {
    for (const framework of input.frameworks) {
      const event = figures(input, runtime, framework, "audit-buffered-event");
      if (event === undefined) continue;
      const eventCost = 1 - event.ratio;
      const met = eventCost <= GOALS.bufferedEventCost;
      const measured =
        `costs ${(eventCost * 100).toFixed(0)}% of bare req/s (ratio ${ratio(event.ratio)}, ${int(event.requestsPerSecond)} req/s, server busy ${percent(event.busy)}); ` +
        `CPU-bound ${(100 - event.cpuRatio * 100).toFixed(0)}% (ratio ${ratio(event.cpuRatio)})`;
      if (runtime.label === `Node ${GOAL_NODE}`) {
        lines.push(
          goalLine({
            issue: "#15",
            goal: `one buffered \`createEvent\` per request costs <= ${GOALS.bufferedEventCost * 100}% of bare req/s, ${FRAMEWORK_NAMES[framework]}, ${runtime.label}`,
            measured,
            anchor: `bare ${FRAMEWORK_NAMES[framework]} ${int(figures(input, runtime, framework, "bare")?.requestsPerSecond ?? NaN)} req/s, server busy ${percent(figures(input, runtime, framework, "bare")?.busy ?? NaN)}`,
            met,
          }),
        );
      } else {
        lines.push(`- ${FRAMEWORK_NAMES[framework]}, ${runtime.label}: ${measured}; reported (${met ? "met" : "MISSED"} by the Node ${GOAL_NODE} goal)`);
      }
    }
  }
  return lines.join("\n");
}

/**
 * Median over rounds of (this variant's server CPU per request - bare's in the same
 * round): what one event costs the server process, its request path (middleware
 * included) and its share of the flush, whatever the database's own work.
 */
function eventCpu(
  input: ReportInput,
  runtime: NodeRuntime,
  framework: Framework,
  variant: Variant,
): { perEvent: number; systemPerEvent: number; gcPerEvent: number; perRequest: number; bare: number; postgresPerEvent: number | undefined } | undefined {
  const runs = input.samples.get(input.key(runtime, framework, variant));
  const bare = input.samples.get(input.key(runtime, framework, "bare"));
  if (runs === undefined || bare === undefined) return undefined;
  /** Median over rounds of `of(run) - of(bare's run of the same round)`, or undefined when no round has both. */
  const excess = (of: (sample: Sample) => number | undefined): number | undefined => {
    const differences = runs.flatMap((r) => {
      const b = bare.find((x) => x.round === r.round);
      const [mine, bares] = [of(r), b === undefined ? undefined : of(b)];
      return mine === undefined || bares === undefined ? [] : [mine - bares];
    });
    return differences.length === 0 ? undefined : median(differences);
  };
  const perEvent = excess((s) => s.cpuPerRequest);
  if (perEvent === undefined) return undefined;
  return {
    perEvent,
    systemPerEvent: excess((s) => s.systemPerRequest)!,
    gcPerEvent: excess((s) => s.gcPerRequest)!,
    perRequest: median(runs.map((r) => r.cpuPerRequest)),
    bare: median(bare.map((r) => r.cpuPerRequest)),
    postgresPerEvent: excess((s) => s.pgCpuPerRequest),
  };
}

function cpuPerEvent(input: ReportInput): string {
  const variants = BUFFERED_EVENT_VARIANTS.filter((v) => input.variants.includes(v));
  if (variants.length === 0) return "Server CPU per event: not measured (run a buffered event variant).";
  const goals: string[] = [];
  const rows = input.runtimes.flatMap((runtime) =>
    input.frameworks.flatMap((framework) =>
      variants.flatMap((variant) => {
        const cpu = eventCpu(input, runtime, framework, variant);
        if (cpu === undefined) return [];
        const setting = `${runtime.label}, ${FRAMEWORK_NAMES[framework]}, ${VARIANTS[variant].event === "handler" ? "`createEvent` in the handler" : "`requestEvents`"}`;
        const met = cpu.perEvent <= GOALS.cpuPerEventMicros;
        if (runtime.label === `Node ${GOAL_NODE}` && VARIANTS[variant].event === "handler") {
          goals.push(
            goalLine({
              issue: "#15",
              goal: `server CPU per buffered event <= ${GOALS.cpuPerEventMicros} µs (request path and its share of the flush), ${FRAMEWORK_NAMES[framework]}, ${runtime.label}`,
              measured: `${cpu.perEvent.toFixed(1)} µs (${cpu.perRequest.toFixed(1)} µs a request with it)`,
              anchor: `bare ${FRAMEWORK_NAMES[framework]} ${cpu.bare.toFixed(1)} µs a request`,
              met,
            }),
          );
        }
        return [
          [
            setting,
            cpu.bare.toFixed(1),
            cpu.perRequest.toFixed(1),
            `${cpu.perEvent.toFixed(1)}: ${met ? "met" : "MISSED"}`,
            cpu.systemPerEvent.toFixed(1),
            cpu.gcPerEvent.toFixed(1),
            cpu.postgresPerEvent === undefined ? "–" : cpu.postgresPerEvent.toFixed(1),
          ],
        ];
      }),
    ),
  );
  return [
    `Server CPU per event (issue #15; what a user whose database runs elsewhere pays): the server process's \`process.cpuUsage()\` (user + system) from the end of the warm-up ` +
      `(its buffered events flushed first) to the end of the close that flushes what the measured load buffered, divided by the requests it served then (one event each); ` +
      `per event: median over rounds of that minus bare's in the same round, so middleware, event and its share of the flush. Here PostgreSQL's own insert work runs on the same two cores, which is why req/s alone overstates it: ` +
      `its CPU per event is the last column (every \`postgres\` process's user + system time from /proc over the same span, the exited backends' included, minus bare's), which the machine pays beside the server's for each event. ` +
      `"of which system": the kernel's part of the server's per event (socket writes and reads, mostly); "GC pauses": the garbage collector's main-thread pauses per event (\`gc\` performance entries, wall time, minus bare's), the share that events held in memory until their flush cost.`,
    "",
    markdownTable(["setting", "bare µs/request", "with the event µs/request", `µs per event (goal <= ${GOALS.cpuPerEventMicros})`, "of which system", "GC pauses µs per event", "PostgreSQL µs per event"], rows),
    ...(goals.length > 0 ? ["", ...goals] : []),
  ].join("\n");
}

/**
 * Median over rounds of (this variant's latency percentile / the middleware-only
 * variant's in the same round): how much `requestEvents` adds to what a client waits.
 */
function latencyRatio(input: ReportInput, runtime: NodeRuntime, framework: Framework, variant: Variant, percentile: "p50" | "p99"): number | undefined {
  const runs = input.samples.get(input.key(runtime, framework, variant));
  const base = input.samples.get(input.key(runtime, framework, "audit"));
  if (runs === undefined || base === undefined) return undefined;
  const ratios = runs.flatMap((r) => {
    const b = base.find((x) => x.round === r.round);
    return b === undefined || b[percentile] === 0 ? [] : [r[percentile] / b[percentile]];
  });
  return ratios.length === 0 ? undefined : median(ratios);
}

function requestEventLatency(input: ReportInput): string {
  const variants = (["request-events-buffered", "request-events-sync"] as const).filter((v) => input.variants.includes(v));
  if (variants.length === 0 || !input.variants.includes("audit")) return "requestEvents latency: not measured (run the audit and request-events variants).";
  const shown = (x: number | undefined) => (x === undefined ? "–" : `${x.toFixed(2)}×`);
  const rows = input.runtimes.flatMap((runtime) =>
    input.frameworks.flatMap((framework) =>
      variants.map((variant) => [
        `${runtime.label}, ${FRAMEWORK_NAMES[framework]}, ${VARIANTS[variant].writes}`,
        shown(latencyRatio(input, runtime, framework, variant, "p50")),
        shown(latencyRatio(input, runtime, framework, variant, "p99")),
      ]),
    ),
  );
  return [
    "requestEvents (issue #14): each request's event is written after its response is sent, so its latency should match the middleware alone's " +
      "(ratios near 1.00, within the noise of the rounds). Under a saturating load (no `--rate`) the writing still competes for the server's one core, " +
      "so its CPU cost shows as queueing in these latencies and in req/s above; at a `--rate` the server keeps up with, the latencies show the response's own path " +
      "(the sync rows: a database round trip per request, off the response's path):",
    "",
    markdownTable(["setting", "p50 latency vs middleware only", "p99 latency vs middleware only"], rows),
  ].join("\n");
}

function details(input: ReportInput): string[] {
  return [
    "Each run: a fresh server process (`NODE_ENV=production`, plain `node` on the server compiled by `tsc`, as users run it) serving `GET /orders/42`: an event-loop turn " +
      "standing in for a database read, two more awaits, a JSON answer of about 120 bytes; the handler-event variants call " +
      "`currentAuditContext().createEvent()` after the awaits, the `requestEvents` variants let the middleware write one event per request after its response, " +
      "into PostgreSQL through `prismaStore()` (buffered: `prismaStore(prisma, { pgPool })` with the `pg` Pool that `PrismaPg` uses). Checked after every run: one probe request " +
      "answered 200 with the right body; autocannon saw no error, timeout or non-2xx answer; the server failed no request and served what autocannon counted " +
      "(plus at most the requests in flight when its time ran out); `audit_events` holds exactly one event per request served in the event variants, none otherwise.",
    "",
    `- Pinning: ${input.pin}`,
    `- Machine: ${machineLine()}`,
    `- ${input.runtimes.map((r) => `${r.label}: ${r.version}`).join("; ")}`,
    `- autocannon ${packageVersion("autocannon")}, express ${packageVersion("express")}, koa ${packageVersion("koa")}, fastify ${packageVersion("fastify")}, pino ${packageVersion("pino")}, pino-http ${packageVersion("pino-http")}`,
    ...input.pgLines.map((line) => `- ${line}`),
    `- Command: \`${input.command}\``,
  ];
}

runBenchmark(NAME, main);
