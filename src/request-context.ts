import type { IncomingHttpHeaders } from "node:http";
import type { LayeredConfig } from "./config/configure";
import type { ResolvedAuditConfig, ResolverRequest } from "./config/options";
import { normalizeClientIp } from "./client-ip";
import { AuditContext, type RequestFacts } from "./context";
import { AuditError } from "./errors";
import { tenantIdProblem } from "./model/tenant-id";
import type { JsonObject } from "./model/json";
import { maskUrl } from "./mask-url";
import { maskRequestData, pickHeaders } from "./masking";
import { contentTypeOf, declaredBodyBytes, firstUserId, userIdOf } from "./request-data";
import { requestBodyPayload } from "./payload-record";
import { requestIdOf } from "./request-id";
import { maskJsonInString, sanitizeString } from "./serialize";
import { warnUnresolvedUser } from "./unresolved-user-warning";
import { thrownMessage } from "./thrown-message";
import { maskUrlUserinfoInQuery } from "./url-userinfo-in-query";

/**
 * What an adapter tells the core about one request. Every method is called only
 * when an event is created, so a request without events costs nothing more.
 */
export interface RequestSource {
  /** The framework's own request (Express `req`, Koa `ctx`), handed to resolvers. */
  readonly request: ResolverRequest;
  readonly headers: IncomingHttpHeaders;
  /** The absolute URL, honouring the framework's proxy settings. */
  url(): string;
  method(): string;
  /** The framework's client IP, which honours its own proxy settings. */
  ip(): string | null | undefined;
  /**
   * Where the framework's authentication leaves a user, in the order the default
   * user resolver reads them (Express: `req.user`, `req.auth`; Koa: `ctx.state.user`).
   */
  userCandidates(): readonly unknown[];
  /**
   * The places {@link userCandidates} reads, as the app's code names them, for the warning
   * when none holds a user (`"req.user and req.auth (express-jwt)"`); undefined when no
   * authentication can have run (a request answered before any hook), so none is missing.
   */
  userPlaces(): string | undefined;
  /** The parsed query string. */
  query(): unknown;
  /** The parsed body, whichever body parser filled it. */
  body(): unknown;
}

/**
 * The address of the socket's peer, read now. A request's events may be built after its
 * client went away (a request event at `close`, a handler that records after a slow
 * query), when the socket no longer says: read at the start, Node keeps it for the
 * socket's life (so the framework's own `ip`, read later, sees it too), and the adapter
 * keeps it as the fallback. One `getpeername` per connection, none more per request on
 * a kept-alive one.
 */
export function socketPeer(socket: { remoteAddress?: string | undefined } | null | undefined): string | undefined {
  return socket?.remoteAddress;
}

function callResolver<T>(name: string, resolver: (req: ResolverRequest) => T, request: ResolverRequest): T {
  try {
    return resolver(request);
  } catch (cause) {
    throw new AuditError("ERR_AUDIT_RESOLVER", `The ${name} option threw: ${thrownMessage(cause)}`, { cause });
  }
}

/**
 * What `tenantResolver` returned, as the stored `tenantId`: a tenant id (a string, as
 * it is: see {@link tenantIdProblem}), a number, or none (undefined, null, a blank
 * string); anything else is a mistake in the resolver, said so, rather than an id
 * cleaned up or cut into another tenant's.
 */
function tenantIdOf(value: unknown): string | null {
  switch (typeof value) {
    case "undefined":
      return null;
    case "string": {
      if (value.trim().length === 0) return null;
      const problem = tenantIdProblem(value);
      if (problem !== undefined) {
        throw new AuditError("ERR_AUDIT_RESOLVER", `The tenantResolver option returned ${JSON.stringify(value.slice(0, 60))}${value.length > 60 ? "…" : ""}, which is not a tenant id: ${problem}. Return the tenant's id as your data holds it.`);
      }
      return value;
    }
    case "number":
    case "bigint":
      return String(value);
    default:
      if (value === null) return null;
      throw new AuditError(
        "ERR_AUDIT_RESOLVER",
        `The tenantResolver option returned ${Array.isArray(value) ? "an array" : typeof value === "object" ? "an object" : `a ${typeof value}`}: return the tenant's id (a string), or null for none, such as (req) => req.user?.organizationId ?? null.`,
      );
  }
}

/**
 * The context the middleware attaches to a request: the request's facts are read
 * when each event is created (the user may authenticate, and a body parser may run,
 * after the middleware).
 */
export class RequestAuditContext extends AuditContext {
  private maskedBody: { body: unknown; config: ResolvedAuditConfig; postData: JsonObject } | undefined;
  /** The URL, query and headers as the last event saw them, reused while unchanged. */
  private seen: { config: ResolvedAuditConfig; rawUrl: string; url: string; query: unknown; queryParams: JsonObject; headers: JsonObject } | undefined;
  private ownRequestId: string | undefined;

  constructor(
    private readonly source: RequestSource,
    private readonly layered: LayeredConfig,
  ) {
    super();
  }

  protected override config(): ResolvedAuditConfig {
    return this.layered.get();
  }

  /**
   * The request's id, worked out once, at first use (see `requestIdHeader`): the
   * same for every event of the request.
   */
  override get requestId(): string {
    return (this.ownRequestId ??= requestIdOf(this.source.headers, this.config().requestIdHeader));
  }

  protected override resolveTenantId(config: ResolvedAuditConfig): string | null {
    const { tenantResolver } = config;
    return tenantResolver === undefined ? null : tenantIdOf(callResolver("tenantResolver", tenantResolver, this.source.request));
  }

  protected override resolveUserId(config: ResolvedAuditConfig): string | null {
    const { source } = this;
    if (config.userResolver) return userIdOf(callResolver("userResolver", config.userResolver, source.request));
    const candidates = source.userCandidates();
    const id = firstUserId(candidates);
    if (id === null) warnUnresolvedUser(config.logger, source.headers, candidates, source.userPlaces());
    return id;
  }

  protected override snapshot(config: ResolvedAuditConfig): RequestFacts {
    const { source } = this;
    const ip = config.clientIpResolver ? callResolver("clientIpResolver", config.clientIpResolver, source.request) : source.ip();
    const { url, queryParams, headers } = this.requestFacts(config);
    return {
      url,
      method: source.method(),
      remoteAddr: normalizeClientIp(ip),
      queryParams,
      postData: config.includePostData ? this.postData(config) : {},
      headers,
    };
  }

  /**
   * The masked URL, query and headers. A request's events share them (records are
   * never changed once built), so they are worked out again only when the URL, the
   * parsed query or the configuration changed.
   */
  private requestFacts(config: ResolvedAuditConfig): { url: string; queryParams: JsonObject; headers: JsonObject } {
    const rawUrl = this.source.url();
    const query = config.includeQueryParams ? this.source.query() : undefined;
    const seen = this.seen;
    if (seen !== undefined && seen.config === config && seen.rawUrl === rawUrl && seen.query === query) return seen;
    this.seen = {
      config,
      rawUrl,
      url: maskUrl(sanitizeString(rawUrl), config.masking, maskJsonInString),
      query,
      queryParams: config.includeQueryParams ? maskRequestData(maskUrlUserinfoInQuery(query, rawUrl), config.masking, config.maxPostDataBytes) : {},
      headers: pickHeaders(this.source.headers, config.includeHeaders, config.masking),
    };
    return this.seen;
  }

  /** Masks the body once per request, not once per event, unless it was replaced. */
  private postData(config: ResolvedAuditConfig): JsonObject {
    const body = this.source.body();
    const cached = this.maskedBody;
    if (cached !== undefined && cached.body === body && cached.config === config) return cached.postData;
    const { headers } = this.source;
    const postData = requestBodyPayload(body, contentTypeOf(headers), config.masking, config.maxPostDataBytes, declaredBodyBytes(headers));
    if (body !== undefined) this.maskedBody = { body, config, postData };
    return postData;
  }
}
