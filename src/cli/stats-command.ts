import type { Command } from "commander";

import { summarizeEvents } from "../query/find-events";
import type { CliIo } from "./cli-io";
import { EXIT_CODES_HELP } from "./exit-codes";
import { terminalCell, terminalSafeRecords } from "./terminal-text";
import { addQueryOptions, readQueryOf, type QueryCommandOptions } from "./query-options";
import { withConfig } from "./with-config";

interface StatsCommandOptions extends QueryCommandOptions {
  json?: true;
}

const EXAMPLES = `
Examples:
  $ audit-events stats
  $ audit-events stats --since 2026-01-01 --until 2026-02-01
  $ audit-events stats --content-type Order --json
  $ audit-events stats --tenant acme --since 2026-01-01`;

function table(title: string, counts: Record<string, number>, sort: "count" | "key"): string {
  const entries = Object.entries(counts)
    .sort(sort === "key" ? ([a], [b]) => (a < b ? -1 : 1) : ([, a], [, b]) => b - a)
    .map(([key, count]) => [terminalCell(key), count] as const);
  const width = Math.max(0, ...entries.map(([key]) => key.length));
  return [`${title}:`, ...entries.map(([key, count]) => `  ${key.padEnd(width)}  ${count}`), ""].join("\n");
}

/**
 * Adds `stats [filters] [--json]`: counts the matching events in total, by content
 * type, by user, by UTC day, by action, by outcome and by severity.
 *
 * @example
 * ```ts
 * addStatsCommand(program, { stdout: process.stdout, stderr: process.stderr, cwd: process.cwd() });
 * ```
 */
export function addStatsCommand(program: Command, io: CliIo): void {
  addQueryOptions(program.command("stats").description("Count the events matching the filters: in total, by content type, user, UTC day, action, outcome and severity."))
    .option("--json", "print the counts as one JSON object")
    .addHelpText("after", `${EXAMPLES}\n${EXIT_CODES_HELP}`)
    .action((options: StatsCommandOptions, command: Command) =>
      withConfig(io, command, "read events", async ({ store }) => {
        const summary = await summarizeEvents(readQueryOf(options, store));
        if (options.json) {
          // Keys are stored values (users, actions): on a terminal, what would drive it is escaped, as list --json does.
          const json = JSON.stringify(summary);
          return void io.stdout.write(`${io.stdout.isTTY === true ? terminalSafeRecords(json, "json") : json}\n`);
        }
        io.stdout.write(
          [
            `Total: ${summary.total} event(s)`,
            "",
            table("By content type", summary.byContentType, "count"),
            table("By user", summary.byUser, "count"),
            table("By day (UTC)", summary.byDay, "key"),
            table("By action", summary.byAction, "count"),
            table("By outcome", summary.byOutcome, "count"),
            table("By severity", summary.bySeverity, "count"),
          ].join("\n"),
        );
      }),
    );
}
