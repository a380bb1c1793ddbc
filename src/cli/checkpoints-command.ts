import type { Command } from "commander";

import { checkpointLine, iterateCheckpoints } from "../integrity/verify-checkpoints";
import type { CliIo } from "./cli-io";
import { EXIT_CODES_HELP } from "./exit-codes";
import { terminalSafeRecords } from "./terminal-text";
import { momentOption } from "./verify-command";
import { withConfig } from "./with-config";

const EXAMPLES = `
Examples:
  $ audit-events checkpoints --since 2026-01-01 > checkpoints-2026.ndjson
  $ audit-events checkpoints --since "$(date -u -d '1 hour ago' +%Y-%m-%dT%H:%M:%SZ)" | aws s3 cp - s3://audit-worm/$(date +%s).ndjson

Why: anyone who can write to the database and holds the integrity key could rewrite events
and sign new checkpoints, and anyone with write access alone can delete the newest events
together with their checkpoints. Copies kept where the database's users cannot change them
(write-once storage, another account) bound both: verify --checkpoints <file> checks the
database against them.`;

/**
 * Adds `checkpoints --since <date>`: writes every checkpoint created since then, oldest
 * first, as NDJSON on stdout, for write-once storage outside the database.
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
    .addHelpText("after", `${EXAMPLES}\n${EXIT_CODES_HELP}`)
    .action((options: { since: Date }, command: Command) =>
      withConfig(io, command, "read checkpoints", async ({ store }) => {
        let count = 0;
        for await (const checkpoint of iterateCheckpoints({ since: options.since, store })) {
          const line = checkpointLine(checkpoint);
          const text = io.stdout.isTTY === true ? terminalSafeRecords(line, "json") : line;
          if (!io.stdout.write(text)) await new Promise((resolve) => io.stdout.once("drain", resolve));
          count++;
        }
        io.stderr.write(`Wrote ${count} checkpoint(s) created since ${options.since.toISOString()}.\n`);
      }),
    );
}
