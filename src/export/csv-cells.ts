import { EVENT_FIELDS, type AuditEventRecord } from "../model/event-record";

/** Characters that make a spreadsheet read a cell as a formula (OWASP "CSV injection"). */
const FORMULA_START = new Set(["=", "+", "-", "@", "\t", "\r"]);

/**
 * Prefixes `'` to a cell that a spreadsheet would run as a formula, so `=HYPERLINK(...)`
 * in an event's content is shown, not evaluated.
 *
 * @example
 * ```ts
 * neutralizeFormula("=1+1"); // "'=1+1"
 * neutralizeFormula("refund"); // "refund"
 * ```
 */
export function neutralizeFormula(cell: string): string {
  return cell.length > 0 && FORMULA_START.has(cell[0]!) ? `'${cell}` : cell;
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
