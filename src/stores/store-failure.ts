import { AuditError } from "../errors";

/** Prisma codes for a value or row the database refuses, whatever the connection. */
const PRISMA_DATA_CODES = new Set(["P2000", "P2003", "P2004", "P2005", "P2006", "P2007", "P2011", "P2012", "P2019", "P2020", "P2023"]);
/** MySQL/MariaDB errors about the row itself: null, duplicate, out of range, too long, bad value, foreign key, check. */
const MYSQL_DATA_CODES = new Set(["1048", "1062", "1136", "1264", "1292", "1364", "1366", "1406", "1452", "3140", "3819", "4025"]);

interface ErrorShape {
  name?: unknown;
  code?: unknown;
  cause?: unknown;
  message?: unknown;
  meta?: { code?: unknown; driverAdapterError?: { cause?: { originalCode?: unknown; originalMessage?: unknown } } };
  /** node-postgres' DatabaseError: `ERROR`, `FATAL`... */
  severity?: unknown;
  /** The mariadb driver's SqlError: the server's error number, or the driver's own from 45000. */
  errno?: unknown;
  sqlState?: unknown;
}

/** The database's own error code (SQLSTATE or MySQL number) behind a Prisma error, if any. */
function databaseCode(error: ErrorShape): string | undefined {
  // An error at COMMIT of an interactive transaction (a deferred constraint) reaches the
  // caller as the driver adapter's own error, unwrapped: its code is on its cause.
  const adapterCause = error.name === "DriverAdapterError" ? (error.cause as { originalCode?: unknown } | undefined) : undefined;
  const original = error.meta?.driverAdapterError?.cause?.originalCode ?? error.meta?.code ?? adapterCause?.originalCode;
  return typeof original === "string" || typeof original === "number" ? String(original) : undefined;
}

/** The mariadb driver's own error numbers (a pool timeout, 45028, a socket error): not the server's. */
const isMariadbDriverCode = (code: string): boolean => /^45\d{3}$/.test(code);
/** How the mariadb driver writes a server's answer into the text of its own error: `(conn:75, no: 1044, SQLState: 42000) Access denied…`. */
const MARIADB_SERVER_ANSWER = /\bno: (\d{4}), SQLState: [0-9A-Z]{5}\)/;

/** A SQLSTATE: five digits or upper-case letters. */
const SQLSTATE = /^[0-9A-Z]{5}$/;

/**
 * The code the database itself answered with, the first found along `error` and its
 * causes: a SQLSTATE (PostgreSQL) or an error number (MySQL, MariaDB) behind Prisma's
 * driver adapters, on a node-postgres error (its `code`, with its `severity`) or on a
 * mariadb driver error (its `errno`, with its `sqlState`; the driver's own errors, from
 * 45000 up, are not the server's). Undefined when no database answered: a refused or
 * reset connection, a timeout, a name that does not resolve.
 *
 * @example databaseAnswerCode(Object.assign(new Error("permission denied for table audit_events"), { severity: "ERROR", code: "42501" })) // "42501"
 * @example databaseAnswerCode(Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" })) // undefined
 */
export function databaseAnswerCode(error: unknown): string | undefined {
  for (let current = error as ErrorShape | undefined, depth = 0; current && depth < 5; current = current.cause as ErrorShape, depth++) {
    const code = databaseCode(current);
    if (code !== undefined && !isMariadbDriverCode(code)) return code;
    if (code !== undefined) {
      // The driver's own error (a pool timeout) may carry the server's answer as text.
      const reason = (current.meta?.driverAdapterError?.cause as { cause?: unknown } | undefined)?.cause;
      const server = typeof reason === "string" ? MARIADB_SERVER_ANSWER.exec(reason) : null;
      if (server !== null) return server[1];
    }
    if (typeof current.severity === "string" && typeof current.code === "string" && SQLSTATE.test(current.code)) return current.code;
    if (typeof current.errno === "number" && current.errno < 45000 && typeof current.sqlState === "string") return String(current.errno);
  }
  return undefined;
}

/**
 * Whether the store refused these rows for what they hold (a constraint, a value
 * too long, a wrong type), so that writing them again can never succeed; as
 * opposed to an outage (connection refused, timeout, server gone), which a retry
 * outlives. Unknown errors count as outages: retrying loses nothing.
 */
export function isRefusedData(error: unknown): boolean {
  for (let current = error as ErrorShape | undefined, depth = 0; current && depth < 5; current = current.cause as ErrorShape, depth++) {
    if (current instanceof AuditError && (current.code === "ERR_AUDIT_CONFIG" || current.code === "ERR_AUDIT_SERIALIZE")) return true;
    if (current.name === "PrismaClientValidationError") return true;
    if (typeof current.code === "string" && PRISMA_DATA_CODES.has(current.code)) return true;
    const code = databaseCode(current);
    if (code !== undefined && (/^2[23][0-9A-Z]{3}$/.test(code) || MYSQL_DATA_CODES.has(code) || /^SQLITE_(CONSTRAINT|MISMATCH|TOOBIG)/.test(code))) return true;
  }
  return false;
}

/**
 * Whether PostgreSQL refused a statement as a feature it does not support for this table
 * (SQLSTATE 0A000), e.g. `INSERT ... ON CONFLICT` on a table with `ON INSERT` rules:
 * the same rows may still go in through a plain `INSERT`.
 */
export function isFeatureNotSupported(error: unknown): boolean {
  for (let current = error as ErrorShape | undefined, depth = 0; current && depth < 5; current = current.cause as ErrorShape, depth++) {
    if (databaseCode(current) === "0A000" || current.code === "0A000") return true;
  }
  return false;
}

/** MySQL 3024 (`max_execution_time` exceeded) and MariaDB 1969 (`max_statement_time` exceeded): a statement stopped for its time. */
const STATEMENT_TIME_CODES = new Set(["3024", "1969"]);
/**
 * PostgreSQL's SQLSTATE 57014 (query_canceled) is raised for `statement_timeout` and for a
 * cancel request alike (`pg_cancel_backend`, a pooler's query timeout): only its message
 * tells them apart, in the server's `lc_messages` language (English by default; another
 * language reads as a cancel, which leaves the writes' size alone).
 */
const POSTGRES_STATEMENT_TIMEOUT = /statement timeout/i;

/**
 * Whether a write failed because it ran out of time while the database worked on it: an
 * interactive transaction past its limit (Prisma P2028 "…expired transaction", the
 * buffered writer's path for a large batch: 60 s), or a statement stopped by the
 * database's own limit (PostgreSQL's `statement_timeout`, MySQL's `max_execution_time`,
 * MariaDB's `max_statement_time`). A smaller write may then succeed, where another
 * outage (connection refused, a lock wait timeout, a cancel request, a transaction that
 * could not start in time) is not about the write's size. A transaction that expired
 * while it waited on a lock cannot be told from one that expired while it wrote: it
 * counts as a time limit.
 */
export function isTimeLimit(error: unknown): boolean {
  for (let current = error as ErrorShape | undefined, depth = 0; current && depth < 5; current = current.cause as ErrorShape, depth++) {
    if (current.code === "P2028" && /expired transaction/i.test(String(current.message))) return true;
    const code = databaseCode(current) ?? (typeof current.code === "string" ? current.code : undefined);
    if (code !== undefined && STATEMENT_TIME_CODES.has(code)) return true;
    if (code === "57014" && POSTGRES_STATEMENT_TIMEOUT.test(`${String(current.message)} ${String(current.meta?.driverAdapterError?.cause?.originalMessage)}`)) return true;
  }
  return false;
}
