import type { IncomingMessage } from "node:http";
import { runWithAuditContext } from "../async-context";
import type { AuditOptions } from "../config";
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

function koaSource(ctx: KoaLikeContext): RequestSource {
  return {
    request: ctx,
    headers: ctx.req.headers,
    url: () => ctx.href,
    method: () => ctx.method,
    ip: () => ctx.ip,
    user: () => ctx.state.user ?? ctx.req.user,
    query: () => ctx.query,
    body: () => ctx.request.body,
  };
}

/**
 * Koa 2 and 3 middleware: gives each request an `AuditContext` (`ctx.auditContext`,
 * `ctx.state.auditContext`, and `currentAuditContext()` anywhere downstream). Writes
 * nothing by itself. Resolvers receive `ctx`; the default user is
 * `ctx.state.user.id`, the default IP `ctx.ip` (which honours `app.proxy`).
 *
 * @example
 * ```ts
 * app.use(koaAuditEvents({ includeHeaders: ["user-agent"] }));
 * app.use(async (ctx) => { await ctx.auditContext.createEvent(order, { action: "view" }); });
 * ```
 * @throws {AuditConfigError} for bad options, or when registered as `app.use(koaAuditEvents)`.
 */
export function koaAuditEvents(options?: Partial<AuditOptions>, ...rest: unknown[]) {
  const config = middlewareConfig("koaAuditEvents", options, rest.length);
  return function koaAuditEventsMiddleware(ctx: KoaLikeContext, next: () => Promise<unknown>): Promise<unknown> {
    const context = new RequestAuditContext(koaSource(ctx), config);
    ctx.auditContext = context;
    ctx.state.auditContext = context;
    return runWithAuditContext(context, next);
  };
}
