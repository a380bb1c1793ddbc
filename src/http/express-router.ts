import type { IncomingMessage, ServerResponse } from "node:http";

import type { ExpressLikeRequest } from "../adapters/express";
import { AuditContext, type AuditContextInit } from "../context";
import { AuditQueryError } from "../query/query-error";
import { answerRead, DENIED_BODY, matchRoute, NOSNIFF, recordDenial, resolveRouterOptions, type AuditRouterOptions, type ReadResponse } from "./read-handler";

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.statusCode = status;
  res.setHeader("content-type", "application/json; charset=utf-8");
  res.end(JSON.stringify(body));
}

async function send(res: ServerResponse, response: ReadResponse): Promise<void> {
  if ("json" in response) return sendJson(res, response.status, response.json);
  res.statusCode = 200;
  res.setHeader("content-type", response.contentType);
  res.setHeader("content-disposition", `attachment; filename="${response.attachment}"`);
  await response.write(res);
}

/**
 * An Express 4/5 router serving the audit trail read-only, mounted where you like:
 * `GET /events` (filters as query parameters, `limit`, `cursor`; answers
 * `{ events, nextCursor, next }`), `GET /events/:id`, `GET /events/export?format=ndjson|csv|json`
 * and `GET /events/summary`. Every request must pass `authorize`; a refused one gets
 * 403 and is recorded as an event. Bad parameters get 400 with the reason.
 *
 * @example
 * ```ts
 * app.use("/audit", auditRouter({ authorize: (req) => req.user?.role === "auditor" }));
 * // GET /audit/events?contentType=Order&objectId=42&limit=20
 * ```
 * @throws {AuditConfigError} when `authorize` is missing, or an option is unknown.
 */
export function auditRouter(options: AuditRouterOptions<ExpressLikeRequest>) {
  const { store, authorize, cursorKey } = resolveRouterOptions("auditRouter", options);
  return async function auditRouterMiddleware(req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void): Promise<void> {
    const request = req as ExpressLikeRequest;
    const path = (request.url ?? "/").split("?")[0]!;
    const method = request.method ?? "GET";
    const route = matchRoute(method, path);
    if (route === null) return next();
    const read = { method, path, originalUrl: request.originalUrl ?? request.url ?? path };
    // Set before anything can fail, so the app's error handler answers with it too.
    res.setHeader(...NOSNIFF);
    try {
      if ((await authorize(request)) !== true) {
        const init: AuditContextInit = { url: read.originalUrl, method, remoteAddr: request.ip ?? request.socket.remoteAddress ?? null, user: request.user as AuditContextInit["user"], ...(store ? { store } : {}) };
        await recordDenial(request.auditContext ?? new AuditContext(init), read);
        return sendJson(res, 403, DENIED_BODY);
      }
      await send(res, await answerRead(route, read, store, cursorKey()));
    } catch (error) {
      if (error instanceof AuditQueryError) return sendJson(res, 400, { error: error.message });
      // A stream that failed part way cannot change its status any more: cut it, so the client sees it incomplete.
      if (res.headersSent) return void res.destroy(error as Error);
      next(error);
    }
  };
}
