// Goals a benchmark reports, met or missed, with the same-run anchor beside the figure.
// Each benchmark prints its goals inside its own Markdown section (`goalLine`) and, when
// `npm run bench` runs it, also hands them over as JSON lines in the file named by
// AUDIT_BENCH_GOALS, from which bench/run.ts writes the summary at the top of BENCHMARKS.md.
import { appendFileSync } from "node:fs";

import { markdownTable } from "./markdown-table";

/** The environment variable naming the file a benchmark appends its goals to (set by bench/run.ts). */
export const GOALS_FILE_ENV = "AUDIT_BENCH_GOALS";

/** One goal's outcome in one run. */
export interface GoalResult {
  /** Which issue set it, e.g. `"#15"`. */
  issue: string;
  /** What is promised, e.g. `"buffered writer via COPY >= 0.8 of raw COPY, batches of 100"`. */
  goal: string;
  /** What was measured, with its unit, e.g. `"0.84 of COPY (21,400 events/s)"`. */
  measured: string;
  /** The same-run anchor it is read against, e.g. `"raw COPY 25,500 events/s"`; `""` for an absolute goal. */
  anchor: string;
  met: boolean;
}

/** `met` or `MISSED`, as every report prints it. */
export const verdict = (met: boolean): string => (met ? "met" : "MISSED");

/**
 * Records a goal: returns its line for the benchmark's own section (`goal: measured (anchor): met`)
 * and, under `npm run bench`, appends it to the run's goals file.
 */
export function goalLine(result: GoalResult): string {
  const file = process.env[GOALS_FILE_ENV];
  if (file) appendFileSync(file, `${JSON.stringify(result)}\n`);
  const anchor = result.anchor === "" ? "" : `; anchor in the same run: ${result.anchor}`;
  return `- Goal (${result.issue}) ${result.goal}: **${verdict(result.met)}**, measured ${result.measured}${anchor}.`;
}

/** Parses a goals file's lines (as `goalLine` writes them). */
export function parseGoals(text: string): GoalResult[] {
  return text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as GoalResult);
}

/** A goal with the benchmark that reported it (`"writer"` for `npm run bench:writer`). */
export type BenchmarkGoal = GoalResult & { bench: string };

/**
 * The "Goals of this run" section at the top of BENCHMARKS.md: how many were met, then one
 * row per goal with its figure, its same-run anchor and the benchmark that measured it.
 * `""` when no goal was reported.
 */
export function goalsSection(goals: readonly BenchmarkGoal[]): string {
  if (goals.length === 0) return "";
  const cell = (text: string) => text.replaceAll("|", "\\|");
  const met = goals.filter((goal) => goal.met).length;
  return [
    "## Goals of this run",
    "",
    `${met} of ${goals.length} goals met. Each is reported (never asserted) by the benchmark named beside it and read against the anchor measured in the same run; its section below gives the detail.`,
    "",
    markdownTable(
      ["issue", "goal", "measured", "anchor (same run)", "verdict", "benchmark"],
      goals.map((goal) => [goal.issue, cell(goal.goal), cell(goal.measured), cell(goal.anchor || "–"), verdict(goal.met), `\`npm run bench:${goal.bench}\``]),
      ["left", "left", "left", "left", "left", "left"],
    ),
    "",
  ].join("\n");
}
