// `npm run bench`: runs every benchmark of this project, one after another, and writes
// BENCHMARKS.md from their reports. A benchmark is any `bench:<name>` script in
// package.json: adding that one line registers it here. Each prints its Markdown section on
// stdout (progress on stderr) and exits non-zero when its sanity checks fail.
//
//   npm run bench                      # all of them; writes BENCHMARKS.md
//   npm run bench -- http writer       # some of them; writes .tmp/bench/BENCHMARKS.partial.md
//   npm run bench -- --smoke           # a few seconds each, no figures; CI runs this; writes .tmp/bench/BENCHMARKS.smoke.md
//   npm run bench -- http --with "http=--rounds 2 --seconds 3"   # a benchmark's own arguments (repeatable)
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";

import { Client as PgClient } from "pg";

import { GOALS_FILE_ENV, goalsSection, parseGoals, type BenchmarkGoal } from "./lib/goals";
import { machineLine } from "./lib/machine";

const ROOT = path.resolve(__dirname, "..");

/**
 * Smoke arguments of benchmarks that predate `--smoke`. Every other benchmark takes
 * `--smoke`: a few seconds, its sanity checks, no timing.
 */
const SMOKE_ARGS: Record<string, string[]> = {
  query: ["--rows", "20000", "--samples", "5"],
};

const HOW_TO_READ = `## How to read these numbers

Read the **ratios**, not the absolute figures. Every ratio compares two things measured in the
same run, on the same machine state, interleaved round by round (A, B, C, A, B, C, ...), and is
the median of the per-round ratios: "vs bare" is a variant's requests per second divided by the
bare framework's in the same round (0.87 means the variant serves 13 % fewer requests, its
cost); "vs createMany" and "vs COPY" divide a write path's events per second by Prisma
\`createMany\`'s, or by raw COPY's (the ceiling of what PostgreSQL takes), with the same events
and batch size. Absolute requests and events per second depend on the CPU, on what else the
machine runs (on a shared machine they can move by 30 % or more between runs minutes apart,
while the ratios move far less), on the disk's fsync latency
(every commit waits for it), on PostgreSQL's settings and on the Node version: compare them only
within one table. Latency percentiles are in whole milliseconds (autocannon's resolution). Goals
are reported, not asserted; sanity checks (every request succeeded, every row is in the table,
none twice) are asserted, and a benchmark whose checks fail writes no figures.`;

interface Benchmark {
  name: string;
  /** `npm run bench:<name>`'s arguments for this run. */
  args: string[];
}

function discover(): string[] {
  const scripts = (JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> }).scripts;
  return Object.keys(scripts).filter((script) => script.startsWith("bench:")).map((script) => script.slice("bench:".length));
}

/** Where a benchmark of this run appends its goals (see bench/lib/goals.ts). */
function goalsFile(name: string): string {
  return path.join(ROOT, ".tmp/bench", `goals.${name}.jsonl`);
}

function runOne(benchmark: Benchmark): Promise<{ code: number | null; report: string }> {
  const goals = goalsFile(benchmark.name);
  mkdirSync(path.dirname(goals), { recursive: true });
  rmSync(goals, { force: true });
  const args = ["run", "--silent", `bench:${benchmark.name}`, ...(benchmark.args.length > 0 ? ["--", ...benchmark.args] : [])];
  console.error(`\n== npm ${args.join(" ")}`);
  return new Promise((resolve, reject) => {
    const child = spawn("npm", args, { cwd: ROOT, stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, [GOALS_FILE_ENV]: goals } });
    let report = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (report += chunk));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, report: report.trim() }));
  });
}

/**
 * `--with "name=--rounds 2 --seconds 3"` options as each benchmark's own arguments (split on
 * spaces; a benchmark named twice gets both lists).
 *
 * @throws Error naming the expected form when an option has no `name=`.
 */
function ownArguments(options: readonly string[]): Map<string, string[]> {
  const own = new Map<string, string[]>();
  for (const option of options) {
    const match = /^([\w-]+)=(.*)$/s.exec(option);
    if (match === null) throw new Error(`--with takes name=arguments, such as --with "http=--rounds 2" (got ${JSON.stringify(option)})`);
    own.set(match[1]!, [...(own.get(match[1]!) ?? []), ...match[2]!.split(" ").filter((arg) => arg !== "")]);
  }
  return own;
}

/** Every goal the run's benchmarks reported (none for a smoke run, whose figures mean nothing). */
function collectGoals(names: readonly string[], smoke: boolean): BenchmarkGoal[] {
  if (smoke) return [];
  return names.flatMap((name) => {
    const file = goalsFile(name);
    return existsSync(file) ? parseGoals(readFileSync(file, "utf8")).map((goal) => ({ ...goal, bench: name })) : [];
  });
}

function commitLine(): string {
  const git = (...args: string[]) => execFileSync("git", args, { cwd: ROOT, encoding: "utf8" }).trim();
  try {
    const dirty = git("status", "--porcelain", "--untracked-files=no") !== "";
    return `commit ${git("rev-parse", "--short", "HEAD")}${dirty ? " plus uncommitted changes" : ""}`;
  } catch {
    return "no git checkout";
  }
}

async function postgresVersion(): Promise<string> {
  const pg = new PgClient({ connectionString: process.env.AUDIT_TEST_PG_URL || "postgresql://postgres@127.0.0.1:5432/postgres" });
  try {
    await pg.connect();
    return (await pg.query<{ server_version: string }>("SHOW server_version")).rows[0]!.server_version;
  } finally {
    await pg.end().catch(() => undefined);
  }
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { smoke: { type: "boolean" }, out: { type: "string" }, with: { type: "string", multiple: true } },
  });
  const smoke = values.smoke === true;
  const known = discover();
  const own = ownArguments(values.with ?? []);
  const unknown = [...positionals, ...own.keys()].filter((name) => !known.includes(name));
  if (unknown.length > 0) throw new Error(`no benchmark ${unknown.join(", ")}; package.json has bench:${known.join(", bench:")}`);
  const names = positionals.length > 0 ? positionals : known;
  const benchmarks = names.map((name) => ({ name, args: [...(smoke ? (SMOKE_ARGS[name] ?? ["--smoke"]) : []), ...(own.get(name) ?? [])] }));

  const sections: string[] = [];
  const failed: string[] = [];
  for (const benchmark of benchmarks) {
    const { code, report } = await runOne(benchmark);
    if (code !== 0 || report === "") failed.push(`bench:${benchmark.name} (${code !== 0 ? `exit ${code}` : "no report"})`);
    else sections.push(report);
  }
  if (failed.length > 0) {
    console.error(`\nBENCHMARKS FAILED: ${failed.join(", ")}. Nothing written; see the messages above.`);
    process.exitCode = 1;
    return;
  }
  // Only a full run of every benchmark replaces the published file.
  const partial = smoke || positionals.length > 0;
  const out = values.out ?? path.join(ROOT, partial ? `.tmp/bench/BENCHMARKS.${smoke ? "smoke" : "partial"}.md` : "BENCHMARKS.md");
  const quoted = (arg: string) => (/[\s"']/.test(arg) ? JSON.stringify(arg) : arg);
  const command = ["npm run bench", ...(process.argv.length > 2 ? ["--", ...process.argv.slice(2).map(quoted)] : [])].join(" ");
  const text = [
    "# Benchmarks",
    "",
    `Written by \`${command}\` on ${new Date().toISOString().slice(0, 16).replace("T", " ")} UTC from ${commitLine()}${smoke ? " (SMOKE RUN: the figures are not meant to be read)" : ""}.`,
    "",
    HOW_TO_READ,
    "",
    goalsSection(collectGoals(names, smoke)),
    "## Where and how",
    "",
    `- Machine: ${machineLine()}`,
    `- Node ${process.version} runs every benchmark and the load generator; the HTTP benchmark serves on the Node versions its section names.`,
    `- PostgreSQL ${await postgresVersion()} on loopback; each section lists the settings that matter to it.`,
    `- All benchmarks: \`npm run bench\` (writes this file; \`-- --smoke\` for a few seconds each, as CI runs it). One alone: ${names.map((n) => `\`npm run bench:${n}\``).join(", ")} (prints its section; \`-- --help\` lists its options).`,
    `- Every section ends with the exact command that produced it.`,
    "",
    ...sections.flatMap((section) => [section, ""]),
  ].join("\n");
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, text);
  console.error(`\nwrote ${path.relative(ROOT, out)} (${benchmarks.length} benchmark(s))`);
}

main().catch((error: unknown) => {
  console.error(`bench/run.ts: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
