import { AuditConfigError } from "../errors";
import { suggestion } from "./suggestion";
import { receivedValue } from "../received-value";

/**
 * What the `requestEvents` option of `auditEvents()` / `koaAuditEvents()` takes: `true`
 * for the defaults, or these options. Each finished request then writes one event (see
 * the README, "One event per request").
 *
 * @example
 * ```ts
 * app.use(auditEvents({ requestEvents: { skipPaths: ["/health", /^\/assets\//], capturePayloads: true } }));
 * ```
 */
export interface RequestEventsOptions {
  /**
   * Requests whose path (without the query string) is one of these paths, or matches
   * one of these regular expressions, write no request event: health checks, metrics
   * scrapes, static assets. A path is compared as the framework routes it: on Express
   * and Koa (with @koa/router) case-insensitively and with or without one trailing
   * slash, unless the app routes strictly (Express's `case sensitive routing` and
   * `strict routing` settings); on Fastify exactly as to case and trailing slash unless
   * `caseSensitive: false` / `ignoreTrailingSlash: true`, and after decoding
   * percent-encoded unreserved characters (`/%68ealth` is `/health`), as Fastify
   * decodes, or when the route Fastify matched is one of them (`/health;x` on Fastify 4). So a request reaches the skipped route if and only if it is skipped.
   * A RegExp is tested against the path after the same slash and decoding rules, as
   * written as to case (give it the `i` flag to match any case). A path holding `?` or
   * `#` is refused (it could never match).
   * @default []
   */
  skipPaths?: readonly (string | RegExp)[];
  /**
   * Also record the request body (as the body parser left it) under `content.request`
   * and the response body under `content.response`, masked by the rules of `postData`
   * (`maskFields`, `sensitivePatterns`) and capped at `maxPayloadBytes` each.
   * @default false
   */
  capturePayloads?: boolean;
  /**
   * A payload whose masked JSON is larger than this many bytes is stored as
   * `{ "_truncated": true, "_bytes": <size> }`, as post data is; the response is read
   * no further than this.
   * @default the `maxPostDataBytes` in force (16384)
   */
  maxPayloadBytes?: number;
}

/** The `requestEvents` option as given: `true` means every default. */
export type RequestEventsOption = boolean | RequestEventsOptions;

/** The `requestEvents` option, checked and compiled once, when the middleware is made. */
export interface ResolvedRequestEvents {
  /** Paths skipped, as given (see `skipPathKey`). */
  readonly skipExact: readonly string[];
  /** Patterns of paths skipped, without the `g`/`y` flags (whose `test` remembers where it stopped). */
  readonly skipPatterns: readonly RegExp[];
  readonly capturePayloads: boolean;
  /** Undefined: the `maxPostDataBytes` in force when the event is written. */
  readonly maxPayloadBytes: number | undefined;
}

const KNOWN = ["skipPaths", "capturePayloads", "maxPayloadBytes"];
const EXAMPLE = 'requestEvents: { skipPaths: ["/health", /^\\/assets\\//], capturePayloads: false, maxPayloadBytes: 16384 }';

/**
 * Checks the `requestEvents` option of a middleware factory and compiles it; undefined
 * when it is absent or `false` (no request events).
 *
 * @throws {AuditConfigError} `ERR_AUDIT_CONFIG` naming what is wrong and a valid value.
 * @example
 * ```ts
 * resolveRequestEvents(true, "auditEvents()"); // every default
 * ```
 */
export function resolveRequestEvents(value: unknown, where: string): ResolvedRequestEvents | undefined {
  if (value === undefined || value === false) return undefined;
  const options: RequestEventsOptions = value === true ? {} : (value as RequestEventsOptions);
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new AuditConfigError(`${where}: option "requestEvents" must be true or an options object, got ${receivedValue(value)}. For example: ${EXAMPLE}.`);
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN.includes(key)) {
      throw new AuditConfigError(`${where}: unknown requestEvents option "${key}".${suggestion(key, KNOWN)} Known: ${KNOWN.join(", ")}.`);
    }
  }
  const { skipPaths = [], capturePayloads = false, maxPayloadBytes } = options;
  if (!Array.isArray(skipPaths) || !skipPaths.every((p) => p instanceof RegExp || (typeof p === "string" && p.startsWith("/")))) {
    throw new AuditConfigError(`${where}: requestEvents.skipPaths must be an array of paths starting with "/" (matched as the framework routes them, without the query string) or regular expressions, such as ["/health", /^\\/assets\\//].`);
  }
  for (const path of skipPaths) {
    // Matched against the path alone: a query string or a fragment could never match.
    const at = typeof path === "string" ? path.search(/[?#]/) : -1;
    if (at >= 0) {
      throw new AuditConfigError(`${where}: requestEvents.skipPaths entry "${path}" holds "${path[at]}", but skip paths are matched against the path without its query string, so it could never match: write "${path.slice(0, at) || "/"}".`);
    }
  }
  if (typeof capturePayloads !== "boolean") {
    throw new AuditConfigError(`${where}: requestEvents.capturePayloads must be a boolean, such as capturePayloads: true.`);
  }
  if (maxPayloadBytes !== undefined && !(Number.isSafeInteger(maxPayloadBytes) && maxPayloadBytes > 0)) {
    throw new AuditConfigError(`${where}: requestEvents.maxPayloadBytes must be a positive integer (bytes), such as maxPayloadBytes: 4096.`);
  }
  return Object.freeze({
    skipExact: Object.freeze(skipPaths.filter((p): p is string => typeof p === "string")),
    skipPatterns: Object.freeze(skipPaths.filter((p): p is RegExp => p instanceof RegExp).map((p) => new RegExp(p.source, p.flags.replace(/[gy]/g, "")))),
    capturePayloads,
    maxPayloadBytes,
  });
}
