import { LayeredConfig } from "./config/configure";
import type { AuditOptions } from "./config/options";
import { resolveRequestEvents, type RequestEventsOption, type ResolvedRequestEvents } from "./config/request-events-options";
import { PROCESS_WIDE_OPTIONS, validateOptions } from "./config/validate-options";
import { AuditConfigError } from "./errors";

/**
 * Options of the middleware factories (`auditEvents()`, `koaAuditEvents()`): the
 * options of `configureAudit()` laid over it for this middleware's requests, and
 * `requestEvents`, which only a middleware has.
 */
export interface AuditMiddlewareOptions extends Partial<AuditOptions> {
  /**
   * `true` or options: write one event per finished request (status, duration, route
   * template, user agent), after the response is sent. See {@link RequestEventsOptions}.
   * @default false
   * @example requestEvents: { skipPaths: ["/health"] }
   */
  requestEvents?: RequestEventsOption;
}

/** A middleware's options, checked once. */
export interface MiddlewareSetup {
  config: LayeredConfig;
  /** Undefined: no request events. */
  requestEvents: ResolvedRequestEvents | undefined;
}

/**
 * Validates a middleware factory's options once, at creation, and catches the
 * factory itself being registered as middleware (`app.use(auditEvents)`).
 *
 * @throws {AuditConfigError} naming the fix.
 */
export function middlewareSetup(factory: string, options: unknown, extraArgs: number): MiddlewareSetup {
  if (extraArgs > 0 || (typeof options === "object" && options !== null && ("headers" in options || "req" in options))) {
    throw new AuditConfigError(`${factory} was registered without being called: write app.use(${factory}()), not app.use(${factory}).`);
  }
  let requestEvents: ResolvedRequestEvents | undefined;
  let rest = options;
  if (typeof options === "object" && options !== null && !Array.isArray(options) && "requestEvents" in options) {
    const { requestEvents: given, ...others } = options as AuditMiddlewareOptions;
    requestEvents = resolveRequestEvents(given, `${factory}()`);
    rest = others;
  }
  const validated = validateOptions(rest, `${factory}()`);
  const processWide = PROCESS_WIDE_OPTIONS.filter((key) => validated[key] !== undefined);
  if (processWide.length > 0) {
    throw new AuditConfigError(
      `${factory}(): ${processWide.join(", ")} set(s) up the process's one write path; pass it to configureAudit() instead.`,
    );
  }
  return { config: new LayeredConfig(validated), requestEvents };
}

/**
 * {@link middlewareSetup} for a factory without request events: its configuration only.
 *
 * @throws {AuditConfigError} naming the fix.
 */
export function middlewareConfig(factory: string, options: unknown, extraArgs: number): LayeredConfig {
  return middlewareSetup(factory, options, extraArgs).config;
}
