import type { IncomingMessage, ServerResponse } from "node:http";
import { bindEmitterToContext, runWithAuditContext } from "../async-context";
import type { AuditOptions } from "../config/options";
import type { AuditContext } from "../context";
import { middlewareConfig } from "../middleware-options";
import { RequestAuditContext, type RequestSource } from "../request-context";

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
class ExpressRequestSource implements RequestSource {
  constructor(readonly request: ExpressLikeRequest) {}
  get headers() {
    return this.request.headers;
  }
  url() {
    const req = this.request;
    return `${req.protocol ?? "http"}://${requestHost(req)}${req.originalUrl ?? req.url ?? ""}`;
  }
  method() {
    return this.request.method ?? "GET";
  }
  ip() {
    return this.request.ip ?? this.request.socket.remoteAddress;
  }
  userCandidates() {
    return [this.request.user, this.request.auth];
  }
  query() {
    return this.request.query;
  }
  body() {
    return this.request.body;
  }
}

/**
 * Express 4 and 5 middleware: gives each request an `AuditContext`
 * (`req.auditContext`, and `currentAuditContext()` anywhere in the request's async
 * call tree). Writes nothing by itself. Options here are laid over
 * `configureAudit()`'s and validated now.
 *
 * @example
 * ```ts
 * configureAudit({ store: prismaStore(prisma), includePostData: true });
 * app.use(auditEvents());
 * app.post("/orders/:id/refund", async (req, res) => {
 *   await req.auditContext.createEvent(order, {}, { action: "refund" });
 * });
 * ```
 * @throws {AuditConfigError} for bad options, or when registered as `app.use(auditEvents)`.
 */
export function auditEvents(options?: Partial<AuditOptions>, ...rest: unknown[]) {
  const config = middlewareConfig("auditEvents", options, rest.length);
  return function auditEventsMiddleware(req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void): void {
    const request = req as ExpressLikeRequest;
    const context = new RequestAuditContext(new ExpressRequestSource(request), config);
    request.auditContext = context;
    bindEmitterToContext(req, context);
    bindEmitterToContext(res, context);
    runWithAuditContext(context, next);
  };
}
