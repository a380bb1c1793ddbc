import type { IncomingMessage, ServerResponse } from "node:http";
import type { FastifyInstance, FastifyPluginCallback, FastifyReply, FastifyRequest } from "fastify";
import fastifyPlugin from "fastify-plugin";
import { bindEmitterToContext, runWithAuditContext } from "../async-context";
import type { AuditContext } from "../context";
import { AuditConfigError } from "../errors";
import { decideAccess, refuseRequest, resolveAccessOptions, type AuditAccessOptions } from "../access";
import { LayeredConfig } from "../config/configure";
import { middlewareSetup, type AuditMiddlewareOptions } from "../middleware-options";
import { RequestAuditContext, socketPeer, type RequestSource } from "../request-context";
import { watchRequest, type PathRules, type RequestEventSource } from "../request-events";
import { FASTIFY_ABSOLUTE_FORM, requestPath, requestUrl } from "../request-target";

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
  /** The matched route's options: `url` is its template (`/orders/:id`); Fastify 4.10+ and 5. */
  routeOptions?: { url?: string };
}

/** How Fastify matches paths by default: case-sensitive, a trailing slash significant, percent-encoding decoded. */
const FASTIFY_DEFAULT_PATH_RULES: PathRules = Object.freeze({ caseSensitive: true, ignoresTrailingSlash: false, decodesPercent: true });

/** How this Fastify instance matches paths: its `caseSensitive` and `ignoreTrailingSlash` (Fastify 5: under `routerOptions`). */
function fastifyPathRules(instance: FastifyInstance): PathRules {
  type RouterOptions = { caseSensitive?: boolean; ignoreTrailingSlash?: boolean };
  const config = instance.initialConfig as RouterOptions & { routerOptions?: RouterOptions };
  const router = config.routerOptions ?? {};
  return Object.freeze({
    caseSensitive: router.caseSensitive ?? config.caseSensitive ?? true,
    ignoresTrailingSlash: router.ignoreTrailingSlash ?? config.ignoreTrailingSlash ?? false,
    decodesPercent: true,
  });
}

/** Reads a Fastify request for the core; one per request, no closures. */
class FastifyRequestSource implements RequestSource, RequestEventSource {
  /** The socket's peer, read when the request starts (see {@link socketPeer}). */
  private readonly peer: string | undefined;
  constructor(
    readonly request: FastifyLikeRequest,
    private readonly rules: PathRules = FASTIFY_DEFAULT_PATH_RULES,
  ) {
    this.peer = socketPeer(request.raw.socket);
  }
  get headers() {
    return this.request.headers;
  }
  url() {
    const req = this.request;
    // An absolute-form target (`GET http://u:pw@x/g`) is the URL itself: its authority wins over Host.
    return requestUrl(req.protocol ?? "http", req.host ?? req.hostname ?? "localhost", req.originalUrl ?? req.url);
  }
  method() {
    return this.request.method;
  }
  path() {
    const req = this.request;
    return requestPath(req.originalUrl ?? req.url, undefined, FASTIFY_ABSOLUTE_FORM);
  }
  pathRules() {
    return this.rules;
  }
  route() {
    // Fastify answers a request no route matched from its 404 handler, which has no url.
    return this.request.routeOptions?.url ?? null;
  }
  startRoute() {
    // Fastify has routed the request before its onRequest hooks run.
    return this.route();
  }
  ip() {
    return this.request.ip || this.peer;
  }
  userCandidates() {
    return [this.request.user];
  }
  userPlaces() {
    return "request.user";
  }
  query() {
    return this.request.query;
  }
  body() {
    return this.request.body;
  }
}

/**
 * Reads a raw request Fastify answered from its router, before any hook (see
 * {@link recordUnroutedRequests}): no route, no parsed query or body, no user; resolvers
 * receive the raw request.
 */
class UnroutedRequestSource implements RequestSource, RequestEventSource {
  private readonly peer: string | undefined;
  constructor(
    readonly request: IncomingMessage,
    private readonly rules: PathRules,
  ) {
    this.peer = socketPeer(request.socket);
  }
  get headers() {
    return this.request.headers;
  }
  url() {
    const secure = (this.request.socket as { encrypted?: boolean }).encrypted === true;
    return requestUrl(secure ? "https" : "http", this.request.headers.host ?? "localhost", this.request.url ?? "/");
  }
  method() {
    return this.request.method ?? "GET";
  }
  path() {
    return requestPath(this.request.url ?? "/", undefined, FASTIFY_ABSOLUTE_FORM);
  }
  pathRules() {
    return this.rules;
  }
  route() {
    return null;
  }
  ip() {
    return this.peer;
  }
  userCandidates() {
    return [];
  }
  userPlaces() {
    // The router answered before any hook: no authentication ran, so no user is missing.
    return undefined;
  }
  query() {
    return undefined;
  }
  body() {
    return undefined;
  }
}

/**
 * Marks a raw request the plugin's `onRequest` hook saw (see {@link recordUnroutedRequests}):
 * one property, always the same, rather than a WeakSet entry per request, which the
 * garbage collector pays for on every request.
 */
const ROUTED = Symbol("audit-events.fastify-routed");

interface RoutedRequest extends IncomingMessage {
  [ROUTED]?: true;
}

/**
 * Fastify's router answers some requests itself, at once, before any hook: a path whose
 * percent-encoding does not decode (400), a parameter over `maxParamLength` (414 on
 * Fastify 5), any request while the server closes (503). A request Fastify routes runs
 * the plugin's `onRequest` hook, first of all when no hook was added before it, within
 * the server's own `request` listener; a listener after Fastify's finds the ones that
 * did not and were answered, and watches them. With hooks added before the plugin, one
 * of which may answer as synchronously, which ones Fastify routed cannot be told: none
 * is watched there.
 */
function recordUnroutedRequests(instance: FastifyInstance, pathRules: PathRules, requestEvents: NonNullable<ReturnType<typeof middlewareSetup>["requestEvents"]>, config: LayeredConfig): void {
  instance.server.on("request", function recordUnroutedRequest(req: RoutedRequest, res: ServerResponse) {
    if (req[ROUTED] === true || !res.writableEnded) return;
    const source = new UnroutedRequestSource(req, pathRules);
    watchRequest(new RequestAuditContext(source, config), res, source, requestEvents, config);
  });
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

/**
 * How many `onRequest` hooks the instance had before the plugin's: Fastify keeps them
 * under a symbol of its own (`fastify.hooks`, Fastify 4 and 5); 0 when it cannot be told.
 */
function earlierOnRequestHooks(instance: FastifyInstance): number {
  const key = Object.getOwnPropertySymbols(instance).find((symbol) => symbol.description === "fastify.hooks");
  const hooks = key === undefined ? undefined : (instance as unknown as Record<symbol, { onRequest?: unknown }>)[key];
  return Array.isArray(hooks?.onRequest) ? hooks.onRequest.length : 0;
}

/**
 * An `onRequest` hook added before the plugin runs before the request has its context:
 * `request.auditContext` is null in it, and a request it answers never gets one (with
 * `requestEvents`, its event is written when its response finishes, and none is when its
 * client leaves first). Said once, when the plugin is registered.
 */
function warnOfEarlierHooks(instance: FastifyInstance, config: LayeredConfig): void {
  const count = earlierOnRequestHooks(instance);
  if (count === 0) return;
  try {
    const { logger } = config.get();
    logger.warn(
      `audit-events: ${count} onRequest hook(s) were added to this Fastify instance before fastifyAuditEvents: they run before the request has its audit context (request.auditContext is null there, and a request they answer never gets one: its request event, if asked for, is written only if its response finishes; a request Fastify's router answers before any hook is not recorded). Register fastifyAuditEvents before any hook. On NestJS's FastifyAdapter, Nest adds hooks of its own (for app.use() middleware and CORS) before any module can register: there this says that requests those answer, such as a CORS preflight, run without the context.`,
    );
  } catch {
    // A failing logger must not stop the plugin.
  }
}

function fastifyAuditEventsPlugin(instance: FastifyInstance, options: AuditMiddlewareOptions, done: (error?: Error) => void): void {
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
  let setup: ReturnType<typeof middlewareSetup>;
  try {
    setup = middlewareSetup("fastifyAuditEvents", auditOptionsOf(options), 0);
  } catch (error) {
    return done(error as Error);
  }
  const { config, requestEvents } = setup;
  warnOfEarlierHooks(instance, config);
  const pathRules = fastifyPathRules(instance);
  // null, not an object: Fastify 5 refuses a shared reference as a request decorator.
  instance.decorateRequest("auditContext", null as unknown as AuditContext);
  // The raw requests this hook saw are marked (see ROUTED): the rest Fastify answered from its router.
  const marksRouted = requestEvents !== undefined && earlierOnRequestHooks(instance) === 0;
  if (marksRouted) recordUnroutedRequests(instance, pathRules, requestEvents, config);
  // Later hooks of the request layer read request.auditContext, set here first.
  instance.addHook("onRequest", function enterAuditContext(request, reply, next) {
    if (marksRouted) (request.raw as RoutedRequest)[ROUTED] = true;
    const source = new FastifyRequestSource(request as FastifyLikeRequest, pathRules);
    const context = new RequestAuditContext(source, config);
    request.auditContext = context;
    // The event is written when the raw response finishes (or its client goes away),
    // after Fastify has sent it, as on Express and Koa.
    if (requestEvents !== undefined) watchRequest(context, reply.raw, source, requestEvents, config);
    // Fastify's own body parsing keeps the context (fastify/fastify#3570), but a
    // plugin that reads the stream itself in a later hook, as @fastify/multipart
    // does, finishes in the socket's data/end callbacks, outside it
    // (fastify/fastify-request-context#153): bound, as on Express, they keep it.
    bindEmitterToContext(request.raw, context);
    runWithAuditContext(context, next);
  });
  // Fastify runs no later onRequest hook once one has answered (or failed), so a request
  // an earlier hook answered never reaches enterAuditContext; its onResponse hooks still
  // run, when its response finishes, and its request event is written from there.
  if (requestEvents !== undefined) {
    instance.addHook("onResponse", function recordUnwatchedRequest(request, reply, next) {
      if (request.auditContext === null) {
        const source = new FastifyRequestSource(request as FastifyLikeRequest, pathRules);
        watchRequest(new RequestAuditContext(source, config), reply.raw, source, requestEvents, config);
      }
      next();
    });
  }
  done();
}

/**
 * Fastify 4 and 5 plugin: gives each request an `AuditContext`
 * (`request.auditContext`, and `currentAuditContext()` anywhere in the request's
 * async call tree: later hooks, the handler, `onSend`, the error handler). Writes
 * nothing by itself. Wrapped with `fastify-plugin`, so it applies to the whole
 * instance, not to an encapsulated child; register it before any hook (an `onRequest`
 * hook added earlier runs without the context, and the logger says so once; with
 * `requestEvents`, a request such a hook answers is recorded from an `onResponse` hook
 * when its response finishes; without such a hook, a request Fastify's router answers
 * before any hook, such as a path that does not decode, is recorded from a listener on
 * the server). Options are those of `auditEvents()`,
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
 *   await request.auditContext.createEvent(order, {}, { action: "refund" });
 * });
 * ```
 * @throws {AuditConfigError} (`ERR_AUDIT_CONFIG`) for bad options, when registered
 * as `register(fastifyAuditEvents())`, or registered twice.
 */
export const fastifyAuditEvents: FastifyPluginCallback<AuditMiddlewareOptions> = fastifyPlugin(fastifyAuditEventsPlugin, {
  fastify: "4.x || 5.x",
  name: "audit-events",
});

const processConfig = new LayeredConfig({});

/**
 * A Fastify `preHandler` hook that asks `request(req)` whether the request may go on, as
 * `auditAccess()` does on Express (fhirbug's request-level access): `true` lets it
 * through; `{ allow: false, reason }` answers 403 `{ error: reason }` and records one
 * event (outcome `"denied"`); a hook that throws or answers anything else fails closed
 * with 500, recorded as a failure. Register it on the instance or on a route.
 *
 * @example
 * ```ts
 * app.register(fastifyAuditEvents);
 * app.addHook("preHandler", fastifyAuditAccess({
 *   request: (req) => (req.user ? true : { allow: false, reason: "Sign in first." }),
 * }));
 * ```
 * The hook may take `hookTimeoutMs` (default 10 000) before it is taken as failed; a
 * refusal decided after the reply was sent is recorded, and the reply stands.
 * @throws {AuditConfigError} `ERR_AUDIT_CONFIG` when `request` is not a function or
 * `hookTimeoutMs` is out of range; when given to `fastify.register()` (it is a hook, not a plugin).
 */
export function fastifyAuditAccess(options: AuditAccessOptions<FastifyRequest>) {
  const { request: hook, hookTimeoutMs } = resolveAccessOptions<FastifyRequest>("fastifyAuditAccess", options);
  return async function auditAccessHook(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    if (isFastifyInstance(request) || typeof (reply as Partial<FastifyReply> | undefined)?.code !== "function") {
      throw new AuditConfigError(
        'fastifyAuditAccess() makes a preHandler hook, not a plugin: write fastify.addHook("preHandler", fastifyAuditAccess({ request })) or a route\'s { preHandler: fastifyAuditAccess({ request }) }, not fastify.register(fastifyAuditAccess(...)).',
      );
    }
    const verdict = await decideAccess("fastifyAuditAccess", hook, request, hookTimeoutMs);
    if (verdict.allow) return;
    const source = new FastifyRequestSource(request as FastifyLikeRequest);
    const context = request.auditContext ?? new RequestAuditContext(source, processConfig);
    const { status, body } = await refuseRequest("fastifyAuditAccess", context, verdict, source.route(), processConfig);
    // Something else answered first: the refusal is recorded, the answer stands.
    if (reply.sent || reply.raw.headersSent) return;
    await reply.code(status).type("application/json; charset=utf-8").send(body);
  };
}
