import { createReadStream } from "node:fs";
import path from "node:path";
import { createInterface } from "node:readline";

import type { Command } from "commander";

import { checkpointLine, checkpointOf, iterateCheckpoints } from "../integrity/verify-checkpoints";
import { CliError, errorMessage } from "./cli-error";
import type { CliIo } from "./cli-io";
import { EXIT_CODES_HELP, ExitCode } from "./exit-codes";
import { terminalSafeRecords } from "./terminal-text";
import { momentOption } from "./verify-command";
import { withConfig } from "./with-config";

const EXAMPLES = `
Examples:
  $ audit-events checkpoints --since 2026-01-01 > checkpoints-2026.ndjson
  $ audit-events checkpoints --since "$(date -u -d '2 days ago' +%Y-%m-%dT%H:%M:%SZ)" --after /mnt/worm/audit-checkpoints.ndjson >> /mnt/worm/audit-checkpoints.ndjson

Why: anyone who can write to the database and holds the integrity key could rewrite events
and sign new checkpoints, and anyone with write access alone can delete the newest events
together with their checkpoints. Copies kept where the database's users cannot change them
(write-once storage, another account) bound both: verify --checkpoints <file> checks the
database against them.

A checkpoint's createdAt is the writing application's clock, taken before its transaction
commits: an export by time must look back further than the application's clock may lag and
a transaction may last. --after leaves out what an earlier export holds, so the window can
overlap the previous one widely without duplicates (verify takes a copy given twice once).`;

/** The `(chainId, seq)` key of a checkpoint. */
function positionKey(chainId: string, seq: number): string {
  return `${chainId}\u0000${seq}`;
}

/**
 * The positions of the checkpoints an earlier export holds, of those created at or after
 * `since` (the only ones a read from `since` can return), read line by line.
 *
 * @throws {CliError} exit 2 when the file cannot be read or a line is not a checkpoint.
 */
async function exportedPositions(file: string, since: Date): Promise<Set<string>> {
  const found = new Set<string>();
  let number = 0;
  try {
    for await (const line of createInterface({ input: createReadStream(file, "utf8"), crlfDelay: Infinity })) {
      number++;
      if (line.trim() === "") continue;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        throw new CliError(`--after ${file}, line ${number}: not JSON; give the file an earlier \`audit-events checkpoints\` wrote.`, ExitCode.Usage);
      }
      const checkpoint = checkpointOf(value, `--after ${file}, line ${number}`);
      if (checkpoint.createdAt >= since) found.add(positionKey(checkpoint.chainId, checkpoint.seq));
    }
  } catch (error) {
    if (error instanceof CliError) throw error;
    const code = (error as { code?: unknown }).code;
    throw new CliError(code === "ERR_AUDIT_CHECKPOINT" ? errorMessage(error) : `cannot read --after ${file}: ${errorMessage(error)}`, ExitCode.Usage, { cause: error });
  }
  return found;
}

/**
 * Adds `checkpoints --since <date> [--after <file>]`: writes every checkpoint created since
 * then, oldest first, as NDJSON on stdout, for write-once storage outside the database;
 * with `--after`, those an earlier export already holds are left out.
 *
 * @example
 * ```ts
 * addCheckpointsCommand(program, { stdout: process.stdout, stderr: process.stderr, cwd: process.cwd() });
 * ```
 */
export function addCheckpointsCommand(program: Command, io: CliIo): void {
  program
    .command("checkpoints")
    .description("Write the signed checkpoints created since a date as NDJSON on stdout, to keep copies outside the database (WORM storage).")
    .requiredOption("--since <when>", "checkpoints created at or after this ISO 8601 date or date-time with zone", momentOption("--since"))
    .option("--after <file>", "an earlier export (NDJSON): leave out the checkpoints it holds, so overlapping windows add no duplicates")
    .addHelpText("after", `${EXAMPLES}\n${EXIT_CODES_HELP}`)
    .action((options: { since: Date; after?: string }, command: Command) =>
      withConfig(io, command, "read checkpoints", async ({ store }) => {
        const file = options.after === undefined ? undefined : path.resolve(io.cwd, options.after);
        const known = file === undefined ? new Set<string>() : await exportedPositions(file, options.since);
        let count = 0;
        let skipped = 0;
        for await (const checkpoint of iterateCheckpoints({ since: options.since, store })) {
          if (known.has(positionKey(checkpoint.chainId, checkpoint.seq))) {
            skipped++;
            continue;
          }
          const line = checkpointLine(checkpoint);
          const text = io.stdout.isTTY === true ? terminalSafeRecords(line, "json") : line;
          if (!io.stdout.write(text)) await new Promise((resolve) => io.stdout.once("drain", resolve));
          count++;
        }
        const left = file === undefined ? "" : ` (${skipped} already in ${file} left out)`;
        io.stderr.write(`Wrote ${count} checkpoint(s) created since ${options.since.toISOString()}${left}.\n`);
      }),
    );
}
