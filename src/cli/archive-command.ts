import { InvalidArgumentError, type Command } from "commander";

import {
  archiveCutoff,
  archiveOldEvents,
  countArchivableEvents,
  DEFAULT_ARCHIVE_BATCH_SIZE,
  MAX_ARCHIVE_BATCH_SIZE,
} from "../archive/archive";
import { errorMessage } from "./cli-error";
import type { CliIo } from "./cli-io";
import { EXIT_CODES_HELP } from "./exit-codes";
import { findConfigFile, loadConfig, type LoadedConfig } from "./load-config";
import { createProgressReporter } from "./progress";

interface ArchiveCommandOptions {
  olderThan: number;
  batchSize: number;
  dryRun?: true;
}

const EXAMPLES = `
Examples:
  $ audit-events archive --older-than 90
  $ audit-events archive --older-than 30 --batch-size 5000
  $ audit-events archive --older-than 90 --dry-run
  $ audit-events archive --older-than 90 --config config/audit-events.config.mjs`;

function parseDays(value: string): number {
  if (!/^\d+(\.\d+)?$/.test(value)) throw new InvalidArgumentError("Give a number of days, 0 or more, such as 90.");
  return Number(value);
}

function parseBatchSize(value: string): number {
  const size = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!(size >= 1 && size <= MAX_ARCHIVE_BATCH_SIZE)) {
    throw new InvalidArgumentError(`Give a whole number from 1 to ${MAX_ARCHIVE_BATCH_SIZE}, such as ${DEFAULT_ARCHIVE_BATCH_SIZE}.`);
  }
  return size;
}

/**
 * Adds `archive --older-than <days> [--batch-size N] [--dry-run]` to the program: it
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
    .option("--batch-size <n>", `events moved per transaction, 1 to ${MAX_ARCHIVE_BATCH_SIZE}`, parseBatchSize, DEFAULT_ARCHIVE_BATCH_SIZE)
    .option("--dry-run", "only count the events that would be archived; move nothing")
    .addHelpText("after", `${EXAMPLES}\n${EXIT_CODES_HELP}`)
    .action(async (options: ArchiveCommandOptions, command: Command) => {
      const config = await loadConfig(findConfigFile(io.cwd, command.optsWithGlobals<{ config?: string }>().config));
      try {
        await (options.dryRun ? countOnly : archive)(config, options, io);
      } finally {
        await closeConfig(config, io);
      }
    });
}

async function countOnly({ store }: LoadedConfig, { olderThan }: ArchiveCommandOptions, io: CliIo): Promise<void> {
  const due = await countArchivableEvents({ olderThanDays: olderThan, store });
  const cutoff = archiveCutoff(olderThan).toISOString();
  io.stdout.write(`Dry run: would archive ${due} event(s) older than ${olderThan} day(s) (before ${cutoff}). Nothing was moved.\n`);
}

async function archive({ store }: LoadedConfig, { olderThan, batchSize }: ArchiveCommandOptions, io: CliIo): Promise<void> {
  const progress = createProgressReporter(io.stderr, await countArchivableEvents({ olderThanDays: olderThan, store }));
  const { archived, cutoff, batches, longestBatchMs } = await archiveOldEvents({
    olderThanDays: olderThan,
    batchSize,
    store,
    onBatch: (batch) => progress.batch(batch),
  }).finally(() => progress.stop());
  const timing = batches > 0 ? ` in ${batches} batch(es), the longest ${Math.round(longestBatchMs)} ms` : "";
  io.stdout.write(`Archived ${archived} event(s) older than ${olderThan} day(s) (before ${cutoff.toISOString()})${timing}.\n`);
}

/** A failing close() is reported but does not hide the command's own outcome. */
async function closeConfig(config: LoadedConfig, io: CliIo): Promise<void> {
  try {
    await config.close();
  } catch (error) {
    io.stderr.write(`warning: close() exported by ${config.file} failed: ${errorMessage(error)}\n`);
  }
}
