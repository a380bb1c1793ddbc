/**
 * The exit codes of the `audit-events` command line. Scripts and schedulers can tell
 * a failed run (worth retrying) from a mistake in the command or the config (not).
 */
export const ExitCode = {
  /** The command did what was asked. */
  Success: 0,
  /** The command failed while running: the database is unreachable, a batch or an export failed. */
  Failure: 1,
  /** The command line is wrong: an unknown option, a bad number or date, a missing option, a bad cursor. */
  Usage: 2,
  /** The config file is missing, failed to load, or exports no store; or the database lacks the audit tables' migrations. */
  Config: 3,
  /** `verify` found a problem in the trail: an altered, missing, inserted or reordered event, a bad checkpoint, or unsigned events newer than signed ones. */
  Tampered: 4,
} as const;

/** One of the {@link ExitCode} values. */
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** The exit codes as the help text lists them after every command's options. */
export const EXIT_CODES_HELP = `
Exit codes:
  0  success
  1  runtime failure (database unreachable, archival or export failed part way)
  2  usage error (unknown option, bad number or date, missing required option, bad cursor)
  3  config problem (no config file, config failed to load, no store exported,
     audit tables or columns missing: apply the migrations)
  4  verify found a problem in the trail (its first problem in each chain is printed)`;
