import { createWriteStream } from "node:fs";
import path from "node:path";
import { Writable } from "node:stream";

import { Option, type Command } from "commander";

import { EXPORT_FORMATS, exportEvents, type ExportFormat } from "../export/export-events";
import { countEvents } from "../query/find-events";
import type { CliIo } from "./cli-io";
import { CliError, errorMessage } from "./cli-error";
import { EXIT_CODES_HELP, ExitCode } from "./exit-codes";
import { checkCloudEventSource } from "../integrity/cloud-event";
import { createExportProgress } from "./export-progress";
import { terminalMessage, terminalSafeRecords } from "./terminal-text";
import { addQueryOptions, readQueryOf, type QueryCommandOptions } from "./query-options";
import { withConfig } from "./with-config";

interface ExportCommandOptions extends QueryCommandOptions {
  format: ExportFormat;
  order: "asc" | "desc";
  out?: string;
  ceSource?: string;
}

const EXAMPLES = `
Examples:
  $ audit-events export --format csv --since 2026-01-01 --until 2026-02-01 --out january.csv
  $ audit-events export --format ndjson --content-type Order --object-id 42 > order-42.ndjson
  $ audit-events export --format json --source all --out everything.json
  $ audit-events export --format cloudevents --ce-source https://orders.example.com --out events.ndjson`;

/**
 * Standard output as an export target: written to, never ended, since the process owns
 * it. On a terminal, characters that would drive it are escaped (see terminalSafeRecords).
 */
function stdoutTarget(stdout: CliIo["stdout"], format: ExportFormat): Writable {
  const tty = stdout.isTTY === true;
  return new Writable({
    decodeStrings: !tty,
    write(chunk: Buffer | string, _encoding, callback) {
      const out = tty ? terminalSafeRecords(chunk.toString(), format === "csv" ? "csv" : "json") : chunk;
      if (stdout.write(out)) callback();
      else stdout.once("drain", () => callback());
    },
  });
}

/**
 * Adds `export --format ndjson|csv|json|cloudevents [filters] [--order] [--ce-source uri] [--out file]`: streams
 * the matching events (newest first unless `--order asc`) into the file or to stdout,
 * with progress on stderr (a bar on a terminal, lines otherwise).
 *
 * @example
 * ```ts
 * addExportCommand(program, { stdout: process.stdout, stderr: process.stderr, cwd: process.cwd() });
 * ```
 */
export function addExportCommand(program: Command, io: CliIo): void {
  addQueryOptions(program.command("export").description("Write the events matching the filters as NDJSON, CSV, a JSON array or NDJSON of CloudEvents, to a file or stdout."))
    .addOption(new Option("--format <format>", "ndjson: one JSON event a line; csv: RFC 4180 with a header row; json: one array; cloudevents: one CloudEvents 1.0 JSON event a line").choices(EXPORT_FORMATS).makeOptionMandatory())
    .addOption(new Option("--order <order>", "by timestamp, then id").choices(["asc", "desc"]).default("desc"))
    .option("--ce-source <uri>", 'with --format cloudevents: the CloudEvents source, a URI-reference naming your application (default "audit-events")')
    .option("--out <file>", "write to this file (replaced if it exists) instead of stdout")
    .addHelpText("after", `${EXAMPLES}\n${EXIT_CODES_HELP}`)
    .action((options: ExportCommandOptions, command: Command) => {
      checkCeSource(options);
      return withConfig(io, command, "read events", async ({ store }) => {
        const query = { ...readQueryOf(options, store), order: options.order };
        const total = await countEvents(query);
        const file = options.out === undefined ? undefined : path.resolve(io.cwd, options.out);
        const target = file === undefined ? stdoutTarget(io.stdout, options.format) : createWriteStream(file);
        const progress = createExportProgress(io.stderr, total);
        const { exported } = await exportEvents({ ...query, format: options.format }, target, { onProgress: (n) => progress.update(n), cloudEventSource: options.ceSource }).finally(() =>
          progress.stop(),
        );
        const summary = `Exported ${exported} event(s) as ${options.format}${file === undefined ? "" : ` to ${terminalMessage(file)}`}.\n`;
        (file === undefined ? io.stderr : io.stdout).write(summary);
      });
    });
}

/** `--ce-source` goes with `--format cloudevents` and is a URI-reference: checked before any file is made. */
function checkCeSource(options: ExportCommandOptions): void {
  if (options.ceSource === undefined) return;
  if (options.format !== "cloudevents") throw new CliError(`--ce-source names the source of CloudEvents; add --format cloudevents, or leave --ce-source out.`, ExitCode.Usage);
  try {
    checkCloudEventSource(options.ceSource);
  } catch (error) {
    throw new CliError(`--ce-source: ${errorMessage(error).replace(/^toCloudEvent\(\): /, "")}`, ExitCode.Usage);
  }
}
