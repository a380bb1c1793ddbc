import { suggestion } from "./config/suggestion";
import { AuditError } from "./errors";
import { EVENT_OUTCOMES, EVENT_SEVERITIES, type EventOutcome, type EventSeverity } from "./model/event-record";
import { INVISIBLE_CHARACTER, tenantIdProblem } from "./model/tenant-id";
import { isAcceptedRequestId } from "./request-id";
import { receivedValue } from "./received-value";

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

/**
 * Checks an event's `action`, `outcome` and `severity` (called for every event: a
 * misspelt outcome must never be stored as a new kind of outcome).
 *
 * @throws {AuditError} `ERR_AUDIT_EVENT_FIELD` naming the field, `where`, and the accepted values.
 */
export function checkEventFields(input: EventFieldsInput, where: string): EventFields {
  const { action, outcome, severity } = input;
  if (outcome !== undefined && !EVENT_OUTCOMES.includes(outcome as EventOutcome)) {
    throw new AuditError("ERR_AUDIT_EVENT_FIELD", `${where}: outcome must be one of ${OUTCOMES_TEXT} (default "success"), got ${receivedValue(outcome)}.`);
  }
  if (severity !== undefined && !EVENT_SEVERITIES.includes(severity as EventSeverity)) {
    throw new AuditError("ERR_AUDIT_EVENT_FIELD", `${where}: severity must be one of ${SEVERITIES_TEXT} (default "info"), got ${receivedValue(severity)}.`);
  }
  return { action: checkAction(action, where), outcome: outcome as EventOutcome | undefined, severity: severity as EventSeverity | undefined };
}

function checkAction(action: unknown, where: string): string | null | undefined {
  if (action === undefined || action === null) return action;
  if (typeof action !== "string" || action.trim().length === 0) {
    throw new AuditError(
      "ERR_AUDIT_EVENT_FIELD",
      `${where}: action must be a non-blank string naming what was done, such as "order.refund" (or null for none), got ${receivedValue(action)}.`,
    );
  }
  // An action is a name the application chose, filtered and counted by: one a terminal
  // would hide part of, or a filter could never name, is a mistake to say, not to store.
  if (INVISIBLE_CHARACTER.test(action)) {
    throw new AuditError("ERR_AUDIT_EVENT_FIELD", `${where}: action ${receivedValue(action)} holds a control or format character; name it with visible characters, such as "order.refund".`);
  }
  return action;
}

/** The keys of `createEvent`'s options. */
const OPTION_KEYS: readonly string[] = ["tx", "action", "outcome", "severity", "user"];
/**
 * Fields of an event that come from its context, not from one call: where an event's
 * options name one, the refusal says where it is set.
 */
const CONTEXT_FIELDS: Readonly<Record<string, string>> = {
  tenantId: "An event's tenant is its context's: set it with configureAudit({ tenantResolver }) for requests, or new AuditContext({ tenantId }) for jobs.",
  requestId: "An event's request id is its context's: the middleware takes it from the request (requestIdHeader), or new AuditContext({ requestId }) for jobs.",
  userId: 'Name this event\'s user with { user } (an object with an id, or the id itself).',
  content: "Content is createEvent's second argument: createEvent(object, content, options).",
};
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
      const hint = Object.hasOwn(CONTEXT_FIELDS, key) ? ` ${CONTEXT_FIELDS[key]}` : suggestion(key, known);
      throw new AuditError("ERR_AUDIT_EVENT_FIELD", `${where}: unknown key "${key}".${hint} Known keys: ${known.join(", ")}.`);
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
    throw new AuditError("ERR_AUDIT_EVENT_FIELD", `${where}: ${name} must be a string (or null for none), got ${receivedValue(value)}.`);
  }
  if (name === "tenantId") {
    const problem = tenantIdProblem(value);
    if (problem !== undefined) throw new AuditError("ERR_AUDIT_EVENT_FIELD", `${where}: tenantId ${receivedValue(value)} is not a tenant id: ${problem}.`);
  } else if (!isAcceptedRequestId(value)) {
    throw new AuditError("ERR_AUDIT_EVENT_FIELD", `${where}: requestId must be 1 to 191 visible ASCII characters (no space or control character), such as a UUID; got ${receivedValue(value)}.`);
  }
  return value;
}
