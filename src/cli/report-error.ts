import { CommanderError } from "commander";

import { CliError, errorMessage } from "./cli-error";
import { ExitCode } from "./exit-codes";
import { terminalMessage } from "./terminal-text";
import { thrownMessage } from "../thrown-message";

interface AuditErrorLike {
  code: string;
  message: string;
  archived?: number;
  cause?: unknown;
}

// Matched by code rather than class: the store comes from the user's config, which
// may have loaded its own copy of audit-events (ESM next to CJS, or through tsx).
function auditError(error: unknown): AuditErrorLike | undefined {
  const candidate = error as Partial<AuditErrorLike> | null;
  return typeof candidate?.code === "string" && candidate.code.startsWith("ERR_AUDIT_") ? (candidate as AuditErrorLike) : undefined;
}

const isConfigCode = (code: string) => code === "ERR_AUDIT_CONFIG" || code === "ERR_AUDIT_NO_STORE";

/**
 * Writes what went wrong and what to do to `stderr`, with the stack traces only when
 * `verbose`, and returns the exit code that goes with the error.
 *
 * @example
 * ```ts
 * try { await program.parseAsync(argv, { from: "user" }); } catch (error) { return reportError(error, process.stderr, verbose); }
 * ```
 */
export function reportError(error: unknown, stderr: NodeJS.WritableStream, verbose: boolean): ExitCode {
  // Commander has printed its own message (and help) already.
  if (error instanceof CommanderError) return error.exitCode === 0 ? ExitCode.Success : ExitCode.Usage;
  const { message, exitCode } = explain(error);
  // Messages echo input (a key, a value, a file name): what could drive the terminal is escaped.
  stderr.write(`error: ${terminalMessage(message)}\n`);
  if (verbose) stderr.write(`${terminalMessage(stackOf(error))}\n`);
  return exitCode;
}

function explain(error: unknown): { message: string; exitCode: ExitCode } {
  if (error instanceof CliError) return { message: error.message, exitCode: error.exitCode };
  const audit = auditError(error);
  if (audit === undefined) return { message: `${errorMessage(error)} (--verbose shows the stack trace)`, exitCode: ExitCode.Failure };
  const cause = auditError(audit.cause);
  const schema = [audit, cause].find((e) => e?.code === "ERR_AUDIT_STORE_SCHEMA");
  if (schema !== undefined) return { message: schema.message, exitCode: ExitCode.Config };
  if (isConfigCode(audit.code) || (audit.code === "ERR_AUDIT_ARCHIVE" && cause !== undefined && isConfigCode(cause.code))) {
    return { message: `the store in the config file cannot archive: ${(cause ?? audit).message}`, exitCode: ExitCode.Config };
  }
  if (audit.code === "ERR_AUDIT_ARCHIVE") {
    return {
      message: `archival failed after moving ${audit.archived ?? 0} event(s) to the archive.\n  ${errorMessage(audit.cause)}\nEvery event moved is safely archived; fix the problem and run the same command again to continue.`,
      exitCode: ExitCode.Failure,
    };
  }
  if (audit.code === "ERR_AUDIT_QUERY" || audit.code === "ERR_AUDIT_CURSOR") return { message: audit.message, exitCode: ExitCode.Usage };
  const hint = audit.code === "ERR_AUDIT_STORE" ? "\nCheck that the database is running and reachable with the connection settings in your config file." : "";
  return { message: `${audit.message}${hint}`, exitCode: ExitCode.Failure };
}

function stackOf(error: unknown): string {
  const lines: string[] = [];
  for (let current = error, depth = 0; current != null && depth < 5; current = (current as { cause?: unknown }).cause, depth++) {
    lines.push(`${depth === 0 ? "" : "Caused by: "}${current instanceof Error ? (current.stack ?? thrownMessage(current)) : thrownMessage(current)}`);
  }
  return lines.join("\n");
}
