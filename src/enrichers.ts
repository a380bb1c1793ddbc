import type { EventOutcome, EventSeverity } from "./model/event-record";
import type { JsonObject, JsonValue } from "./model/json";
import { normalizeJson } from "./serialize";
import type { AuditLogger } from "./writer/spool";
import { thrownMessage } from "./thrown-message";

/**
 * What an enricher is told of the event being built. Everything is as the event will
 * store it, but `content`, which is the event's content before enrichment, masking and
 * JSON normalization (`{ ...extraData, ...fieldValues, ...content }`): read it, do not
 * change it.
 */
export interface EnricherEvent {
  readonly contentType: string;
  readonly objectId: string;
  readonly action: string | null;
  readonly outcome: EventOutcome;
  readonly severity: EventSeverity;
  readonly userId: string | null;
  readonly tenantId: string | null;
  readonly requestId: string | null;
  readonly content: Readonly<Record<string, unknown>>;
}

/**
 * The context an event is created in, as an enricher sees it: the `AuditContext` itself
 * (a request's, or a job's), typed by what an enricher may read.
 */
export interface EnricherContext {
  /** The context's `extraData`. */
  readonly extraData: Record<string, unknown>;
  /** The context's request id (see `AuditContext.requestId`). */
  readonly requestId: string | null;
}

/**
 * Adds keys to an event's content: the app's version, a feature flag, the region. Called
 * for every event, synchronously, before masking, so a secret it adds is masked like any
 * other. Returns the keys to add, or `undefined` for none. A throwing enricher, or one
 * returning anything but a plain object (a Promise included: enrichers cannot be async),
 * is reported through the logger, once per enricher per process, and skipped; the event
 * is still written.
 *
 * @example
 * ```ts
 * const appVersion: Enricher = () => ({ appVersion: process.env.APP_VERSION });
 * ```
 */
export type Enricher = (event: EnricherEvent, context: EnricherContext) => Record<string, unknown> | undefined;

/** Enrichers reported already: each is reported once per process, however often it fails. */
const reported = new WeakSet<Enricher>();

function nameOf(enricher: Enricher, index: number): string {
  return enricher.name ? `"${enricher.name}" (enrichers[${index}])` : `enrichers[${index}]`;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function";
}

function report(logger: AuditLogger, enricher: Enricher, index: number, problem: string, redact: (text: string) => string): void {
  if (reported.has(enricher)) return;
  reported.add(enricher);
  // The message may quote what the enricher read (an error's text): masked like stored text.
  logger.warn(
    `audit-events: the enricher ${nameOf(enricher, index)} ${redact(problem)}; it is skipped for this event (and for any later one it fails, reported only this once), and the event is written without it.`,
  );
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * Runs `enrichers` in order and returns the keys they add (a later enricher's key wins
 * over an earlier one's), or undefined when none added any.
 */
export function runEnrichers(
  enrichers: readonly Enricher[],
  event: EnricherEvent,
  context: EnricherContext,
  logger: AuditLogger,
  redact: (text: string) => string,
): Record<string, unknown> | undefined {
  let added: Record<string, unknown> | undefined;
  for (let i = 0; i < enrichers.length; i++) {
    const enricher = enrichers[i]!;
    let result: unknown;
    let keys: JsonValue | undefined;
    try {
      result = enricher(event, context);
      if (result === undefined || result === null) continue;
      if (isThenable(result)) {
        // Skipped, but its rejection is caught here: unheard, it would end the process.
        result.then(undefined, () => undefined);
        report(logger, enricher, i, "returned a Promise (enrichers must be synchronous), not an object of keys to add", redact);
        continue;
      }
      if (!isPlainObject(result)) {
        report(logger, enricher, i, `returned ${Array.isArray(result) ? "an array" : `a ${typeof result}`}, not an object of keys to add`, redact);
        continue;
      }
      // Read into plain JSON now, inside this enricher's own failure: a cycle, a function
      // or a getter that throws skips this enricher, never the event.
      keys = normalizeJson(result, { strict: true });
    } catch (error) {
      report(logger, enricher, i, `threw: ${thrownMessage(error)}`, redact);
      continue;
    }
    added = added === undefined ? { ...(keys as JsonObject) } : Object.assign(added, keys);
  }
  return added;
}
