import type { IncomingMessage } from "node:http";
import { runWithAuditContext } from "../async-context";
import type { AuditOptions } from "../config/options";
import type { AuditContext } from "../context";
import { middlewareConfig } from "../middleware-options";
import { RequestAuditContext, type RequestSource } from "../request-context";

/** The parts of a Koa 2 or 3 context the middleware reads. */
export interface KoaLikeContext {
  href: string;
  method: string;
  ip: string;
  query: unknown;
  req: IncomingMessage & { user?: unknown };
  request: { body?: unknown };
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

/** Reads a Koa context for the core; one per request, no closures. */
class KoaRequestSource implements RequestSource {
  constructor(readonly request: KoaLikeContext) {}
  get headers() {
    return this.request.req.headers;
  }
  url() {
    return this.request.href;
  }
  method() {
    return this.request.method;
  }
  ip() {
    return this.request.ip;
  }
  userCandidates() {
    return [this.request.state.user, this.request.req.user];
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
 * nothing by itself. Resolvers receive `ctx`; the default user is `ctx.state.user`
 * (koa-passport, koa-jwt) by its `id`, else its `sub`; the default IP `ctx.ip` (which
 * honours `app.proxy`). Both context properties are typed as `AuditContext`.
 *
 * @example
 * ```ts
 * app.use(koaAuditEvents({ includeHeaders: ["user-agent"] }));
 * app.use(async (ctx) => { await ctx.auditContext.createEvent(order, {}, { action: "view" }); });
 * ```
 * @throws {AuditConfigError} for bad options, or when registered as `app.use(koaAuditEvents)`.
 */
export function koaAuditEvents(options?: Partial<AuditOptions>, ...rest: unknown[]) {
  const config = middlewareConfig("koaAuditEvents", options, rest.length);
  return function koaAuditEventsMiddleware(ctx: KoaLikeContext, next: () => Promise<unknown>): Promise<unknown> {
    const context = new RequestAuditContext(new KoaRequestSource(ctx), config);
    ctx.auditContext = context;
    ctx.state.auditContext = context;
    return runWithAuditContext(context, next);
  };
}
