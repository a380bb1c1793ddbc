import { CommanderError } from "commander";

import { CliError, errorMessage } from "./cli-error";
import { ExitCode } from "./exit-codes";
import { terminalMessage } from "./terminal-text";
import { thrownMessage } from "../thrown-message";
import { databaseAnswerCode } from "../stores/store-failure";

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
 * Database answers that mean it could not serve the connection: SQLSTATE class 08
 * (connection exception), PostgreSQL shutting down, starting or out of connections
 * (57P01-57P03, 53300); MySQL's too many connections (1040), shutdown in progress (1053),
 * and its clients' cannot connect and lost connection (2002, 2003, 2006, 2013).
 */
const UNAVAILABLE = /^(?:08[0-9A-Z]{3}|57P0[123]|53300|1040|1053|2002|2003|2006|2013)$/;
/** The role may not do this to the table: PostgreSQL's insufficient_privilege (42501); MySQL's database, table and column access denied (1044, 1142, 1143). */
const PRIVILEGE = /^(?:42501|1044|1142|1143)$/;
/** The login was refused: PostgreSQL's invalid authorization and invalid password (28000, 28P01); MySQL's access denied for a user (1045). */
const LOGIN = /^(?:28000|28P01|1045)$/;
/** The server has no database of that name: PostgreSQL's invalid_catalog_name (3D000), MySQL's unknown database (1049). */
const UNKNOWN_DATABASE = /^(?:3D000|1049)$/;

/**
 * What to check after a store failure, by what the database answered: that it runs and is
 * reachable when it could take no connection (or, with `unanswered`, when no database
 * answered at all: a refused connection, a timeout); the roles of `audit-events grants`
 * when it refused a privilege; the user and password when it refused the login; the
 * database name when the server has none of that name. Nothing
 * when it answered otherwise: its own message, quoted in the error, says what it refused
 * (a missing column, a value out of range).
 */
function storeHint(error: unknown, unanswered: boolean): string {
  const code = databaseAnswerCode(error);
  if (code === undefined ? unanswered : UNAVAILABLE.test(code)) return "\nCheck that the database is running and reachable with the connection settings in your config file.";
  if (code === undefined) return "";
  if (PRIVILEGE.test(code)) {
    return (
      "\nThe database refused the role your config file connects as: run the command as a role that may (`audit-events grants` prints them; " +
      "the application's role reads, the archiver's role archives), or grant it what the README's \"Database roles\" table lists."
    );
  }
  if (LOGIN.test(code)) return "\nThe database refused the login: check the user and password in the connection settings of your config file.";
  if (UNKNOWN_DATABASE.test(code)) return "\nThe server has no database of that name: check the database name in the connection settings of your config file.";
  return "";
}

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
  if (audit.code === "ERR_AUDIT_ARCHIVE" && cause !== undefined && isConfigCode(cause.code)) {
    return { message: `the store in the config file cannot archive: ${cause.message}`, exitCode: ExitCode.Config };
  }
  // Commands that use a store wrap these with their purpose (withConfig); one from elsewhere names none.
  if (isConfigCode(audit.code)) return { message: audit.message, exitCode: ExitCode.Config };
  if (audit.code === "ERR_AUDIT_ARCHIVE") {
    return {
      message: `archival failed after moving ${audit.archived ?? 0} event(s) to the archive.\n  ${errorMessage(audit.cause)}${storeHint(audit.cause, false).replace("\n", "\n  ")}\nEvery event moved is safely archived; fix the problem and run the same command again to continue.`,
      exitCode: ExitCode.Failure,
    };
  }
  if (audit.code === "ERR_AUDIT_QUERY" || audit.code === "ERR_AUDIT_CURSOR") return { message: audit.message, exitCode: ExitCode.Usage };
  const hint = audit.code === "ERR_AUDIT_STORE" ? storeHint(audit, true) : "";
  return { message: `${audit.message}${hint}`, exitCode: ExitCode.Failure };
}

function stackOf(error: unknown): string {
  const lines: string[] = [];
  for (let current = error, depth = 0; current != null && depth < 5; current = (current as { cause?: unknown }).cause, depth++) {
    lines.push(`${depth === 0 ? "" : "Caused by: "}${current instanceof Error ? (current.stack ?? thrownMessage(current)) : thrownMessage(current)}`);
  }
  return lines.join("\n");
}
