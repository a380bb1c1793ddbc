import type { IncomingHttpHeaders, ServerResponse } from "node:http";
import type { Socket } from "node:net";

import { currentAuditContext } from "./async-context";
import type { LayeredConfig } from "./config/configure";
import type { ResolvedRequestEvents } from "./config/request-events-options";
import type { AuditContext } from "./context";
import { AuditStoreError } from "./errors";
import type { EventOutcome, EventSeverity } from "./model/event-record";
import type { JsonObject } from "./model/json";
import { requestBodyPayload } from "./payload-record";
import { contentTypeOf, declaredBodyBytes } from "./request-data";
import { ResponseCapture } from "./response-capture";
import { recordMetricError } from "./writer/metrics";
import { thrownMessage } from "./thrown-message";

/** The `contentType` of request events (and of access-hook events): the object is the request. */
export const REQUEST_CONTENT_TYPE = "HttpRequest";

/** What a request event's action names when no route matched: never the raw path. */
export const UNMATCHED_ROUTE = "(unmatched)";

/**
 * What a request event's action names when a route handled the request but its template
 * cannot be known (Express: a route of a mounted sub-application, or under a router
 * mounted on a RegExp on Express 4): never the raw path.
 */
export const UNKNOWN_ROUTE = "(unknown route)";

/**
 * The status recorded for a request whose client went away before any response was
 * sent: nginx's "client closed request", which no server sends.
 */
export const CLIENT_CLOSED_REQUEST = 499;

/** What an adapter tells the core about a request for its request event. */
export interface RequestEventSource {
  readonly headers: IncomingHttpHeaders;
  method(): string;
  /** The path, without the query string: what `skipPaths` are matched against. */
  path(): string;
  /**
   * How the framework matches paths to routes, for `skipPaths` to match alike; undefined
   * when the framework has no routing of its own (Koa: each router has its own rules),
   * and the skip is decided when the response is done (see {@link isSkippedAtFinish}).
   */
  pathRules(): PathRules | undefined;
  /**
   * The template of the route the framework has already matched when the request starts
   * (Fastify routes before its first hook), or null when none matched; absent where
   * routing comes later (Express, Koa). A request whose route is one of `skipPaths` is
   * skipped by the framework's own decision, whatever its path looked like
   * (`/health;x` on Fastify 4).
   */
  startRoute?(): string | null;
  /**
   * The template of the route that handled the request (`/orders/:id`), read when the
   * response is done, or null when no route matched.
   */
  route(): string | null;
  /** The parsed body, whichever body parser filled it. */
  body(): unknown;
}

/**
 * The outcome and severity of a finished request, from its status: 5xx is a failure
 * (severity `error`), 401 and 403 are denials (`warning`), any other 4xx a success of
 * severity `warning` (the server did its job: the request was wrong), the rest `info`.
 * A request not answered whole (`aborted`: its client went away, or the server cut it
 * for its `requestTimeout`) is a failure of severity `warning`, whatever was sent before.
 *
 * @example
 * ```ts
 * requestEventLevel(503, false); // { outcome: "failure", severity: "error" }
 * ```
 */
export function requestEventLevel(status: number, aborted: boolean): { outcome: EventOutcome; severity: EventSeverity } {
  if (aborted) return { outcome: "failure", severity: "warning" };
  if (status >= 500) return { outcome: "failure", severity: "error" };
  if (status === 401 || status === 403) return { outcome: "denied", severity: "warning" };
  if (status >= 400) return { outcome: "success", severity: "warning" };
  return { outcome: "success", severity: "info" };
}

/** The outcome and severity of a request an access hook refused, whatever its status. */
function refusalLevel(refusal: RequestRefusal): { outcome: EventOutcome; severity: EventSeverity } {
  return "error" in refusal ? { outcome: "failure", severity: "error" } : { outcome: "denied", severity: "warning" };
}

const skipped = new WeakSet<AuditContext>();
/** Contexts whose request event will be written (watched, path not skipped). */
const watched = new WeakSet<AuditContext>();
/** What an access hook refused (or how it failed), for the request event to carry. */
const refusals = new WeakMap<AuditContext, RequestRefusal>();
/**
 * Where a watched response keeps the context whose watch writes its request event (the
 * first to watch it): one property, always the same, rather than a WeakMap entry per
 * response, which the garbage collector pays for on every request (about 25 µs of its
 * pauses a request with Express on Node 24, `npm run bench:http`).
 */
const WATCHER = Symbol("audit-events.request-event-watcher");

interface WatchedResponse extends ServerResponse {
  [WATCHER]?: AuditContext;
}
/**
 * A later context of a request already watched (a second `requestEvents` middleware on
 * its way, in a router or a sub-application) to the context that watches it, so that a
 * skip or a refusal made through either reaches the one event.
 */
const watchingContext = new WeakMap<AuditContext, AuditContext>();

/** The context whose watch writes the request event of `context`'s request. */
function watchOwner(context: AuditContext): AuditContext {
  return watchingContext.get(context) ?? context;
}

/**
 * An access hook's refusal as a request event carries it: the reason the client was
 * told (outcome `denied`, severity `warning`), or the error of a hook that failed
 * (outcome `failure`, severity `error`).
 */
export type RequestRefusal = { reason: string } | { error: string };

/**
 * Hands an access hook's refusal to the request event of the request, when one will be
 * written (`requestEvents` watches it), so that a refused request is one event, not
 * two: the request event then carries `reason` (or `error`) in its content and the
 * refusal's outcome and severity, and is written even if the request was marked with
 * {@link skipRequestEvent}. Returns false when no request event will be written (or it
 * was already written: the response finished before the hook answered); the caller
 * records the refusal itself.
 */
export function carryRefusal(context: AuditContext, refusal: RequestRefusal): boolean {
  const owner = watchOwner(context);
  if (!watched.has(owner)) return false;
  refusals.set(owner, refusal);
  return true;
}

/**
 * Writes no request event for the request running now (or the one whose context is
 * given): for a route the app wants out of the trail, decided while it runs. Does
 * nothing outside a request or without `requestEvents`.
 *
 * @example
 * ```ts
 * app.get("/poll", (req, res) => {
 *   skipRequestEvent(); // or skipRequestEvent(req.auditContext)
 *   res.json(status());
 * });
 * ```
 */
export function skipRequestEvent(context: AuditContext = currentAuditContext()): void {
  skipped.add(watchOwner(context));
}

/** How a framework matches a path to its routes, for `skipPaths` to match the same way. */
export interface PathRules {
  /** `/HEALTH` is not `/health`. */
  readonly caseSensitive: boolean;
  /** `/health/` is `/health`. */
  readonly ignoresTrailingSlash: boolean;
  /** `/%68ealth` is `/health`: percent-encoded unreserved characters are decoded before matching. */
  readonly decodesPercent: boolean;
}

const UNRESERVED_ESCAPE = /%(?:[46][1-9A-Fa-f]|[57][0-9Aa]|3[0-9]|2[DEde]|5[Ff]|7[Ee])/g;

/**
 * A path as the framework's router sees it under `rules`: percent-encoded unreserved
 * characters (`A-Z a-z 0-9 - . _ ~`) decoded when the router decodes, one trailing
 * slash dropped when the router ignores it, lower-cased when it routes case-insensitively.
 *
 * @example
 * ```ts
 * skipPathKey("/Health/", { caseSensitive: false, ignoresTrailingSlash: true, decodesPercent: false }); // "/health"
 * ```
 */
export function skipPathKey(path: string, rules: PathRules, foldCase = true): string {
  let key = rules.decodesPercent && path.includes("%") ? path.replace(UNRESERVED_ESCAPE, (escape) => String.fromCharCode(parseInt(escape.slice(1), 16))) : path;
  if (rules.ignoresTrailingSlash && key.length > 1 && key.endsWith("/")) key = key.slice(0, -1);
  return foldCase && !rules.caseSensitive ? key.toLowerCase() : key;
}

/** Whether `path` is one of `skipPaths`, matched as the framework routes (see {@link skipPathKey}). */
export function isSkippedPath(options: ResolvedRequestEvents, path: string, rules: PathRules): boolean {
  if (options.skipExact.length > 0) {
    const key = skipPathKey(path, rules);
    for (const skip of options.skipExact) if (skipPathKey(skip, rules) === key) return true;
  }
  if (options.skipPatterns.length > 0) {
    const unfolded = skipPathKey(path, rules, false);
    for (const pattern of options.skipPatterns) if (pattern.test(unfolded)) return true;
  }
  return false;
}

/** Says, through the logger and the metrics, that a request event was not written. */
function reportFailure(layered: LayeredConfig, action: string, requestId: string | null, error: unknown): void {
  try {
    // The store's own failures were counted by the write path already.
    if (!(error instanceof AuditStoreError)) recordMetricError(error);
    const { logger } = layered.get();
    const message = `audit-events: the request event of ${action} (request ${requestId}) was not written: ${thrownMessage(error)}`;
    (logger.error ?? logger.warn).call(logger, message);
  } catch {
    // A failing logger must not turn into an exception on the response's event.
  }
}

/** What a router that says nothing of its rules is taken to do: @koa/router's defaults. */
const ROUTER_DEFAULT_RULES: PathRules = Object.freeze({ caseSensitive: false, ignoresTrailingSlash: true, decodesPercent: false });

/**
 * Whether a request of a framework without routing of its own (Koa) is skipped, decided
 * when its response is done: a request a router matched is skipped when the route's
 * template is one of `skipPaths` (the router has matched it by its own rules, strict or
 * case-sensitive as it was made) or its path matches a pattern; a request no router
 * matched (one other middleware served, such as static files) when its path is
 * skipped by @koa/router's default rules, unless it was answered 404: a path that
 * reached nothing is not the route that was meant to be skipped.
 */
function isSkippedAtFinish(options: ResolvedRequestEvents, source: RequestEventSource, status: number): boolean {
  const route = source.route();
  if (route !== null) return options.skipExact.includes(route) || isSkippedPath({ ...options, skipExact: [] }, source.path(), ROUTER_DEFAULT_RULES);
  return status !== 404 && isSkippedPath(options, source.path(), ROUTER_DEFAULT_RULES);
}

const STATUS_LINE = /^HTTP\/1\.[01] (\d{3}) /;

/**
 * The status a response was answered with: the one in the head it sent, since an app may
 * still change `statusCode` afterwards (on Express, a handler that answers and then calls
 * `next(error)`, or throws, reaches an error handler that sets 500 on a response already
 * sent: the client got the first status); `statusCode` before the head is sent, and where
 * there is no HTTP/1 head to read (HTTP/2's compatibility response).
 */
function answeredStatus(res: ServerResponse): number {
  const head = (res as { _header?: unknown })._header;
  const sent = typeof head === "string" ? STATUS_LINE.exec(head) : null;
  return sent === null ? res.statusCode : Number(sent[1]);
}

/**
 * The status Node's HTTP server (and Fastify's `clientError` handler) writes straight on
 * the socket when a request has not arrived whole within the server's `requestTimeout`:
 * the response object never sends it.
 */
export const REQUEST_TIMEOUT = 408;

/**
 * The error the request's connection failed with (`ECONNRESET`, `EPIPE`: the client went
 * away; Node's `ERR_HTTP_REQUEST_TIMEOUT`: the server cut a request that had not arrived
 * whole within its `requestTimeout`), or undefined while it has not failed. Once it has,
 * Node drops the writes still pending, yet may emit `finish`.
 */
function connectionError(res: ServerResponse): { code?: unknown } | undefined {
  return ((res.req?.socket as { errored?: { code?: unknown } | null } | undefined)?.errored ?? undefined) as { code?: unknown } | undefined;
}

/** Per connection, the watches of the responses queued on it (see {@link onConnectionClose}). */
const queuedWatches = new WeakMap<Socket, Set<() => void>>();

/**
 * Calls `done` when `socket` closes, and returns what takes that back: one listener per
 * connection, however many requests a client pipelines on it.
 */
function onConnectionClose(socket: Socket, done: () => void): () => void {
  let watches = queuedWatches.get(socket);
  if (watches === undefined) {
    const all = new Set<() => void>();
    queuedWatches.set(socket, all);
    socket.once("close", () => {
      queuedWatches.delete(socket);
      for (const watch of all) watch();
    });
    watches = all;
  }
  const own = watches;
  own.add(done);
  return () => void own.delete(done);
}

/**
 * Watches one request and writes its request event, exactly once, when the response is
 * done: after `finish` (the last byte handed to the operating system), so the event never
 * delays the response; or at `close` without `finish`, when the client went away first
 * (recorded as `aborted`, with the status sent, else {@link CLIENT_CLOSED_REQUEST}), or
 * the server cut it for its `requestTimeout` before the request had arrived whole
 * (recorded as `timedOut`, with {@link REQUEST_TIMEOUT}, which the server sent); the
 * status recorded is the one the response's head was sent with, whatever `statusCode`
 * was set to afterwards; or,
 * for a response queued behind another on its connection (HTTP pipelining), when the
 * connection closes first, as Node then says nothing of it (`aborted`, with the status
 * its handler answered, if it did, though none of it reached the client). A
 * response already done when it is called (finished, or closed or destroyed: something
 * before the audit middleware answered or outlived the client, and passed the request
 * on) has its event written at once, as it ended; its `durationMs` counts from this call,
 * its route is the one known now (none yet, for a request not routed), and with
 * `capturePayloads` a response whose head was sent before this call is recorded as
 * `{ _notCaptured: true }` (it was begun where nothing could capture it, and a part
 * of a body is not kept). A request whose path is in `skipPaths` is
 * not watched at all. A response already watched (a
 * second `requestEvents` middleware on the request's way, in a router or a
 * sub-application) is not watched again: the first watch writes its one event, and a
 * skip or refusal made through the later context reaches it. A request an access hook refused
 * carries the refusal (see {@link carryRefusal}). The write goes through the normal
 * write path (buffered when `writeMode` is `"buffered"`); its failure is logged and
 * counted, never thrown: the response is gone by then.
 *
 * @param context the request's audit context; the event carries its user, URL, request id.
 */
export function watchRequest(context: AuditContext, res: ServerResponse, source: RequestEventSource, options: ResolvedRequestEvents, layered: LayeredConfig): void {
  const first = (res as WatchedResponse)[WATCHER];
  if (first !== undefined) {
    watchingContext.set(context, first);
    return;
  }
  const rules = source.pathRules();
  if (rules !== undefined && isSkippedPath(options, source.path(), rules)) return;
  const startRoute = source.startRoute?.();
  if (startRoute !== undefined && startRoute !== null && options.skipExact.includes(startRoute)) return;
  watched.add(context);
  (res as WatchedResponse)[WATCHER] = context;
  const started = performance.now();
  // A response begun before the watch (an earlier middleware answered) was written where
  // no capture could see it: its body is said to be unknown, never taken for empty.
  const capture = options.capturePayloads && !res.headersSent ? new ResponseCapture(res, options.maxPayloadBytes ?? layered.get().maxPostDataBytes) : undefined;
  let done = false;
  let unqueue: (() => void) | undefined;
  const onDone = (how: "finish" | "close" | "found done") => {
    if (done) return;
    done = true;
    // A refusal decided after this (a hook slower than the response) records its own event.
    watched.delete(context);
    res.off("finish", onFinish);
    res.off("close", onClose);
    unqueue?.();
    const refusal = refusals.get(context);
    const answered = answeredStatus(res);
    if (refusal === undefined && (skipped.has(context) || (rules === undefined && isSkippedAtFinish(options, source, answered)))) return;
    const failure = connectionError(res);
    // Node emits `finish` too for an answer whose last writes the connection's failure
    // cut (a client that left mid-download resets it): its socket has errored by then,
    // which a socket that took the whole answer has not.
    const cutMidAnswer = how === "finish" && failure !== undefined;
    // Answered into a connection already gone: ended, yet closed without `finish` (which
    // comes first for a response sent); or after the connection failed while the request
    // was still arriving (an error handler's 400 for the body cut short), whatever events
    // Node emits then (Node 20: `close` only, counted finished; Node 24: not finished).
    // None of it reached the client.
    const requestCut = how !== "found done" && res.req?.complete === false && failure !== undefined;
    const answeredTooLate = (how === "close" && res.writableFinished) || requestCut;
    const unfinished = !res.writableFinished || answeredTooLate || cutMidAnswer;
    const nothingSent = !res.headersSent || answeredTooLate;
    // The server, not the client, ended a request still arriving: it answered 408 itself.
    const timedOut = unfinished && nothingSent && failure?.code === "ERR_HTTP_REQUEST_TIMEOUT";
    const aborted = unfinished && !timedOut;
    let action = `${source.method()} ${UNMATCHED_ROUTE}`;
    try {
      const route = source.route();
      action = `${source.method()} ${route ?? UNMATCHED_ROUTE}`;
      const status = timedOut ? REQUEST_TIMEOUT : aborted && nothingSent ? CLIENT_CLOSED_REQUEST : answered;
      const userAgent = source.headers["user-agent"];
      const content: Record<string, unknown> = {
        status,
        durationMs: Math.round((performance.now() - started) * 100) / 100,
        route,
        userAgent: typeof userAgent === "string" ? userAgent : null,
      };
      if (aborted) content.aborted = true;
      if (timedOut) content.timedOut = true;
      if (refusal !== undefined) Object.assign(content, refusal);
      if (options.capturePayloads) {
        const config = layered.get();
        const cap = options.maxPayloadBytes ?? config.maxPostDataBytes;
        content.request = requestBodyPayload(source.body(), contentTypeOf(source.headers), config.masking, cap, declaredBodyBytes(source.headers)) satisfies JsonObject;
        content.response = capture?.payload(res, config.masking) ?? { _notCaptured: true };
      }
      context
        .createEvent({ contentType: REQUEST_CONTENT_TYPE, objectId: context.requestId ?? "" }, content, { action, ...(refusal === undefined ? requestEventLevel(status, unfinished) : refusalLevel(refusal)) })
        .catch((error: unknown) => reportFailure(layered, action, context.requestId, error));
    } catch (error) {
      reportFailure(layered, action, context.requestId, error);
    }
  };
  const onFinish = () => onDone("finish");
  const onClose = () => onDone("close");
  res.once("finish", onFinish);
  res.once("close", onClose);
  // A response queued behind another on its connection (HTTP pipelining) has no socket
  // yet, and if the connection closes first Node emits neither event on it, though its
  // handler may have run: the connection's own close ends its watch.
  const queuedOn = res.socket === null ? res.req?.socket : undefined;
  if (queuedOn !== undefined) unqueue = onConnectionClose(queuedOn, onClose);
  // A response closed before the watch (an earlier middleware answered, or the client
  // went away, and then passed the request on) emits neither event again; a finished one
  // is done too, whether or not its close is still to come, and so is a queued one whose
  // connection has closed. Checked after the listeners are on, so whichever comes first
  // writes the one event and removes the others.
  if (res.writableFinished || res.destroyed || queuedOn?.destroyed === true) onDone("found done");
}
