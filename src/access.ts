import type { LayeredConfig } from "./config/configure";
import { suggestion } from "./config/suggestion";
import type { AuditContext } from "./context";
import { AuditConfigError, AuditStoreError } from "./errors";
import { ANSWER_WAITS_FOR_EVENT_MS, writeEventBounded } from "./bounded-event-write";
import { boundText } from "./column-limits";
import { maskStoredMessage } from "./masking";
import { carryRefusal, REQUEST_CONTENT_TYPE } from "./request-events";
import { recordMetricError } from "./writer/metrics";
import { thrownMessage } from "./thrown-message";

/**
 * What an access hook answers: `true` lets the request (or the record, or the write)
 * through; `{ allow: false, reason }` refuses it, and the reason is given to the client
 * (`403 { error: reason }`) and recorded. Anything else is a mistake of the hook, and
 * refuses too (fails closed).
 *
 * @example
 * ```ts
 * const decide = (req): AccessDecision => (req.user ? true : { allow: false, reason: "Sign in first." });
 * ```
 */
export type AccessDecision = true | { allow: false; reason: string };

/** Options of `auditAccess()` and `koaAuditAccess()`. @typeParam Req Express `req` or Koa `ctx`. */
export interface AuditAccessOptions<Req> {
  /**
   * Decides whether the request may go on; may be async. Runs where the middleware is
   * registered: app-wide (before routing, so the route is unknown yet) or on a route
   * (`app.get("/orders/:id", auditAccess({ request }), handler)`), which also records
   * the route's template.
   * @example request: (req) => (req.user?.role === "admin" ? true : { allow: false, reason: "Admins only." })
   */
  request: (req: Req) => AccessDecision | Promise<AccessDecision>;
  /**
   * The longest the hook may take to answer, in milliseconds (1 to 600000). A hook that
   * has not answered by then is taken as failed: the request is answered 500 and the
   * failure recorded, as for a hook that throws.
   * @default 10000 ({@link DEFAULT_HOOK_TIMEOUT_MS})
   */
  hookTimeoutMs?: number;
}

/** How long an access hook (request, model `read`/`write`/`aggregate`) may take by default: 10 000 ms. */
export const DEFAULT_HOOK_TIMEOUT_MS = 10_000;

/**
 * The longest refusal reason given to the client and stored, in characters: a longer
 * one is cut and ends with the column limits' cut marker (`…[+N chars]`).
 */
export const MAX_REASON_CHARS = 1000;

/**
 * Checks a `hookTimeoutMs` option once.
 *
 * @throws {AuditConfigError} `ERR_AUDIT_CONFIG` naming the allowed range.
 */
export function checkHookTimeout(where: string, value: unknown): number {
  if (value === undefined) return DEFAULT_HOOK_TIMEOUT_MS;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > 600_000) {
    throw new AuditConfigError(`${where}: hookTimeoutMs must be a whole number of milliseconds from 1 to 600000, such as hookTimeoutMs: 10000 (got ${shown(value)}).`);
  }
  return value;
}

/**
 * Waits for a hook's answer at most `timeoutMs`: past it, rejects with an error saying
 * the hook is taken as failed (the hook itself is not stopped; its late answer is
 * ignored). The timer does not keep the process alive.
 */
export function withinHookTimeout<T>(answer: T | Promise<T>, timeoutMs: number, hookName: string): Promise<T> {
  if (!(answer instanceof Promise) && (typeof answer !== "object" || answer === null || typeof (answer as { then?: unknown }).then !== "function")) return Promise.resolve(answer);
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${hookName} did not answer within ${timeoutMs} ms, so it is taken as failed: make it answer sooner, or raise hookTimeoutMs.`)),
      timeoutMs,
    );
    timer.unref?.();
    Promise.resolve(answer).then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}

/** The `action` of the event an access hook's refusal (or failure) records. */
export const ACCESS_REQUEST_ACTION = "access.request";

/** What a request whose access hook failed is answered (500): the details go to the logger and the event. */
export const ACCESS_FAILED_BODY = Object.freeze({ error: "The access check failed, so the request was refused. This attempt is recorded." });

/** A hook's answer, read: through, refused with a reason, or failed (threw, or answered nonsense). */
export type AccessVerdict = { allow: true } | { allow: false; reason: string } | { allow: false; error: unknown };

const DECISION_FIX = 'Return true to allow, or { allow: false, reason: "<what the client is told>" } to refuse.';

function shown(value: unknown): string {
  if (typeof value === "object" && value !== null) return Array.isArray(value) ? "an array" : `an object with the keys [${Object.keys(value).slice(0, 5).join(", ")}]`;
  return `${typeof value} ${String(JSON.stringify(value)).slice(0, 40)}`;
}

/**
 * Reads a hook's answer strictly: exactly `true`, or an object whose `allow` is `false`
 * with a non-blank `reason` (cut to {@link MAX_REASON_CHARS} characters). `false`,
 * `undefined`, `{ allow: true }` and the like are errors of the hook, so that nothing
 * but a deliberate yes lets a request through.
 *
 * @throws {AuditConfigError} `ERR_AUDIT_CONFIG` naming what was returned and what to return.
 * @example
 * ```ts
 * accessDecisionOf({ allow: false, reason: "Closed." }, "auditAccess's request hook"); // { allow: false, reason: "Closed." }
 * ```
 */
export function accessDecisionOf(answer: unknown, where: string): { allow: true } | { allow: false; reason: string } {
  if (answer === true) return { allow: true };
  if (typeof answer === "object" && answer !== null && !Array.isArray(answer) && (answer as { allow?: unknown }).allow === false) {
    const { reason } = answer as { reason?: unknown };
    if (typeof reason === "string" && reason.trim().length > 0) return { allow: false, reason: boundText(reason, { chars: MAX_REASON_CHARS }) };
    throw new AuditConfigError(`${where} refused without a reason (got ${shown(reason)}): give the reason the client is told, such as { allow: false, reason: "Only the order's owner may see it." }.`);
  }
  throw new AuditConfigError(`${where} returned ${shown(answer)}, which is neither an allow nor a refusal. ${DECISION_FIX}`);
}

/**
 * Checks the options of an access middleware once, at creation.
 *
 * @throws {AuditConfigError} `ERR_AUDIT_CONFIG` naming the fix.
 */
export function resolveAccessOptions<Req>(factory: string, options: unknown): Required<AuditAccessOptions<Req>> {
  const example = `${factory}({ request: (req) => (req.user ? true : { allow: false, reason: "Sign in first." }) })`;
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new AuditConfigError(`${factory}() needs options with a request hook, such as ${example}.`);
  }
  for (const key of Object.keys(options)) {
    if (key !== "request" && key !== "hookTimeoutMs") throw new AuditConfigError(`${factory}(): unknown option "${key}".${suggestion(key, ["request", "hookTimeoutMs"])} The options are request and hookTimeoutMs.`);
  }
  const { request, hookTimeoutMs } = options as AuditAccessOptions<Req>;
  if (typeof request !== "function") {
    throw new AuditConfigError(`${factory}() needs a request hook (a function), such as ${example}.`);
  }
  return { request, hookTimeoutMs: checkHookTimeout(`${factory}()`, hookTimeoutMs) };
}

/**
 * Runs the hook and reads its answer, waiting at most `timeoutMs`; never throws: a
 * failure (a throw, a nonsense answer, no answer in time) is a verdict that refuses.
 */
export async function decideAccess<Req>(factory: string, hook: (req: Req) => unknown, req: Req, timeoutMs: number): Promise<AccessVerdict> {
  try {
    return accessDecisionOf(await withinHookTimeout(hook(req), timeoutMs, `${factory}'s request hook`), `${factory}'s request hook`);
  } catch (error) {
    return { allow: false, error };
  }
}

/** Says, through the logger (and the metrics, for a write), what went wrong; never throws. */
export function reportAccessTrouble(layered: LayeredConfig, message: string, error?: unknown): void {
  try {
    if (error !== undefined && !(error instanceof AuditStoreError)) recordMetricError(error);
    const { logger } = layered.get();
    (logger.error ?? logger.warn).call(logger, `audit-events: ${message}`);
  } catch {
    // A failing logger must not change the answer.
  }
}

/**
 * Records a refused request and says what to answer: 403 `{ error: reason }` for a
 * refusal (outcome `denied`, severity `warning`), 500 for a hook that failed (outcome
 * `failure`, severity `error`; the error is logged, described by {@link thrownMessage}
 * even when it cannot be turned into text). A refused request is one event:
 * - when `requestEvents` writes the request's event, that event carries the refusal
 *   (`reason` or `error` in its content, the refusal's outcome and severity; see
 *   `carryRefusal`), written after the answer as every request event is;
 * - else the refusal's own event (`HttpRequest`, the request id, action
 *   {@link ACCESS_REQUEST_ACTION}, content `{ reason | error, route }`), whose write is
 *   started first and waited for at most {@link ANSWER_WAITS_FOR_EVENT_MS} ms: a store
 *   that hangs does not hold the answer, and the write goes on.
 * An event that cannot be written is logged and counted (`auditMetrics().lastError`),
 * whenever its failure comes; the request is refused all the same.
 */
export async function refuseRequest(
  factory: string,
  context: AuditContext,
  verdict: Exclude<AccessVerdict, { allow: true }>,
  route: string | null,
  layered: LayeredConfig,
): Promise<{ status: number; body: { error: string } }> {
  const failed = "error" in verdict;
  const refusal = failed ? { error: maskStoredMessage(thrownMessage(verdict.error), layered.get().masking) } : { reason: maskStoredMessage(verdict.reason, layered.get().masking, Infinity) };
  if (failed) reportAccessTrouble(layered, `${factory}'s request hook failed, so the request was refused with 500: ${refusal.error}`);
  const answer = failed ? { status: 500, body: { ...ACCESS_FAILED_BODY } } : { status: 403, body: { error: verdict.reason } };
  if (carryRefusal(context, refusal)) return answer;
  const requestId = context.requestId;
  await writeEventBounded(
    () =>
      context.createEvent({ contentType: REQUEST_CONTENT_TYPE, objectId: requestId ?? "" }, { ...refusal, route }, {
        action: ACCESS_REQUEST_ACTION,
        outcome: failed ? "failure" : "denied",
        severity: failed ? "error" : "warning",
      }),
    ANSWER_WAITS_FOR_EVENT_MS,
    (trouble, error) => {
      // A pending write is not yet a failure: only a failure, however late, is logged and counted.
      if (trouble !== "pending") reportAccessTrouble(layered, `the ${failed ? "failed access check" : "refusal"} of request ${requestId} could not be recorded: ${thrownMessage(error)}`, error);
    },
  );
  return answer;
}
