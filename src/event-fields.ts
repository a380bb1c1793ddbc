import { suggestion } from "./config/suggestion";
import { AuditError } from "./errors";
import { EVENT_OUTCOMES, EVENT_SEVERITIES, type EventOutcome, type EventSeverity } from "./model/event-record";
import { sanitizeString } from "./serialize";

/** An event's own model fields, as the caller gave them (a draft's, or an event's options). */
export interface EventFieldsInput {
  action?: unknown;
  outcome?: unknown;
  severity?: unknown;
}

/** An event's own model fields, checked; `undefined` where the caller gave none. */
export interface EventFields {
  action: string | null | undefined;
  outcome: EventOutcome | undefined;
  severity: EventSeverity | undefined;
}

const quoted = (values: readonly string[]) => values.map((v) => JSON.stringify(v)).join(", ");
const OUTCOMES_TEXT = quoted(EVENT_OUTCOMES);
const SEVERITIES_TEXT = quoted(EVENT_SEVERITIES);

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return `the string ${JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value)}`;
  return `a ${typeof value}`;
}

/**
 * Checks an event's `action`, `outcome` and `severity` (called for every event: a
 * misspelt outcome must never be stored as a new kind of outcome).
 *
 * @throws {AuditError} `ERR_AUDIT_EVENT_FIELD` naming the field, `where`, and the accepted values.
 */
export function checkEventFields(input: EventFieldsInput, where: string): EventFields {
  const { action, outcome, severity } = input;
  if (outcome !== undefined && !EVENT_OUTCOMES.includes(outcome as EventOutcome)) {
    throw new AuditError("ERR_AUDIT_EVENT_FIELD", `${where}: outcome must be one of ${OUTCOMES_TEXT} (default "success"), got ${describe(outcome)}.`);
  }
  if (severity !== undefined && !EVENT_SEVERITIES.includes(severity as EventSeverity)) {
    throw new AuditError("ERR_AUDIT_EVENT_FIELD", `${where}: severity must be one of ${SEVERITIES_TEXT} (default "info"), got ${describe(severity)}.`);
  }
  return { action: checkAction(action, where), outcome: outcome as EventOutcome | undefined, severity: severity as EventSeverity | undefined };
}

function checkAction(action: unknown, where: string): string | null | undefined {
  if (action === undefined || action === null) return action;
  if (typeof action !== "string" || action.trim().length === 0) {
    throw new AuditError(
      "ERR_AUDIT_EVENT_FIELD",
      `${where}: action must be a non-blank string naming what was done, such as "order.refund" (or null for none), got ${describe(action)}.`,
    );
  }
  return sanitizeString(action);
}

/** The keys of `createEvent`'s options. */
const OPTION_KEYS: readonly string[] = ["tx", "action", "outcome", "severity", "user"];
/** The keys of a `createEvents` item. */
const ITEM_KEYS: readonly string[] = ["contentObject", "content", ...OPTION_KEYS];

/**
 * Refuses an options object (or a `createEvents` item) with a key it does not know,
 * so that `{ severty: "error" }` is not an event of severity "info" in silence.
 *
 * @throws {AuditError} `ERR_AUDIT_EVENT_FIELD` naming the key and the likely one.
 */
export function checkOptionKeys(options: object, where: string, item = false): void {
  const known = item ? ITEM_KEYS : OPTION_KEYS;
  for (const key in options) {
    if (!known.includes(key)) {
      throw new AuditError("ERR_AUDIT_EVENT_FIELD", `${where}: unknown key "${key}".${suggestion(key, known)} Known keys: ${known.join(", ")}.`);
    }
  }
}

/**
 * The id of a tenant the application names itself (`new AuditContext({ tenantId })`,
 * a restored job context): `null`/`undefined` for none, else a non-blank string,
 * sanitized (its length is bounded with the record's other columns).
 *
 * @throws {AuditError} `ERR_AUDIT_EVENT_FIELD` for anything else.
 */
export function explicitId(value: unknown, name: "tenantId" | "requestId", where: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== "string" || value.trim().length === 0) {
    throw new AuditError("ERR_AUDIT_EVENT_FIELD", `${where}: ${name} must be a non-blank string (or null for none), got ${describe(value)}.`);
  }
  return sanitizeString(value);
}
