import { readFileSync } from "node:fs";
import path from "node:path";

import { InvalidArgumentError, Option, type Command } from "commander";

import { checkpointsByChain, parseCheckpointLines } from "../integrity/verify-checkpoints";
import { verifyAuditTrail } from "../integrity/verify-trail";
import type { VerifyProblem, VerifyReport } from "../integrity/verify-report";
import type { IntegrityKey } from "../integrity/integrity-keys";
import { parseIsoMoment } from "../query/query-text";
import type { AuditQueryError } from "../query/query-error";
import { CliError, errorMessage } from "./cli-error";
import type { CliIo } from "./cli-io";
import { EXIT_CODES_HELP, ExitCode } from "./exit-codes";
import { createVerifyProgress } from "./verify-progress";
import { terminalCell } from "./terminal-text";
import { withConfig } from "./with-config";

interface VerifyCommandOptions {
  since?: Date;
  until?: Date;
  source: "live" | "archive" | "all";
  checkpoints?: string;
  grace?: number;
  expectUnsigned?: number;
}

const EXAMPLES = `
Examples:
  $ audit-events verify
  $ audit-events verify --since 2026-01-01 --source live
  $ audit-events verify --checkpoints /mnt/worm/audit-checkpoints.ndjson
  $ audit-events verify --grace 15m
  $ audit-events verify --checkpoints /mnt/worm/audit-checkpoints.ndjson --expect-unsigned 0

The key comes from the config file's \`integrityKey\` export, else AUDIT_INTEGRITY_KEY.`;

/** Parses a date option, as the read commands do. */
export function momentOption(name: string) {
  return (text: string): Date => {
    try {
      return parseIsoMoment(name, text);
    } catch (error) {
      throw new InvalidArgumentError((error as AuditQueryError).message);
    }
  };
}

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses `--grace`: a number with a unit (`ms`, `s`, `m`, `h`, `d`), as whole milliseconds. */
export function parseGrace(text: string): number {
  const match = DURATION.exec(text.trim());
  const ms = match === null ? Number.NaN : Math.round(Number(match[1]) * UNIT_MS[match[2]!]!);
  if (!Number.isSafeInteger(ms)) throw new InvalidArgumentError(`--grace must be a duration such as 90s, 10m, 2h or 1d (a number and one of ms, s, m, h, d), not ${JSON.stringify(text)}.`);
  return ms;
}

/** Parses `--expect-unsigned`: a whole number from 0. */
export function parseExpectedUnsigned(text: string): number {
  const n = /^\d+$/.test(text.trim()) ? Number(text.trim()) : Number.NaN;
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError(`--expect-unsigned must be a whole number from 0, such as 0 or 1200 (the "event(s) without chain fields" count verify printed when integrity was switched on; 0 for a trail that began with it), not ${JSON.stringify(text)}.`);
  return n;
}

/**
 * The report's last line: the events and chains checked, "intact" or the problems by kind
 * (a count per kind, as printed above it), the events without chain fields (the count to
 * pin with `--expect-unsigned`), and the recent events not yet covered by a checkpoint.
 *
 * @example
 * ```ts
 * verifySummary({ ok: false, verified: 9, chains: 2, unsigned: 1, problems: [{ kind: "unsigned", chainId: "", seq: 0, detail: "..." }] });
 * // "Verified 9 event(s) in 2 chain(s): 1 problem (1 unsigned). 1 event(s) without chain fields."
 * ```
 */
export function verifySummary(report: VerifyReport): string {
  const byKind = new Map<string, number>();
  for (const problem of report.problems) byKind.set(problem.kind, (byKind.get(problem.kind) ?? 0) + 1);
  const kinds = [...byKind].map(([kind, n]) => `${n} ${kind}`).join(", ");
  const failing = report.problems.length === 1 ? "1 problem" : `${report.problems.length} problems`;
  // A report that is ok lists at most the events written before integrity was switched on: a notice.
  const state = report.ok ? "intact" : `${failing} (${kinds})`;
  const unsigned = `${report.unsigned} event(s) without chain fields${report.ok && report.unsigned > 0 ? " (written before integrity was switched on: pin the count with --expect-unsigned)" : ""}.`;
  const pending = report.uncovered === undefined || report.uncovered === 0 ? "" : ` ${report.uncovered} recent event(s) are not yet covered by a signed checkpoint (within the grace period).`;
  return `Verified ${report.verified} event(s) in ${report.chains} chain(s): ${state}. ${unsigned}${pending}`;
}

/** One problem as a line of the report; stored values (ids, details naming them) are escaped for the terminal. */
export function problemLine(problem: VerifyProblem): string {
  const where = problem.chainId === "" ? "" : ` chain ${terminalCell(problem.chainId)} seq ${problem.seq}`;
  const id = problem.id === undefined ? "" : ` event ${terminalCell(problem.id)}`;
  return `${problem.kind}:${where}${id}: ${terminalCell(problem.detail)}`;
}

/**
 * Adds `verify [--since] [--until] [--source] [--checkpoints file] [--grace duration] [--expect-unsigned n]`: checks every hash
 * chain and checkpoint (see `verifyAuditTrail`), prints the first problem of each chain,
 * and ends with exit code 4 when there is one, 0 when the trail is intact.
 *
 * @example
 * ```ts
 * addVerifyCommand(program, { stdout: process.stdout, stderr: process.stderr, cwd: process.cwd() });
 * ```
 */
export function addVerifyCommand(program: Command, io: CliIo): void {
  program
    .command("verify")
    .description("Check the tamper-evident trail: every event's hash and link, every checkpoint's signature; print the first problem of each chain.")
    .option("--since <when>", "only events at or after this ISO 8601 date or date-time with zone", momentOption("--since"))
    .option("--until <when>", "only events before this ISO 8601 date or date-time with zone", momentOption("--until"))
    .addOption(new Option("--source <source>", "the live table, the archive, or both as one sequence (only all, without --since/--until, checks chains whole)").choices(["live", "archive", "all"]).default("all"))
    .option("--checkpoints <file>", "NDJSON of checkpoints exported earlier (audit-events checkpoints): each must still be in the database, unchanged, with its events")
    .option("--expect-unsigned <n>", "how many events without chain fields the trail holds (the count verify printed when integrity was switched on; 0 for a trail that began with it): any other count is a problem, so an event inserted without a chain and back-dated shows", parseExpectedUnsigned)
    .option("--grace <duration>", "how long a chain's newest events may wait for a signed checkpoint before they are reported unsigned, such as 10m (default: the configured checkpointIntervalMs plus 5m)", parseGrace)
    .addHelpText("after", `${EXAMPLES}\n${EXIT_CODES_HELP}`)
    .action((options: VerifyCommandOptions, command: Command) =>
      withConfig(io, command, "verify the trail", async ({ store, integrityKey }) => {
        if (integrityKey === undefined) {
          throw new CliError("verify needs the integrity key the trail was signed with: export integrityKey from the config file (a secret, or [{ id, secret }, ...]), or set AUDIT_INTEGRITY_KEY.", ExitCode.Config);
        }
        let checkpoints;
        if (options.checkpoints !== undefined) {
          const file = path.resolve(io.cwd, options.checkpoints);
          let text: string;
          try {
            text = readFileSync(file, "utf8");
          } catch (error) {
            throw new CliError(`cannot read --checkpoints ${file}: ${errorMessage(error)}`, ExitCode.Usage, { cause: error });
          }
          try {
            checkpoints = parseCheckpointLines(text, file);
            // Two different copies of one checkpoint are a bad file too, refused before the trail is read.
            checkpointsByChain(checkpoints);
          } catch (error) {
            throw new CliError(errorMessage(error), ExitCode.Usage, { cause: error });
          }
        }
        const progress = createVerifyProgress(io.stderr);
        const report = await verifyAuditTrail({
          store,
          key: integrityKey as IntegrityKey,
          source: options.source,
          ...(options.since === undefined ? {} : { since: options.since }),
          ...(options.until === undefined ? {} : { until: options.until }),
          ...(checkpoints === undefined ? {} : { checkpoints }),
          ...(options.grace === undefined ? {} : { uncoveredGraceMs: options.grace }),
          ...(options.expectUnsigned === undefined ? {} : { expectedUnsigned: options.expectUnsigned }),
          onProgress: (verified) => progress.update(verified),
        }).finally(() => progress.stop());
        for (const problem of report.problems) io.stdout.write(`${problemLine(problem)}\n`);
        io.stdout.write(`${verifySummary(report)}\n`);
        if (!report.ok) throw new CliError("the trail has been tampered with or is incomplete: see the problems above.", ExitCode.Tampered);
      }),
    );
}
