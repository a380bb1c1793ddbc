import { Command } from "commander";

import { addArchiveCommand } from "./archive-command";
import { addExportCommand } from "./export-command";
import { addGrantsCommand } from "./grants-command";
import { addListCommand } from "./list-command";
import { addStatsCommand } from "./stats-command";
import { addCheckpointsCommand } from "./checkpoints-command";
import { addVerifyCommand } from "./verify-command";
import type { CliIo } from "./cli-io";
import { EXIT_CODES_HELP, ExitCode } from "./exit-codes";
import { packageVersion } from "./package-version";
import { reportError } from "./report-error";
import { terminalMessage } from "./terminal-text";

export type { CliIo } from "./cli-io";

/**
 * Runs the `audit-events` command line and resolves the exit code; it never exits
 * the process itself (`bin/audit-events.js` does) and never rejects.
 *
 * @param argv The arguments after the program name, e.g. `["archive", "--older-than", "90"]`.
 * @example
 * ```ts
 * process.exitCode = await runCli(process.argv.slice(2));
 * ```
 */
export async function runCli(argv: readonly string[], io: CliIo = { stdout: process.stdout, stderr: process.stderr, cwd: process.cwd() }): Promise<ExitCode> {
  const program = new Command("audit-events")
    .description("Read, export and maintain the audit trail that audit-events stores through Prisma in your database.")
    .version(packageVersion(), "-V, --version", "print the version")
    .option("-c, --config <path>", "the config file exporting your store (default: audit-events.config.{js,mjs,cjs,ts} in the current directory)")
    .option("--verbose", "print stack traces of errors")
    .helpOption("-h, --help", "print help")
    .addHelpText("after", EXIT_CODES_HELP)
    .showHelpAfterError("(add --help for usage)")
    // Commander's errors echo the arguments given ("unknown option '...'").
    .configureOutput({ writeOut: (text) => io.stdout.write(text), writeErr: (text) => io.stderr.write(terminalMessage(text)) })
    .exitOverride();
  addArchiveCommand(program, io);
  addListCommand(program, io);
  addExportCommand(program, io);
  addStatsCommand(program, io);
  addGrantsCommand(program, io);
  addVerifyCommand(program, io);
  addCheckpointsCommand(program, io);
  try {
    await program.parseAsync([...argv], { from: "user" });
    return ExitCode.Success;
  } catch (error) {
    return reportError(error, io.stderr, program.opts<{ verbose?: boolean }>().verbose === true);
  }
}
