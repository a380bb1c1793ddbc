import { EVENT_FIELDS, type AuditEventRecord } from "../model/event-record";

/**
 * Where a spreadsheet may start a cell inside one of ours, before a formula character
 * (`=`, `+`, `-`, `@`, tab, carriage return; OWASP "CSV injection"): the cell's start, and
 * after each `;` and tab (the list separators spreadsheets use besides `,`: Excel opens a
 * .csv with `;` in most of continental Europe, where our quotes, in the middle of its
 * fields, mean nothing) and each line break (a new row there). A cell starting with a
 * space is text to spreadsheets.
 */
const FORMULA_CELL_START = /(?<=^|[;\t\r\n])(?=[=+\-@\t\r])/g;

/**
 * Prefixes `'` to every part of a cell that a spreadsheet could read as a cell starting
 * a formula, so `=HYPERLINK(...)` in an event's content is shown, not evaluated: the
 * cell's start, and what follows a `;`, a tab or a line break in it (see
 * {@link FORMULA_CELL_START}).
 *
 * @example
 * ```ts
 * neutralizeFormula("=1+1"); // "'=1+1"
 * neutralizeFormula("ok;=cmd|' /C calc'!A0"); // "ok;'=cmd|' /C calc'!A0"
 * neutralizeFormula("refund"); // "refund"
 * ```
 */
export function neutralizeFormula(cell: string): string {
  return cell.replace(FORMULA_CELL_START, "'");
}

/** The CSV header: the stored field names, in column order. */
export const CSV_COLUMNS: readonly string[] = EVENT_FIELDS;

/**
 * The cells of one event, in {@link CSV_COLUMNS} order: the timestamp as ISO 8601,
 * JSON fields as JSON text, null as an empty cell, each made formula-safe.
 *
 * @example
 * ```ts
 * csvCells(event); // ["0190...", "2026-05-01T22:30:00.000Z", "Order", "42", "{\"action\":\"refund\"}", ...]
 * ```
 */
export function csvCells(event: AuditEventRecord): string[] {
  return EVENT_FIELDS.map((field) => {
    const value = event[field];
    if (value === null) return "";
    // By tag, not instanceof: a Date of another realm (a structuredClone's, a vm context's) is a Date too.
    if (Object.prototype.toString.call(value) === "[object Date]") return (value as Date).toISOString();
    return neutralizeFormula(typeof value === "string" ? value : JSON.stringify(value));
  });
}
