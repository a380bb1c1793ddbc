import { AuditQueryError } from "./query-error";

/**
 * The earliest instant a query, a cursor or an archive cut-off may name. MySQL and
 * MariaDB `DATETIME` columns hold years 1000 to 9999, PostgreSQL refuses year 0 and
 * negative years in ISO text, and SQLite compares timestamps as text, which orders
 * only four-digit years: the span every database takes is 1000-01-01 to 9999-12-31.
 */
export const EARLIEST_INSTANT = new Date("1000-01-01T00:00:00.000Z");
/** The latest instant a query, a cursor or an archive cut-off may name: see {@link EARLIEST_INSTANT}. */
export const LATEST_INSTANT = new Date("9999-12-31T23:59:59.999Z");
// A Date can be changed in place; the checks keep their own copy of the span.
const EARLIEST_MS = EARLIEST_INSTANT.getTime();
const LATEST_MS = LATEST_INSTANT.getTime();

/** Whether `moment` is a valid Date inside the span every supported database holds. */
export function isInstantInRange(moment: Date): boolean {
  const millis = moment.getTime();
  return millis >= EARLIEST_MS && millis <= LATEST_MS;
}

/**
 * Checks that `moment` lies inside the span every supported database holds.
 *
 * @throws {AuditQueryError} `ERR_AUDIT_QUERY` naming `name` and the span.
 * @example
 * ```ts
 * checkInstant("since", new Date("0000-01-01")); // throws: since must lie between 1000-01-01 and 9999-12-31
 * ```
 */
export function checkInstant(name: string, moment: Date): Date {
  if (!isInstantInRange(moment)) {
    const shown = Number.isNaN(moment.getTime()) ? "an invalid date" : moment.toISOString();
    throw new AuditQueryError(`${name} must lie between ${new Date(EARLIEST_MS).toISOString()} and ${new Date(LATEST_MS).toISOString()} (the span every supported database holds), not ${shown}.`);
  }
  return moment;
}
