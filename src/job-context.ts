import { currentAuditContext } from "./async-context";
import { getAuditConfig } from "./config/configure";
import { AuditContext, type AuditContextInit } from "./context";
import { AuditError } from "./errors";
import type { JsonObject } from "./model/json";
import { normalizeContent } from "./serialize";

/**
 * A context's audit facts as plain JSON: what a request hands to a queued job so
 * that the job's events say who asked for the work, from where, with what request,
 * for which tenant. Masking and size caps were applied when it was made.
 */
export interface SerializedAuditContext {
  /** Format version. */
  v: 1;
  userId: string | null;
  /**
   * The request's tenant. Absent from contexts serialized by versions before the event
   * model (read as null), so a job queued before an upgrade still restores.
   */
  tenantId?: string | null;
  /** The request's id, which the job's events carry too. Absent before the event model (read as null). */
  requestId?: string | null;
  url: string | null;
  method: string | null;
  remoteAddr: string | null;
  queryParams: JsonObject;
  postData: JsonObject;
  headers: JsonObject;
  extraData: JsonObject;
}

/**
 * Captures a context (by default the current one) as JSON for a job queue.
 *
 * @example
 * ```ts
 * app.post("/exports", async (req, res) => {
 *   await queue.add("export", { audit: serializeAuditContext(req.auditContext) });
 *   res.sendStatus(202);
 * });
 * ```
 * @throws {AuditError} `ERR_AUDIT_SERIALIZE` when `extraData` holds what JSON cannot.
 */
export function serializeAuditContext(context: AuditContext = currentAuditContext()): SerializedAuditContext {
  const facts = context.requestSnapshot();
  return {
    v: 1,
    userId: facts.userId,
    tenantId: facts.tenantId,
    requestId: facts.requestId,
    url: facts.url,
    method: facts.method,
    remoteAddr: facts.remoteAddr,
    queryParams: facts.queryParams,
    postData: facts.postData,
    headers: facts.headers,
    extraData: normalizeContent(context.extraData, getAuditConfig().masking),
  };
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isNullableString(value: unknown): value is string | null {
  return value === null || typeof value === "string";
}

/** A tenant or request id as serialized: absent (an older version's), null, or non-blank. */
function isOptionalId(value: unknown): boolean {
  return value === undefined || value === null || (typeof value === "string" && value.trim().length > 0);
}

/**
 * Rebuilds, in a worker, the context a request serialized: events created with it
 * carry the request's user, tenant, request id, URL, method, IP, query, post data and
 * headers, and its `extraData` merged under `init.extraData`.
 *
 * @example
 * ```ts
 * worker.process("export", async (job) => {
 *   const audit = restoreAuditContext(job.data.audit, { extraData: { job: job.id } });
 *   await runWithAuditContext(audit, () => runExport(job.data));
 * });
 * ```
 * @throws {AuditError} `ERR_AUDIT_SNAPSHOT` when `serialized` is not what
 * {@link serializeAuditContext} produced.
 */
export function restoreAuditContext(serialized: unknown, init: Pick<AuditContextInit, "store" | "extraData"> = {}): AuditContext {
  const s = serialized as Partial<SerializedAuditContext> | null;
  const valid =
    isObject(s) &&
    s.v === 1 &&
    isNullableString(s.userId) &&
    isOptionalId(s.tenantId) &&
    isOptionalId(s.requestId) &&
    isNullableString(s.url) &&
    isNullableString(s.method) &&
    isNullableString(s.remoteAddr) &&
    isObject(s.queryParams) &&
    isObject(s.postData) &&
    isObject(s.headers) &&
    Object.values(s.headers).every((value) => typeof value === "string") &&
    isObject(s.extraData);
  if (!valid) {
    throw new AuditError("ERR_AUDIT_SNAPSHOT", "restoreAuditContext() expects the object serializeAuditContext() returned (format v1), passed through JSON unchanged.");
  }
  return new AuditContext({
    store: init.store,
    extraData: { ...s.extraData, ...init.extraData },
    user: s.userId,
    tenantId: s.tenantId,
    requestId: s.requestId,
    url: s.url,
    method: s.method,
    remoteAddr: s.remoteAddr,
    queryParams: s.queryParams,
    postData: s.postData,
    headers: s.headers as Record<string, string>,
  });
}
