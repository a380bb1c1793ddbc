import type { ExitCode } from "./exit-codes";
import { thrownMessage } from "../thrown-message";

/**
 * An error the command line explains itself: its message says what is wrong and
 * what to do, and `exitCode` is the code the process ends with.
 *
 * @example
 * ```ts
 * throw new CliError("No config file found in /app: create audit-events.config.mjs.", ExitCode.Config);
 * ```
 */
export class CliError extends Error {
  constructor(
    message: string,
    /** The code the process exits with. */
    readonly exitCode: ExitCode,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "CliError";
  }
}

/** The message of an error, or the text of any other thrown value. */
export function errorMessage(error: unknown): string {
  return thrownMessage(error);
}
