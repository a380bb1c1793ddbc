import type { AuditQuery } from "../query/audit-query";
import type { ContentValue } from "../model/event-filter";
import { AuditQueryError } from "../query/query-error";
import { parseContentValue, parseIsoMoment } from "../query/query-text";

/** Largest page `GET /events` serves. */
export const MAX_HTTP_PAGE_SIZE = 500;
/** A query string longer than this is refused before it is parsed. */
export const MAX_QUERY_STRING_LENGTH = 8192;

const STRING_PARAMS = new Set(["contentType", "objectId", "userId", "method", "remoteAddr", "action", "outcome", "severity", "tenantId", "requestId", "search", "order", "source", "cursor"]);
const CONTENT_PREFIX = "content.";
/** What a request's query string asks for. */
export interface HttpQuery {
  query: AuditQuery & { cursor?: string };
  limit?: number;
  format?: string;
}

function pageSize(value: string): number {
  const size = /^\d{1,3}$/.test(value) ? Number(value) : Number.NaN;
  if (!(size >= 1 && size <= MAX_HTTP_PAGE_SIZE)) throw new AuditQueryError(`limit must be a whole number from 1 to ${MAX_HTTP_PAGE_SIZE}.`);
  return size;
}

/** A `%` not followed by two hex digits: URLSearchParams keeps it as it is, so it is no escape to check. */
const BARE_PERCENT = /%(?![0-9A-Fa-f]{2})/g;

/**
 * Refuses a parameter whose percent-escapes do not spell UTF-8 (a byte such as `%FF`, an
 * overlong form such as `%C0%AF`, an encoded surrogate such as `%ED%A0%80`), as RFC 3986
 * §2.5 asks of URI text: URLSearchParams would turn each bad byte into U+FFFD, a filter
 * no stored value holds, so the read would answer "no events" to a question it was
 * never asked.
 *
 * @throws {AuditQueryError} naming the parameter.
 */
function checkUtf8(search: string): void {
  for (const pair of search.replace(/^\?/, "").split("&")) {
    if (!pair.includes("%")) continue;
    try {
      decodeURIComponent(pair.replace(BARE_PERCENT, "%25"));
    } catch {
      const [name = ""] = new URLSearchParams(pair).keys();
      throw new AuditQueryError(`${JSON.stringify(name.slice(0, 60))} is not valid UTF-8 once its percent-escapes are decoded; send text as UTF-8.`);
    }
  }
}

/**
 * Parses the query string of a read request (without the `?`). It reads the raw
 * string itself, so the app's query parser (Express's `qs`, Koa's) cannot turn a
 * value into an array or an object: a parameter given twice, an unknown parameter
 * or a bad value is refused with the reason.
 *
 * @example
 * ```ts
 * parseHttpQuery("userId=u1&action=refund&content.reason=damaged&limit=20", { format: false });
 * ```
 * @throws {AuditQueryError} naming the parameter.
 */
export function parseHttpQuery(search: string, { format }: { format: boolean }): HttpQuery {
  if (search.length > MAX_QUERY_STRING_LENGTH) throw new AuditQueryError(`The query string is ${search.length} characters long; at most ${MAX_QUERY_STRING_LENGTH} are accepted.`);
  checkUtf8(search);
  const query: Record<string, unknown> = {};
  const content: Array<[string, ContentValue]> = [];
  const seen = new Set<string>();
  const result: HttpQuery = { query: query as HttpQuery["query"] };
  for (const [name, value] of new URLSearchParams(search)) {
    if (seen.has(name)) throw new AuditQueryError(`${name.slice(0, 60)} is given more than once; give it once.`);
    seen.add(name);
    if (STRING_PARAMS.has(name)) query[name] = value;
    else if (name === "since" || name === "until") query[name] = parseIsoMoment(name, value);
    else if (name === "limit") result.limit = pageSize(value);
    else if (name === "format" && format) result.format = value;
    else if (name.startsWith(CONTENT_PREFIX)) content.push([name.slice(CONTENT_PREFIX.length), parseContentValue(value)]);
    else {
      const known = [...STRING_PARAMS, "since", "until", "limit", "content.<key>", ...(format ? ["format"] : [])];
      throw new AuditQueryError(`Unknown query parameter ${JSON.stringify(name.slice(0, 60))}. Known parameters: ${known.join(", ")}.`);
    }
  }
  // Object.fromEntries defines own properties, so a key such as "__proto__" stays a key.
  if (content.length > 0) query.content = Object.fromEntries(content);
  return result;
}
