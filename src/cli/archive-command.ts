import { InvalidArgumentError, type Command } from "commander";

import {
  archiveCutoff,
  archiveOldEvents,
  countArchivableEvents,
  DEFAULT_ARCHIVE_BATCH_SIZE,
  DEFAULT_ARCHIVE_CONCURRENCY,
  MAX_ARCHIVE_BATCH_SIZE,
  MAX_ARCHIVE_CONCURRENCY,
} from "../archive/archive";
import { EARLIEST_INSTANT, isInstantInRange } from "../query/instant-range";
import type { CliIo } from "./cli-io";
import { EXIT_CODES_HELP } from "./exit-codes";
import type { LoadedConfig } from "./load-config";
import { createProgressReporter } from "./progress";
import { withConfig } from "./with-config";

interface ArchiveCommandOptions {
  olderThan: number;
  batchSize: number;
  concurrency: number;
  dryRun?: true;
}

const EXAMPLES = `
Examples:
  $ audit-events archive --older-than 90
  $ audit-events archive --older-than 30 --batch-size 5000
  $ audit-events archive --older-than 90 --concurrency 2
  $ audit-events archive --older-than 90 --dry-run
  $ audit-events archive --older-than 90 --config config/audit-events.config.mjs`;

function parseDays(value: string): number {
  if (!/^\d+(\.\d+)?$/.test(value)) throw new InvalidArgumentError("Give a number of days, 0 or more, such as 90.");
  const days = Number(value);
  if (!isInstantInRange(archiveCutoff(days))) throw new InvalidArgumentError(`Give fewer days: ${value} reaches back before ${EARLIEST_INSTANT.toISOString()}, which no supported database holds.`);
  return days;
}

/** A parser of a whole number from 1 to `max`, whose error suggests `example`. */
function wholeNumberUpTo(max: number, example: number): (value: string) => number {
  return (value) => {
    const n = /^\d+$/.test(value) ? Number(value) : Number.NaN;
    if (!(n >= 1 && n <= max)) throw new InvalidArgumentError(`Give a whole number from 1 to ${max}, such as ${example}.`);
    return n;
  };
}

/**
 * Adds `archive --older-than <days> [--batch-size N] [--concurrency N] [--dry-run]` to the program: it
 * moves the events older than that many days to the archive, with progress on stderr
 * and the count on stdout, or with `--dry-run` only counts them.
 *
 * @example
 * ```ts
 * addArchiveCommand(program, { stdout: process.stdout, stderr: process.stderr, cwd: process.cwd() });
 * ```
 */
export function addArchiveCommand(program: Command, io: CliIo): void {
  program
    .command("archive")
    .description("Move events older than the given number of days from the live table to the archive, in batches, one transaction each. Safe to interrupt and to run again.")
    .requiredOption("--older-than <days>", "archive events older than this many days (fractions allowed: 0.5 is 12 hours)", parseDays)
    .option("--batch-size <n>", `events moved per transaction, 1 to ${MAX_ARCHIVE_BATCH_SIZE}`, wholeNumberUpTo(MAX_ARCHIVE_BATCH_SIZE, DEFAULT_ARCHIVE_BATCH_SIZE), DEFAULT_ARCHIVE_BATCH_SIZE)
    .option(
      "--concurrency <n>",
      `batches in flight at once, each on its own connection, 1 to ${MAX_ARCHIVE_CONCURRENCY} (2 moved 1.5x as many a second on PostgreSQL, 1.2x on MariaDB)`,
      wholeNumberUpTo(MAX_ARCHIVE_CONCURRENCY, 2),
      DEFAULT_ARCHIVE_CONCURRENCY,
    )
    .option("--dry-run", "only count the events that would be archived; move nothing")
    .addHelpText("after", `${EXAMPLES}\n${EXIT_CODES_HELP}`)
    .action((options: ArchiveCommandOptions, command: Command) =>
      withConfig(io, command, "archive", (config) => (options.dryRun ? countOnly : archive)(config, options, io)),
    );
}

async function countOnly({ store }: LoadedConfig, { olderThan }: ArchiveCommandOptions, io: CliIo): Promise<void> {
  const due = await countArchivableEvents({ olderThanDays: olderThan, store });
  const cutoff = archiveCutoff(olderThan).toISOString();
  io.stdout.write(`Dry run: would archive ${due} event(s) older than ${olderThan} day(s) (before ${cutoff}). Nothing was moved.\n`);
}

async function archive({ store }: LoadedConfig, { olderThan, batchSize, concurrency }: ArchiveCommandOptions, io: CliIo): Promise<void> {
  const progress = createProgressReporter(io.stderr, await countArchivableEvents({ olderThanDays: olderThan, store }));
  const { archived, cutoff, batches, longestBatchMs } = await archiveOldEvents({
    olderThanDays: olderThan,
    batchSize,
    concurrency,
    store,
    onBatch: (batch) => progress.batch(batch),
  }).finally(() => progress.stop());
  const timing = batches > 0 ? ` in ${batches} batch(es), the longest ${Math.round(longestBatchMs)} ms` : "";
  io.stdout.write(`Archived ${archived} event(s) older than ${olderThan} day(s) (before ${cutoff.toISOString()})${timing}.\n`);
}
