import { suggestion } from "./config/suggestion";
import { AuditError } from "./errors";
import { EVENT_OUTCOMES, EVENT_SEVERITIES, type EventOutcome, type EventSeverity } from "./model/event-record";
import { INVISIBLE_CHARACTER, tenantIdProblem } from "./model/tenant-id";
import { isAcceptedRequestId } from "./request-id";

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
  // An action is a name the application chose, filtered and counted by: one a terminal
  // would hide part of, or a filter could never name, is a mistake to say, not to store.
  if (INVISIBLE_CHARACTER.test(action)) {
    throw new AuditError("ERR_AUDIT_EVENT_FIELD", `${where}: action ${describe(action)} holds a control or format character; name it with visible characters, such as "order.refund".`);
  }
  return action;
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
 * The id of a tenant or request the application names itself (`new AuditContext({ tenantId,
 * requestId })`, a restored job context): `null`/`undefined` for none, else the string as
 * it is, when it is an id: a tenant id by {@link tenantIdProblem}'s rules, a request id
 * as a request's header must be (1 to 191 visible ASCII characters). Never cleaned up or
 * cut, which could make two ids one.
 *
 * @throws {AuditError} `ERR_AUDIT_EVENT_FIELD` for anything else.
 */
export function explicitId(value: unknown, name: "tenantId" | "requestId", where: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== "string") {
    throw new AuditError("ERR_AUDIT_EVENT_FIELD", `${where}: ${name} must be a string (or null for none), got ${describe(value)}.`);
  }
  if (name === "tenantId") {
    const problem = tenantIdProblem(value);
    if (problem !== undefined) throw new AuditError("ERR_AUDIT_EVENT_FIELD", `${where}: tenantId ${describe(value)} is not a tenant id: ${problem}.`);
  } else if (!isAcceptedRequestId(value)) {
    throw new AuditError("ERR_AUDIT_EVENT_FIELD", `${where}: requestId must be 1 to 191 visible ASCII characters (no space or control character), such as a UUID; got ${describe(value)}.`);
  }
  return value;
}
