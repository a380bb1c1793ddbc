import type { IncomingMessage, ServerResponse } from "node:http";

import type { ExpressLikeRequest } from "../adapters/express";
import type { AuditContextInit } from "../context";
import { AuditQueryError } from "../query/query-error";
import { originForm } from "../request-target";
import { denialContextOf, matchRoute, NOSNIFF, resolveRouterOptions, serveRead, splitTarget, type AuditRouterOptions, type ReadResponse } from "./read-handler";

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.statusCode = status;
  res.setHeader("content-type", "application/json; charset=utf-8");
  res.end(JSON.stringify(body));
}

/** What a pipeline into a response whose client left fails with (Node 20 and Node 24 differ). */
const CLOSED_STREAM_CODES = new Set<unknown>(["ERR_STREAM_PREMATURE_CLOSE", "ERR_STREAM_DESTROYED"]);

async function send(res: ServerResponse, response: ReadResponse): Promise<void> {
  if ("json" in response) return sendJson(res, response.status, response.json);
  // The client left while the first page was read: nobody to write to, and no error of the app's.
  if (res.destroyed) return response.cancel();
  res.statusCode = 200;
  res.setHeader("content-type", response.contentType);
  res.setHeader("content-disposition", `attachment; filename="${response.attachment}"`);
  await response.write(res);
}

/**
 * An Express 4/5 router serving the audit trail read-only, mounted where you like:
 * `GET /events` (filters as query parameters, `limit`, `cursor`; answers
 * `{ events, nextCursor, next }`), `GET /events/:id`, `GET /events/export?format=ndjson|csv|json|cloudevents`
 * and `GET /events/summary`. Every request must pass `authorize`; a refused one gets
 * 403 and is recorded as an event. When `authorize` answers `{ tenantId }`, every route
 * answers from that tenant's events only. Bad parameters get 400 with the reason.
 *
 * @example
 * ```ts
 * app.use("/audit", auditRouter({ authorize: (req) => req.user?.role === "auditor" }));
 * // GET /audit/events?contentType=Order&objectId=42&limit=20
 * app.use("/tenant-audit", auditRouter({ authorize: (req) => (req.user ? { tenantId: req.user.orgId } : false) }));
 * ```
 * @throws {AuditConfigError} when `authorize` is missing, or an option is unknown; on a
 * request (passed to `next`, so 500), when `authorize` answers neither a yes nor a no.
 */
export function auditRouter(options: AuditRouterOptions<ExpressLikeRequest>) {
  const router = resolveRouterOptions("auditRouter", options);
  const { store } = router;
  return async function auditRouterMiddleware(req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void): Promise<void> {
    const request = req as ExpressLikeRequest;
    // The URL as the app left it (mount path taken off, rewritten perhaps): route and filters both.
    const { path, search } = splitTarget(request.url ?? "/");
    const method = request.method ?? "GET";
    const route = matchRoute(method, path);
    if (route === null) return next();
    const read = { method, path, search, originalUrl: originForm(request.originalUrl ?? request.url ?? path) };
    // Set before anything can fail, so the app's error handler answers with it too.
    res.setHeader(...NOSNIFF);
    try {
      const denialContext = () => {
        const init: AuditContextInit = { url: read.originalUrl, method, remoteAddr: request.ip ?? request.socket.remoteAddress ?? null, user: request.user as AuditContextInit["user"], ...(store ? { store } : {}) };
        return request.auditContext ?? denialContextOf(init);
      };
      await send(res, await serveRead(route, read, router, request, denialContext));
    } catch (error) {
      if (error instanceof AuditQueryError) return sendJson(res, 400, { error: error.message });
      // A stream that failed part way cannot change its status any more: cut it, so the client sees it incomplete.
      if (res.headersSent) return void res.destroy(error as Error);
      // The client left as the export began (its stream then fails as closed early, or as
      // destroyed on Node 24): nobody to answer, no error of the app's.
      if (CLOSED_STREAM_CODES.has((error as { code?: unknown } | null)?.code) && (res.destroyed || req.socket.destroyed)) return;
      next(error);
    }
  };
}
