import type { IncomingMessage, ServerResponse } from "node:http";
import { bindEmitterToContext, runWithAuditContext } from "../async-context";
import type { AuditContext } from "../context";
import { decideAccess, refuseRequest, reportAccessTrouble, resolveAccessOptions, type AuditAccessOptions } from "../access";
import { wrongFramework } from "./wrong-framework";
import { LayeredConfig } from "../config/configure";
import { middlewareSetup, type AuditMiddlewareOptions } from "../middleware-options";
import { RequestAuditContext, socketPeer, type RequestSource } from "../request-context";
import { watchRequest, type PathRules, type RequestEventSource } from "../request-events";
import { observeRoutesFrom, routeTemplateOf } from "./express-route-template";
import { thrownMessage } from "../thrown-message";
import { requestPath, requestUrl, URL_PARSE_HOST_END } from "../request-target";

/** The parts of an Express 4 or 5 request the middleware reads. */
export type ExpressLikeRequest = IncomingMessage & {
  originalUrl?: string;
  protocol?: string;
  ip?: string;
  query?: unknown;
  body?: unknown;
  user?: unknown;
  /** Where express-jwt leaves the token's claims. */
  auth?: unknown;
  app?: { get(setting: string): unknown };
  auditContext?: AuditContext;
  /** Where the router mounting the matched route sits, as requested (`/api`). */
  baseUrl?: string;
  /** The matched route: Express sets it when a route handles the request. */
  route?: { path?: unknown };
};

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The request's audit context, set by `auditEvents()`. */
      auditContext: import("../context").AuditContext;
    }
  }
}

type TrustFunction = (address: string | undefined, hop: number) => boolean;

/** The Host the client asked for; `X-Forwarded-Host` only from a trusted proxy, as Express 5 does. */
function requestHost(req: ExpressLikeRequest): string {
  const trust = req.app?.get("trust proxy fn") as TrustFunction | undefined;
  const forwarded = req.headers["x-forwarded-host"];
  if (typeof forwarded === "string" && trust?.(req.socket.remoteAddress, 0)) {
    return forwarded.split(",")[0]!.trim();
  }
  return req.headers.host ?? "localhost";
}

/** Reads an Express request for the core; one per request, no closures. */
class ExpressRequestSource implements RequestSource, RequestEventSource {
  /** The socket's peer, read when the request starts (see {@link socketPeer}). */
  private readonly peer: string | undefined;
  constructor(readonly request: ExpressLikeRequest) {
    this.peer = socketPeer(request.socket);
  }
  get headers() {
    return this.request.headers;
  }
  url() {
    const req = this.request;
    // An absolute-form target (`GET http://u:pw@x/g`) is the URL itself: its authority wins over Host.
    return requestUrl(req.protocol ?? "http", requestHost(req), req.originalUrl ?? req.url ?? "");
  }
  method() {
    return this.request.method ?? "GET";
  }
  path() {
    const req = this.request;
    // Express routes by Node's url.parse, whose host ends at `;`, `%` and the like too.
    return requestPath(req.originalUrl ?? req.url ?? "/", URL_PARSE_HOST_END);
  }
  route() {
    return routeTemplateOf(this.request);
  }
  pathRules(): PathRules {
    // Express's defaults: case-insensitive, a trailing slash optional, the path matched as sent.
    const app = this.request.app;
    return { caseSensitive: Boolean(app?.get("case sensitive routing")), ignoresTrailingSlash: !app?.get("strict routing"), decodesPercent: false };
  }
  ip() {
    return this.request.ip || this.peer;
  }
  userCandidates() {
    return [this.request.user, this.request.auth];
  }
  userPlaces() {
    return "req.user and req.auth (express-jwt)";
  }
  query() {
    return this.request.query;
  }
  body() {
    return this.request.body;
  }
}

/**
 * Whether an `auditAccess()` or an `auditEvents({ requestEvents })` was made in this
 * process. Their refusals and request events name the route's template, which the app's
 * routers record only once observed (see `observeRoutes`), before the request is
 * routed: every `auditEvents()` observes them when one of those may read the template
 * (a plain one at the app's root serves a `requestEvents` one in a router), and spares
 * every request the cost otherwise.
 */
let templatesRead = false;

/**
 * Express 4 and 5 middleware: gives each request an `AuditContext`
 * (`req.auditContext`, and `currentAuditContext()` anywhere in the request's async
 * call tree). Writes nothing by itself, unless `requestEvents` asks for one event
 * per finished request (written after the response is sent; see the README, "One event
 * per request"). Options here are laid over `configureAudit()`'s and validated now.
 *
 * @example
 * ```ts
 * configureAudit({ store: prismaStore(prisma), includePostData: true });
 * app.use(auditEvents());
 * app.post("/orders/:id/refund", async (req, res) => {
 *   await req.auditContext.createEvent(order, {}, { action: "refund" });
 * });
 * app.use(auditEvents({ requestEvents: { skipPaths: ["/health"] } })); // + one event per request
 * ```
 * @throws {AuditConfigError} for bad options, or when registered as `app.use(auditEvents)`;
 * `ERR_AUDIT_CONFIG` on each request when another framework calls it (Koa's `(ctx, next)`).
 */
export function auditEvents(options?: AuditMiddlewareOptions, ...rest: unknown[]) {
  const { config, requestEvents } = middlewareSetup("auditEvents", options, rest.length);
  if (requestEvents !== undefined) templatesRead = true;
  return function auditEventsMiddleware(req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void): void {
    const request = req as ExpressLikeRequest;
    if (typeof next !== "function" || typeof (res as Partial<ServerResponse>)?.setHeader !== "function") throw wrongFramework("auditEvents()", "Express middleware");
    if (templatesRead) observeRoutesFrom(request, auditEventsMiddleware);
    const source = new ExpressRequestSource(request);
    const context = new RequestAuditContext(source, config);
    request.auditContext = context;
    bindEmitterToContext(req, context);
    bindEmitterToContext(res, context);
    if (requestEvents !== undefined) watchRequest(context, res, source, requestEvents, config);
    runWithAuditContext(context, next);
  };
}

/** The configuration a refusal is recorded under when no `auditEvents()` runs before the check. */
const processConfig = new LayeredConfig({});

/**
 * Express 4 and 5 middleware that lets a request through only when its `request` hook
 * answers `true`. `{ allow: false, reason }` answers 403 `{ error: reason }` and records
 * one event (`outcome: "denied"`, `severity: "warning"`, the reason in its content); a
 * hook that throws or answers anything else fails closed: 500, no handler runs, and the
 * event says `outcome: "failure"`. The event goes through `req.auditContext` (register
 * `auditEvents()` first: then it carries the request's user, URL and request id).
 *
 * @example
 * ```ts
 * app.use(auditEvents());
 * app.delete("/orders/:id", auditAccess({
 *   request: async (req) => ((await isOwner(req.user, req.params.id)) ? true : { allow: false, reason: "Not your order." }),
 * }), deleteOrder);
 * ```
 * The hook may take `hookTimeoutMs` (default 10 000) before it is taken as failed. If
 * the response was already sent when the hook answers (a timeout middleware answered
 * first), the refusal is recorded all the same and the answer stands; nothing is thrown
 * out of the middleware.
 * @throws {AuditConfigError} `ERR_AUDIT_CONFIG` when the hook is missing, an option is unknown
 * or `hookTimeoutMs` is out of range; on a request, when another framework calls it.
 */
export function auditAccess(options: AuditAccessOptions<ExpressLikeRequest & Express.Request>) {
  const { request: hook, hookTimeoutMs } = resolveAccessOptions<ExpressLikeRequest & Express.Request>("auditAccess", options);
  templatesRead = true;
  return async function auditAccessMiddleware(req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void): Promise<void> {
    const request = req as ExpressLikeRequest & Express.Request;
    if (typeof next !== "function" || typeof (res as Partial<ServerResponse>)?.setHeader !== "function") throw wrongFramework("auditAccess()", "Express middleware");
    observeRoutesFrom(request, auditAccessMiddleware);
    const verdict = await decideAccess("auditAccess", hook, request, hookTimeoutMs);
    if (verdict.allow) return next();
    try {
      const source = new ExpressRequestSource(request);
      const context = request.auditContext ?? new RequestAuditContext(source, processConfig);
      const { status, body } = await refuseRequest("auditAccess", context, verdict, source.route(), processConfig);
      // Something else answered first (a timeout middleware): the refusal is recorded, the answer stands.
      if (res.headersSent || res.writableEnded) return;
      res.statusCode = status;
      res.setHeader("content-type", "application/json; charset=utf-8");
      res.end(JSON.stringify(body));
    } catch (error) {
      // Never out of the middleware: Express 4 leaves an async middleware's rejection unhandled.
      reportAccessTrouble(processConfig, `auditAccess could not answer the refused request: ${thrownMessage(error)}`, error);
      if (!res.headersSent) next(error);
    }
  };
}
