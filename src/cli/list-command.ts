import { InvalidArgumentError, Option, type Command } from "commander";

import type { AuditEventRecord } from "../model/event-record";
import { findPage } from "../query/find-events";
import { MAX_PAGE_SIZE } from "../query/parse-query";
import type { CliIo } from "./cli-io";
import { EXIT_CODES_HELP } from "./exit-codes";
import { terminalCell, terminalSafeRecords } from "./terminal-text";
import { addQueryOptions, readQueryOf, type QueryCommandOptions } from "./query-options";
import { withConfig } from "./with-config";

interface ListCommandOptions extends QueryCommandOptions {
  order: "asc" | "desc";
  limit: number;
  cursor?: string;
  json?: true;
}

/** Events `list` prints unless `--limit` says otherwise. */
export const DEFAULT_LIST_LIMIT = 20;

const EXAMPLES = `
Examples:
  $ audit-events list
  $ audit-events list --content-type Order --object-id 42 --order asc
  $ audit-events list --user user-7 --since 2026-01-01 --content action=refund --json
  $ audit-events list --search "broken hinge" --source all --limit 100
  $ audit-events list --tenant acme --outcome denied --severity warning`;

function parseLimit(value: string): number {
  const limit = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!(limit >= 1 && limit <= MAX_PAGE_SIZE)) throw new InvalidArgumentError(`Give a whole number from 1 to ${MAX_PAGE_SIZE}, such as ${DEFAULT_LIST_LIMIT}.`);
  return limit;
}

/** One event as a line of text: when, what, who, how, and its id; what the data holds is escaped, so it cannot drive the terminal. */
function line(event: AuditEventRecord): string {
  // The action column where the event has one; events written before it often kept theirs in content.
  const action = event.action ?? (typeof event.content.action === "string" ? event.content.action : "-");
  return [event.timestamp.toISOString(), `${event.contentType}:${event.objectId}`, event.userId ?? "-", event.method ?? "-", action, event.id].map(terminalCell).join("  ");
}

/**
 * Adds `list [filters] [--order] [--limit] [--cursor] [--json]`: prints a page of
 * matching events, newest first, one a line (or as NDJSON with `--json`), and on
 * stderr the `--cursor` that reads the next page.
 *
 * @example
 * ```ts
 * addListCommand(program, { stdout: process.stdout, stderr: process.stderr, cwd: process.cwd() });
 * ```
 */
export function addListCommand(program: Command, io: CliIo): void {
  addQueryOptions(
    program.command("list").description("Print a page of events matching the filters, newest first, with the cursor of the next page."),
  )
    .addOption(new Option("--order <order>", "by timestamp, then id").choices(["asc", "desc"]).default("desc"))
    .option("--limit <n>", `events to print, 1 to ${MAX_PAGE_SIZE}`, parseLimit, DEFAULT_LIST_LIMIT)
    .option("--cursor <cursor>", "continue after the page that printed this cursor (same filters)")
    .option("--json", "print each event as one line of JSON (NDJSON)")
    .addHelpText("after", `${EXAMPLES}\n${EXIT_CODES_HELP}`)
    .action((options: ListCommandOptions, command: Command) =>
      withConfig(io, command, "read events", async ({ store, cursorKey }) => {
        const query = { ...readQueryOf(options, store), order: options.order, limit: options.limit, ...(options.cursor === undefined ? {} : { cursor: options.cursor }) };
        const { events, nextCursor } = await findPage(query, cursorKey);
        const json = (event: unknown) => (io.stdout.isTTY === true ? terminalSafeRecords(JSON.stringify(event), "json") : JSON.stringify(event));
        io.stdout.write(events.map((event) => `${options.json ? json(event) : line(event)}\n`).join(""));
        if (nextCursor !== null) io.stderr.write(`More events: run the same command with --cursor ${nextCursor}\n`);
        else if (events.length === 0) io.stderr.write("No events match.\n");
      }),
    );
}
