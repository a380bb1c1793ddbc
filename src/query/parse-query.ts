import { normalizeClientIp } from "../client-ip";
import { boundText, TEXT_COLUMN_LIMITS } from "../column-limits";
import { AuditConfigError } from "../errors";
import type { AuditStore } from "../stores/store";
import type { AuditQuery } from "./audit-query";
import type { ContentValue, EventFilter, EventOrder, EventSource } from "../model/event-filter";
import { EVENT_OUTCOMES, EVENT_SEVERITIES, type EventOutcome, type EventSeverity } from "../model/event-record";
import { checkInstant } from "./instant-range";
import { AuditQueryError } from "./query-error";
import { tenantIdProblem } from "../model/tenant-id";
import { receivedValue } from "../received-value";

/** Default page size of `findEvents()` and of `GET /events`. */
export const DEFAULT_PAGE_SIZE = 50;
/** Largest page `findEvents()` reads. */
export const MAX_PAGE_SIZE = 1000;
/** Longest filter string accepted: longer ones cannot match a stored column anyway. */
export const MAX_FILTER_LENGTH = 512;
/** Most content keys one query may match. */
export const MAX_CONTENT_KEYS = 16;

const STRING_FILTERS = ["contentType", "objectId", "userId", "method", "remoteAddr", "action", "tenantId", "requestId", "search"] as const;
const QUERY_KEYS: ReadonlySet<string> = new Set([...STRING_FILTERS, "outcome", "severity", "since", "until", "content", "order", "source", "store", "limit", "cursor"]);
const ORDERS: readonly EventOrder[] = ["asc", "desc"];
const SOURCES: readonly EventSource[] = ["live", "archive", "all"];
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/;
/** Half a UTF-16 surrogate pair: no database stores it, and PostgreSQL's JSON refuses it. */
const LONE_SURROGATE = /\p{Cs}/u;
/**
 * Content keys become JSON paths on MySQL and SQLite (`$."key"`), where quotes and
 * backslashes cannot be escaped the same way everywhere: keys are letters, digits and
 * `_ - . : @` and spaces.
 */
const CONTENT_KEY = /^[\p{L}\p{N}_\-.:@ ]{1,128}$/u;

function filterString(name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string") throw new AuditQueryError(`${name} must be a string, not ${receivedValue(value)}.`);
  if (value.length === 0) throw new AuditQueryError(`${name} must not be empty; leave it out to match every event.`);
  if (value.length > MAX_FILTER_LENGTH) throw new AuditQueryError(`${name} is ${value.length} characters long; at most ${MAX_FILTER_LENGTH} are accepted.`);
  if (CONTROL_CHARACTER.test(value)) throw new AuditQueryError(`${name} contains a control character, which no stored value holds.`);
  if (LONE_SURROGATE.test(value)) throw new AuditQueryError(`${name} holds half of a UTF-16 surrogate pair, which no stored value holds; pass well-formed text.`);
  return value;
}

/**
 * A filter value in the form its column stores: an address normalized as the
 * middleware stores it, and a value longer than its column cut the same way, so
 * that a query with the value as sent finds the event.
 */
function storedForm(name: (typeof STRING_FILTERS)[number], value: string): string {
  if (name === "search") return value;
  return boundText(name === "remoteAddr" ? (normalizeClientIp(value) ?? value) : value, TEXT_COLUMN_LIMITS[name]);
}

/**
 * The tenant a read is limited to, checked by the rule every stored tenant id
 * follows (`tenantIdProblem`): 1 to 191 characters, no control or format character, no
 * space at either end. Taken as it is, never cut, so no two tenants' ids meet.
 *
 * @throws {AuditQueryError} `ERR_AUDIT_QUERY` when it is not a tenant id.
 * @example
 * ```ts
 * storedTenantId("acme"); // "acme"
 * ```
 */
export function storedTenantId(value: unknown): string {
  const text = filterString("tenantId", value);
  if (text === undefined) throw new AuditQueryError("tenantId must be a string, not undefined.");
  // The same rule as the write side's: a tenant id is taken as it is or refused, never cut.
  const problem = tenantIdProblem(text);
  if (problem !== undefined) throw new AuditQueryError(`tenantId ${JSON.stringify(text.slice(0, 60))} is not a tenant id: ${problem}.`);
  return text;
}

function filterDate(name: string, value: unknown): Date | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) {
    throw new AuditQueryError(`${name} must be a valid Date, such as new Date("2026-01-01T00:00:00Z"), not ${receivedValue(value)}.`);
  }
  return checkInstant(name, new Date(value.getTime()));
}

function contentValue(key: string, value: unknown): ContentValue {
  if (typeof value === "boolean") return value;
  if (typeof value === "number" && Number.isFinite(value)) return value;
  if (typeof value === "string") return filterString(`content.${key}`, value) ?? "";
  throw new AuditQueryError(`content.${key} must be a string, a finite number or a boolean, not ${receivedValue(value)}.`);
}

function contentFilter(value: unknown): Array<readonly [string, ContentValue]> {
  if (value === undefined) return [];
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new AuditQueryError(`content must be an object of top-level keys and values, such as { action: "refund" }, not ${receivedValue(value)}.`);
  }
  const keys = Object.keys(value);
  if (keys.length > MAX_CONTENT_KEYS) throw new AuditQueryError(`content names ${keys.length} keys; at most ${MAX_CONTENT_KEYS} are accepted.`);
  return keys.map((key) => {
    if (!CONTENT_KEY.test(key)) {
      throw new AuditQueryError(`content key ${JSON.stringify(key.slice(0, 40))} is not accepted: use letters, digits, spaces and _ - . : @ (at most 128).`);
    }
    return [key, contentValue(key, (value as Record<string, unknown>)[key])] as const;
  });
}

function oneOf<T extends string>(name: string, value: unknown, allowed: readonly T[], fallback: T): T;
function oneOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): T | undefined;
function oneOf<T extends string>(name: string, value: unknown, allowed: readonly T[], fallback?: T): T | undefined {
  if (value === undefined) return fallback;
  if (typeof value === "string" && (allowed as readonly string[]).includes(value)) return value as T;
  throw new AuditQueryError(`${name} must be one of ${allowed.map((a) => `"${a}"`).join(", ")}, not ${receivedValue(value)}.`);
}

/**
 * Checks a query and returns its filters. Unknown keys are refused, so a typo
 * (`userID`) cannot silently widen a query to every event.
 *
 * @throws {AuditQueryError} `ERR_AUDIT_QUERY` naming the first wrong field.
 * @example
 * ```ts
 * const filter = parseEventFilter({ userId: "u1", since: new Date("2026-01-01") });
 * ```
 */
export function parseEventFilter(query: AuditQuery = {}): EventFilter {
  if (typeof query !== "object" || query === null || Array.isArray(query)) throw new AuditQueryError(`A query must be an object, not ${receivedValue(query)}.`);
  for (const key of Object.keys(query)) {
    if (!QUERY_KEYS.has(key)) throw new AuditQueryError(`Unknown query field "${key}". Known fields: ${[...QUERY_KEYS].join(", ")}.`);
  }
  const strings = Object.fromEntries(
    STRING_FILTERS.map((name) => {
      const value = filterString(name, query[name]);
      return [name, value === undefined ? undefined : storedForm(name, value)];
    }).filter(([, v]) => v !== undefined),
  );
  const since = filterDate("since", query.since);
  const until = filterDate("until", query.until);
  if (since !== undefined && until !== undefined && since > until) {
    throw new AuditQueryError(`since (${since.toISOString()}) is after until (${until.toISOString()}); nothing can match.`);
  }
  const outcome = oneOf<EventOutcome>("outcome", query.outcome, EVENT_OUTCOMES);
  const severity = oneOf<EventSeverity>("severity", query.severity, EVENT_SEVERITIES);
  return {
    ...strings,
    ...(outcome === undefined ? {} : { outcome }),
    ...(severity === undefined ? {} : { severity }),
    ...(since === undefined ? {} : { since }),
    ...(until === undefined ? {} : { until }),
    content: contentFilter(query.content),
    source: oneOf("source", query.source, SOURCES, "live"),
  };
}

/**
 * The order of a query.
 *
 * @default "desc"
 * @throws {AuditQueryError} when it is neither "asc" nor "desc".
 */
export function parseOrder(value: unknown): EventOrder {
  return oneOf("order", value, ORDERS, "desc");
}

/**
 * A page size: a whole number from 1 to `max`.
 *
 * @throws {AuditQueryError} naming the range.
 * @example
 * ```ts
 * parsePageSize(undefined); // 50
 * ```
 */
export function parsePageSize(value: unknown, max = MAX_PAGE_SIZE): number {
  if (value === undefined) return DEFAULT_PAGE_SIZE;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > max) {
    throw new AuditQueryError(`limit must be a whole number from 1 to ${max}, not ${receivedValue(value)}.`);
  }
  return value;
}

/**
 * The store a query names, else `fallback()`'s, checked to be one that can read.
 *
 * @throws {AuditConfigError} `ERR_AUDIT_NO_STORE` when there is none; `ERR_AUDIT_CONFIG` when it cannot read.
 */
export function readableStore(store: AuditStore | undefined, fallback: () => AuditStore | undefined): AuditStore {
  const chosen = store ?? fallback();
  if (chosen === undefined) {
    throw new AuditConfigError("No audit store to read: call configureAudit({ store: prismaStore(prisma) }) first, or pass { store } in the query.", "ERR_AUDIT_NO_STORE");
  }
  if (typeof chosen.queryEvents !== "function" || typeof chosen.countEvents !== "function" || typeof chosen.summarizeEvents !== "function") {
    throw new AuditConfigError(`The store ${String(chosen.name)} cannot read events: it lacks queryEvents, countEvents or summarizeEvents. Use prismaStore() or memoryStore().`);
  }
  return chosen;
}
