import type { FastifyInstance, FastifyPluginCallback, FastifyRequest } from "fastify";
import fastifyPlugin from "fastify-plugin";
import { bindEmitterToContext, runWithAuditContext } from "../async-context";
import type { AuditOptions } from "../config/options";
import type { AuditContext } from "../context";
import { AuditConfigError } from "../errors";
import { middlewareConfig } from "../middleware-options";
import { RequestAuditContext, type RequestSource } from "../request-context";

// FastifyRequest is the interface Fastify asks plugins to augment (as
// @fastify/request-context and @fastify/jwt do).
declare module "fastify" {
  interface FastifyRequest {
    /** The request's audit context, set by the `fastifyAuditEvents` plugin. */
    auditContext: AuditContext;
  }
}

/**
 * The parts of a Fastify 4 or 5 request the plugin reads. `host` is Fastify 5's
 * (with the port, `X-Forwarded-Host` from a trusted proxy only); Fastify 4 has only
 * `hostname`, which there holds the port too.
 */
export interface FastifyLikeRequest {
  raw: FastifyRequest["raw"];
  headers: FastifyRequest["headers"];
  url: string;
  originalUrl?: string;
  method: string;
  ip: string;
  protocol?: string;
  host?: string;
  hostname: string;
  query: unknown;
  body: unknown;
  /** Where @fastify/jwt (`request.jwtVerify()`) and @fastify/passport leave the user. */
  user?: unknown;
}

/** Reads a Fastify request for the core; one per request, no closures. */
class FastifyRequestSource implements RequestSource {
  constructor(readonly request: FastifyLikeRequest) {}
  get headers() {
    return this.request.headers;
  }
  url() {
    const req = this.request;
    return `${req.protocol ?? "http"}://${req.host ?? req.hostname ?? "localhost"}${req.originalUrl ?? req.url}`;
  }
  method() {
    return this.request.method;
  }
  ip() {
    return this.request.ip;
  }
  userCandidates() {
    return [this.request.user];
  }
  query() {
    return this.request.query;
  }
  body() {
    return this.request.body;
  }
}

/** What `fastify.register()` passes along that is Fastify's, not ours. */
const REGISTER_OPTIONS = new Set(["prefix", "logLevel", "logSerializers"]);

function isFastifyInstance(value: unknown): value is FastifyInstance {
  return typeof value === "object" && value !== null && typeof (value as FastifyInstance).addHook === "function" && typeof (value as FastifyInstance).decorateRequest === "function";
}

function auditOptionsOf(options: unknown): unknown {
  if (typeof options !== "object" || options === null) return options;
  return Object.fromEntries(Object.entries(options).filter(([key]) => !REGISTER_OPTIONS.has(key)));
}

function fastifyAuditEventsPlugin(instance: FastifyInstance, options: Partial<AuditOptions>, done: (error?: Error) => void): void {
  if (!isFastifyInstance(instance)) {
    throw new AuditConfigError(
      "fastifyAuditEvents is a Fastify plugin, registered without being called: write fastify.register(fastifyAuditEvents, options), not fastify.register(fastifyAuditEvents(options)).",
    );
  }
  // Fastify 4's loader lets a thrown error escape as an uncaught exception: handed
  // to done(), it rejects register()/ready() instead, as Fastify intends.
  if (instance.hasRequestDecorator("auditContext")) {
    return done(new AuditConfigError("fastifyAuditEvents is registered twice on this Fastify instance: register it once, on the root instance."));
  }
  let config: ReturnType<typeof middlewareConfig>;
  try {
    config = middlewareConfig("fastifyAuditEvents", auditOptionsOf(options), 0);
  } catch (error) {
    return done(error as Error);
  }
  // null, not an object: Fastify 5 refuses a shared reference as a request decorator.
  instance.decorateRequest("auditContext", null as unknown as AuditContext);
  // Later hooks of the request layer read request.auditContext, set here first.
  instance.addHook("onRequest", function enterAuditContext(request, _reply, next) {
    const context = new RequestAuditContext(new FastifyRequestSource(request as FastifyLikeRequest), config);
    request.auditContext = context;
    // Fastify's own body parsing keeps the context (fastify/fastify#3570), but a
    // plugin that reads the stream itself in a later hook, as @fastify/multipart
    // does, finishes in the socket's data/end callbacks, outside it
    // (fastify/fastify-request-context#153): bound, as on Express, they keep it.
    bindEmitterToContext(request.raw, context);
    runWithAuditContext(context, next);
  });
  done();
}

/**
 * Fastify 4 and 5 plugin: gives each request an `AuditContext`
 * (`request.auditContext`, and `currentAuditContext()` anywhere in the request's
 * async call tree: later hooks, the handler, `onSend`, the error handler). Writes
 * nothing by itself. Wrapped with `fastify-plugin`, so it applies to the whole
 * instance, not to an encapsulated child. Options are those of `auditEvents()`,
 * laid over `configureAudit()`'s and validated when Fastify loads the plugin.
 * Resolvers receive the Fastify request; the default user is `request.user`
 * (@fastify/jwt, @fastify/passport) by its `id`, else its `sub`; the default IP
 * `request.ip`, and the URL `request.protocol` and host, which honour Fastify's
 * `trustProxy`.
 *
 * @example
 * ```ts
 * const app = Fastify({ trustProxy: 1 });
 * await app.register(fastifyAuditEvents, { includeHeaders: ["user-agent"] });
 * app.post("/orders/:id/refund", async (request) => {
 *   await request.auditContext.createEvent(order, { action: "refund" });
 * });
 * ```
 * @throws {AuditConfigError} (`ERR_AUDIT_CONFIG`) for bad options, when registered
 * as `register(fastifyAuditEvents())`, or registered twice.
 */
export const fastifyAuditEvents: FastifyPluginCallback<Partial<AuditOptions>> = fastifyPlugin(fastifyAuditEventsPlugin, {
  fastify: "4.x || 5.x",
  name: "audit-events",
});
