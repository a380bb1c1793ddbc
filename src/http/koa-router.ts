import { PassThrough } from "node:stream";

import type { KoaLikeContext } from "../adapters/koa";
import type { AuditContextInit } from "../context";
import { thrownMessage } from "../thrown-message";
import { AuditConfigError } from "../errors";
import { AuditQueryError } from "../query/query-error";
import { originForm } from "../request-target";
import { denialContextOf, matchRoute, NOSNIFF, resolveRouterOptions, serveRead, type AuditRouterOptions } from "./read-handler";

/** The parts of a Koa context the router uses, beyond the middleware's. */
export interface KoaRouterContext extends KoaLikeContext {
  path: string;
  /** The query string without `?`, of `ctx.url` as the app left it. */
  querystring: string;
  originalUrl: string;
  status: number;
  body: unknown;
  type: string;
  set(field: string, value: string): void;
}

/** Options of {@link koaAuditRouter}: those of `auditRouter`, plus where it is mounted. */
export interface KoaAuditRouterOptions extends AuditRouterOptions<KoaRouterContext> {
  /**
   * The path the routes sit under, e.g. `"/audit"` for `GET /audit/events`. Leave it
   * out when the router is mounted with koa-mount.
   * @default ""
   */
  prefix?: string;
}

/**
 * Koa's default error handler removes every header set before it answers, then sets
 * those of `error.headers` (as `ctx.throw(status, message, { headers })` does): the
 * header goes there, so the app's error answer carries it too.
 */
function withNosniff(error: unknown): unknown {
  if (error instanceof Error) {
    try {
      const carrier = error as { headers?: unknown };
      const headers = typeof carrier.headers === "object" && carrier.headers !== null ? carrier.headers : {};
      carrier.headers = { ...headers, [NOSNIFF[0]]: NOSNIFF[1] };
      if ((carrier.headers as Record<string, unknown>)[NOSNIFF[0]] === NOSNIFF[1]) return error;
    } catch {
      // Frozen, or `headers` a getter only: carried by an error of its own below.
    }
  }
  // Koa answers a thrown non-Error through an Error of its own, without the thrown value's
  // headers; and one whose headers cannot be set would not carry them: an Error that
  // carries the header and the status, with the original as its cause.
  const { status, expose } = typeof error === "object" && error !== null ? (error as { status?: unknown; expose?: unknown }) : {};
  const carrier = new Error(error instanceof Error ? error.message : `non-error thrown: ${thrownMessage(error)}`, { cause: error });
  return Object.assign(carrier, { headers: { [NOSNIFF[0]]: NOSNIFF[1] }, ...(typeof status === "number" ? { status } : {}), ...(typeof expose === "boolean" ? { expose } : {}) });
}

/**
 * The Koa 2/3 equivalent of `auditRouter`: the same routes, answers, `authorize`
 * (with its `{ tenantId }` answer), 403 with a recorded denial, and 400 for bad parameters.
 *
 * @example
 * ```ts
 * app.use(koaAuditRouter({ prefix: "/audit", authorize: (ctx) => ctx.state.user?.role === "auditor" }));
 * ```
 * @throws {AuditConfigError} when `authorize` is missing, an option is unknown, or `prefix` does not start with "/".
 */
export function koaAuditRouter(options: KoaAuditRouterOptions) {
  const router = resolveRouterOptions("koaAuditRouter", options, ["prefix"]);
  const { store } = router;
  const prefix = options.prefix ?? "";
  if (typeof prefix !== "string" || (prefix !== "" && (!prefix.startsWith("/") || prefix.endsWith("/")))) {
    throw new AuditConfigError('koaAuditRouter(): prefix must be a path such as "/audit" (starting with "/", not ending with it), or left out.');
  }
  return async function koaAuditRouterMiddleware(ctx: KoaRouterContext, next: () => Promise<unknown>): Promise<void> {
    if (!ctx.path.startsWith(prefix)) return void (await next());
    const path = ctx.path.slice(prefix.length) || "/";
    const route = matchRoute(ctx.method, path);
    if (route === null) return void (await next());
    // The filters of the URL the route was matched on: the app's own when it rewrote `ctx.url`.
    const read = { method: ctx.method, path, search: ctx.querystring, originalUrl: originForm(ctx.originalUrl) };
    ctx.set(...NOSNIFF);
    try {
      const denialContext = () => {
        const user = (ctx.state.user ?? ctx.req.user) as AuditContextInit["user"];
        const init: AuditContextInit = { url: ctx.href, method: ctx.method, remoteAddr: ctx.ip, user, ...(store ? { store } : {}) };
        return ctx.auditContext ?? denialContextOf(init);
      };
      const response = await serveRead(route, read, router, ctx, denialContext);
      if ("json" in response) {
        ctx.status = response.status;
        ctx.body = response.json;
        return;
      }
      // The client left while the first page was read: nobody to write to, and no error of the app's.
      if (ctx.res.destroyed) return void (await response.cancel());
      const body = new PassThrough();
      ctx.status = 200;
      ctx.type = response.contentType;
      ctx.set("content-disposition", `attachment; filename="${response.attachment}"`);
      ctx.body = body;
      // Koa pipes the body to the client as it reads. A failure part way must cut the
      // response, so the client sees it incomplete: Koa 2 leaves a response whose headers
      // went out open after its body's error (it only pipes), so it is destroyed here too.
      response.write(body).catch((error: unknown) => {
        body.destroy(error as Error);
        ctx.res.destroy(error as Error);
      });
    } catch (error) {
      if (!(error instanceof AuditQueryError)) throw withNosniff(error);
      ctx.status = 400;
      ctx.body = { error: error.message };
    }
  };
}
