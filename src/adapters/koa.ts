import type { IncomingMessage, ServerResponse } from "node:http";
import { decideAccess, refuseRequest, resolveAccessOptions, type AuditAccessOptions } from "../access";
import { runWithAuditContext } from "../async-context";
import { LayeredConfig } from "../config/configure";
import type { AuditContext } from "../context";
import { middlewareSetup, type AuditMiddlewareOptions } from "../middleware-options";
import { RequestAuditContext, socketPeer, type RequestSource } from "../request-context";
import { watchRequest, type RequestEventSource } from "../request-events";
import { requestUrl } from "../request-target";
import { wrongFramework } from "./wrong-framework";

/** The parts of a Koa 2 or 3 context the middleware reads. */
export interface KoaLikeContext {
  href: string;
  /** The target as received (`req.url` before any router's rewrite), Koa's `protocol` and `host`. */
  originalUrl?: string;
  protocol?: string;
  host?: string;
  method: string;
  ip: string;
  query: unknown;
  path: string;
  req: IncomingMessage & { user?: unknown };
  res: ServerResponse;
  /** The template of the route @koa/router (or koa-router) matched. */
  _matchedRoute?: unknown;
  status: number;
  body?: unknown;
  request: { body?: unknown };
  /** Koa's response; `_explicitStatus` is set once something answered (a status or a body). */
  response?: { _explicitStatus?: boolean };
  /** `false` when a middleware answers through the raw response itself. */
  respond?: boolean;
  state: Record<string, unknown> & { user?: unknown; auditContext?: AuditContext };
  auditContext?: AuditContext;
}

// Koa's DefaultContext and DefaultState are the interfaces Koa asks libraries to
// augment. Both also carry Koa's own `any` index signature, so a misspelt property
// name stays `any`; what this types is everything reached through the right name.
declare module "koa" {
  interface DefaultContext {
    /** The request's audit context, set by `koaAuditEvents()`. */
    auditContext: AuditContext;
  }
  interface DefaultState {
    /** The request's audit context, set by `koaAuditEvents()`. */
    auditContext: AuditContext;
  }
}

/** Whether a middleware was called as Koa calls it: `(ctx, next)`, ctx holding the raw request and response. */
function isKoaContext(ctx: unknown, next: unknown): ctx is KoaLikeContext {
  if (typeof next !== "function" || typeof ctx !== "object" || ctx === null) return false;
  const { req, res, state } = ctx as Partial<KoaLikeContext>;
  return typeof req === "object" && req !== null && typeof res === "object" && res !== null && typeof state === "object" && state !== null;
}

/** Reads a Koa context for the core; one per request, no closures. */
class KoaRequestSource implements RequestSource, RequestEventSource {
  /** The socket's peer, read when the request starts (see {@link socketPeer}). */
  private readonly peer: string | undefined;
  constructor(readonly request: KoaLikeContext) {
    this.peer = socketPeer(request.req.socket);
  }
  get headers() {
    return this.request.req.headers;
  }
  url() {
    const ctx = this.request;
    // Koa's href takes an http(s) absolute-form target whole; any scheme is, as on Express and Fastify.
    return ctx.originalUrl === undefined || ctx.protocol === undefined || ctx.host === undefined ? ctx.href : requestUrl(ctx.protocol, ctx.host, ctx.originalUrl);
  }
  method() {
    return this.request.method;
  }
  path() {
    return this.request.path;
  }
  pathRules() {
    // Koa routes nothing itself; its routers each have their own rules: decided at the end.
    return undefined;
  }
  route() {
    const ctx = this.request;
    // A route that only passed the request on (a catch-all calling next()) leaves
    // _matchedRoute behind: if the response was finished with nothing having answered
    // (no status or body set: Koa's own 404), no route handled the request.
    if (ctx.res.writableFinished && ctx.response !== undefined && ctx.response._explicitStatus !== true && ctx.respond !== false) return null;
    const matched = ctx._matchedRoute;
    return typeof matched === "string" || matched instanceof RegExp ? String(matched) : null;
  }
  ip() {
    return this.request.ip || this.peer;
  }
  userCandidates() {
    return [this.request.state.user, this.request.req.user];
  }
  userPlaces() {
    return "ctx.state.user and ctx.req.user";
  }
  query() {
    return this.request.query;
  }
  body() {
    return this.request.request.body;
  }
}

/**
 * Koa 2 and 3 middleware: gives each request an `AuditContext` (`ctx.auditContext`,
 * `ctx.state.auditContext`, and `currentAuditContext()` anywhere downstream). Writes
 * nothing by itself, unless `requestEvents` asks for one event per finished request
 * (its route is the template `@koa/router` matched, `ctx._matchedRoute`; `(unmatched)` for
 * Koa's own 404 after a route that passed the request on; a route that passed it on to a
 * plain middleware that answered keeps its template, as Koa does not say which middleware
 * answered). Resolvers receive `ctx`; the default user is `ctx.state.user`
 * (koa-passport, koa-jwt) by its `id`, else its `sub`; the default IP `ctx.ip` (which
 * honours `app.proxy`). Both context properties are typed as `AuditContext`.
 *
 * @example
 * ```ts
 * app.use(koaAuditEvents({ includeHeaders: ["user-agent"] }));
 * app.use(async (ctx) => { await ctx.auditContext.createEvent(order, {}, { action: "view" }); });
 * ```
 * @throws {AuditConfigError} for bad options, or when registered as `app.use(koaAuditEvents)`;
 * `ERR_AUDIT_CONFIG` on each request when another framework calls it (Express's `(req, res, next)`).
 */
export function koaAuditEvents(options?: AuditMiddlewareOptions, ...rest: unknown[]) {
  const { config, requestEvents } = middlewareSetup("koaAuditEvents", options, rest.length);
  return function koaAuditEventsMiddleware(ctx: KoaLikeContext, next: () => Promise<unknown>): Promise<unknown> {
    if (!isKoaContext(ctx, next)) throw wrongFramework("koaAuditEvents()", "Koa middleware");
    const source = new KoaRequestSource(ctx);
    const context = new RequestAuditContext(source, config);
    ctx.auditContext = context;
    ctx.state.auditContext = context;
    if (requestEvents !== undefined) watchRequest(context, ctx.res, source, requestEvents, config);
    return runWithAuditContext(context, next);
  };
}

/** The configuration a refusal is recorded under when no `koaAuditEvents()` runs before the check. */
const processConfig = new LayeredConfig({});

/**
 * Koa 2 and 3 middleware that lets a request through only when its `request` hook
 * answers `true`: `{ allow: false, reason }` answers 403 `{ error: reason }` and records
 * one event (`outcome: "denied"`, `severity: "warning"`, the reason in its content); a
 * hook that throws or answers anything else fails closed: 500, nothing downstream runs,
 * and the event says `outcome: "failure"`. Register `koaAuditEvents()` first, so the
 * event carries the request's user, URL and request id.
 *
 * @example
 * ```ts
 * app.use(koaAuditEvents());
 * app.use(koaAuditAccess({ request: (ctx) => (ctx.state.user ? true : { allow: false, reason: "Sign in first." }) }));
 * ```
 * The hook may take `hookTimeoutMs` (default 10 000) before it is taken as failed; a
 * refusal decided after the response was sent is recorded, and the answer stands.
 * @throws {AuditConfigError} `ERR_AUDIT_CONFIG` when the hook is missing, an option is unknown
 * or `hookTimeoutMs` is out of range; on a request, when another framework calls it.
 */
export function koaAuditAccess<Ctx extends KoaLikeContext = KoaLikeContext>(options: AuditAccessOptions<Ctx>) {
  const { request: hook, hookTimeoutMs } = resolveAccessOptions<Ctx>("koaAuditAccess", options);
  // Checked synchronously: on Express, a rejected promise would go unhandled; a throw reaches its error handler.
  return function koaAuditAccessMiddleware(ctx: Ctx, next: () => Promise<unknown>): Promise<unknown> {
    if (!isKoaContext(ctx, next)) throw wrongFramework("koaAuditAccess()", "Koa middleware");
    return checkAccess(ctx, next);
  };
  async function checkAccess(ctx: Ctx, next: () => Promise<unknown>): Promise<unknown> {
    const verdict = await decideAccess("koaAuditAccess", hook, ctx, hookTimeoutMs);
    if (verdict.allow) return next();
    const source = new KoaRequestSource(ctx);
    const context = ctx.auditContext ?? new RequestAuditContext(source, processConfig);
    const { status, body } = await refuseRequest("koaAuditAccess", context, verdict, source.route(), processConfig);
    // Something else answered first (the response is gone): the refusal is recorded, the answer stands.
    if (ctx.res.headersSent || ctx.res.writableEnded) return undefined;
    ctx.status = status;
    ctx.body = body;
    return undefined;
  }
}
