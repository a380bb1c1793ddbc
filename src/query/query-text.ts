import type { ContentValue } from "../model/event-filter";
import { checkInstant } from "./instant-range";
import { AuditQueryError } from "./query-error";

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;
const JSON_SCALAR = /^(true|false|-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?|"(?:[^"\\]|\\.)*")$/;

/**
 * A moment written as text (a query parameter, a command-line option): an ISO 8601
 * date (midnight UTC) or a date-time with its zone. A date-time without a zone is
 * refused rather than read in the server's own zone, and so is a moment outside the
 * span every database holds (see `EARLIEST_INSTANT`).
 *
 * @example
 * ```ts
 * parseIsoMoment("since", "2026-01-31T12:00:00Z");
 * ```
 * @throws {AuditQueryError} naming `name` and the accepted forms.
 */
export function parseIsoMoment(name: string, text: string): Date {
  const moment = DATE.test(text) || DATE_TIME.test(text) ? new Date(text) : new Date(Number.NaN);
  // new Date() rolls 2026-02-30 over to March; a date that does not exist is refused.
  if (Number.isNaN(moment.getTime()) || (DATE.test(text.slice(0, 10)) && !dayExists(text))) {
    throw new AuditQueryError(`${name} must be an ISO 8601 date or date-time with a zone, such as 2026-01-31 or 2026-01-31T12:00:00Z.`);
  }
  return checkInstant(name, moment);
}

/** Whether the YYYY-MM-DD the text starts with is a day of the calendar. */
function dayExists(text: string): boolean {
  const [year, month, day] = text.slice(0, 10).split("-").map(Number) as [number, number, number];
  return month >= 1 && month <= 12 && day >= 1 && day <= new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * A content value written as text: a JSON number, `true`/`false` or a quoted JSON
 * string is that JSON value; anything else is the text itself. So `amount=9` matches
 * the number 9 and `code="9"` the string "9".
 *
 * @example
 * ```ts
 * parseContentValue("42"); // 42
 * parseContentValue("refund"); // "refund"
 * ```
 */
export function parseContentValue(text: string): ContentValue {
  if (!JSON_SCALAR.test(text)) return text;
  try {
    return JSON.parse(text) as ContentValue;
  } catch {
    return text;
  }
}
