import type { IncomingHttpHeaders } from "node:http";
import { uuidV7 } from "./model/uuid-v7";
import { REQUEST_ID_MAX_CHARS } from "./column-limits";

/**
 * A client-supplied request id is taken as it is only when it is 1 to 191 visible ASCII
 * characters (`!` to `~`: no space, no control character, nothing outside ASCII): what
 * request ids are (UUIDs, nginx's `$request_id`, AWS's `Root=1-...;Parent=...`). Anything
 * else (a log-injection attempt, a 10 000-character header, a bidi override) is ignored,
 * so the event gets a new id instead: an id that is not an id correlates nothing.
 */
const ACCEPTED_REQUEST_ID = new RegExp(`^[\\x21-\\x7e]{1,${REQUEST_ID_MAX_CHARS}}$`);

/**
 * W3C Trace Context `traceparent`: `<version>-<trace-id>-<parent-id>-<flags>`, in
 * lowercase hex (https://www.w3.org/TR/trace-context/#traceparent-header). Version 00 is
 * exactly that; a higher version (but ff, which is invalid) is read by version 00's layout
 * and may carry more fields after a dash, as the specification asks of a parser that
 * meets a version it does not know.
 */
const TRACEPARENT = /^(?:00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}|(?!ff|00)[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}(?:-.*)?)$/;
const ZERO_TRACE_ID = "0".repeat(32);
const ZERO_PARENT_ID = "0".repeat(16);

/** Whether `value` is a client-supplied request id the library keeps (see above). */
export function isAcceptedRequestId(value: unknown): value is string {
  return typeof value === "string" && ACCEPTED_REQUEST_ID.test(value);
}

/**
 * The trace id of a valid `traceparent` header (version 00, or a later one read by 00's
 * layout), else undefined. A trace or parent id of all zeros is invalid by the
 * specification, as are version ff, upper-case hex and, for version 00, more than one
 * header (which Node joins with a comma).
 *
 * @example
 * ```ts
 * traceIdOf("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"); // "4bf92f3577b34da6a3ce929d0e0e4736"
 * ```
 */
export function traceIdOf(traceparent: unknown): string | undefined {
  if (typeof traceparent !== "string") return undefined;
  const match = TRACEPARENT.exec(traceparent.trim());
  if (match === null) return undefined;
  const traceId = match[1] ?? match[3]!;
  const parentId = match[2] ?? match[4]!;
  return traceId === ZERO_TRACE_ID || parentId === ZERO_PARENT_ID ? undefined : traceId;
}

/**
 * A request's id: the `header` (lower-case) when it holds an accepted id, else the trace
 * id of a valid `traceparent`, else a new UUID v7.
 */
export function requestIdOf(headers: IncomingHttpHeaders, header: string): string {
  const given = headers[header];
  if (isAcceptedRequestId(given)) return given;
  return traceIdOf(headers.traceparent) ?? uuidV7().id;
}
