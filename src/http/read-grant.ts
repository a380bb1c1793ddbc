import { AuditConfigError } from "../errors";
import { storedTenantId } from "../query/parse-query";
import { AuditQueryError } from "../query/query-error";

/**
 * What `authorize` answers: `true` (the whole trail), `false` (refused: 403, and the
 * refusal recorded), or `{ tenantId }` (that tenant's events only, on every route).
 */
export type AuthorizeResult = boolean | { tenantId: string };

/** What a request may read: the whole trail, one tenant's events, or nothing. */
export type ReadGrant = { readonly tenantId?: string } | "denied";

function shown(value: unknown): string {
  if (typeof value === "object" && value !== null) return Array.isArray(value) ? "a list" : `an object with keys ${JSON.stringify(Object.keys(value).slice(0, 5))}`;
  return `${typeof value} ${String(JSON.stringify(value)).slice(0, 40)}`;
}

/**
 * Reads `authorize`'s answer, failing closed. `false`, `undefined` and `null` refuse
 * (an `authorize` that returns nothing for a stranger means no). A grant must be
 * exactly `true` or an object whose one key is `tenantId`, holding a non-empty tenant
 * id: anything else (`1`, `"yes"`, `{ tenantId: "" }`, `{ tenantId: 5 }`, or the
 * user object itself, which may carry a `tenantId` of its own) is an error of the
 * app's code, thrown so that the request fails with 500 and reads nothing, rather
 * than guessed at.
 *
 * @throws {AuditConfigError} `ERR_AUDIT_CONFIG` naming what was returned and what to return.
 * @example
 * ```ts
 * readGrantOf("auditRouter", { tenantId: "acme" }); // { tenantId: "acme" }
 * ```
 */
export function readGrantOf(factory: string, answer: unknown): ReadGrant {
  if (answer === true) return {};
  if (answer === false || answer === undefined || answer === null) return "denied";
  const fix = `Return true (the whole trail), false (refused) or { tenantId: "<the reader's tenant>" } (that tenant's events only).`;
  if (typeof answer !== "object" || Array.isArray(answer) || Object.keys(answer).length !== 1 || !Object.hasOwn(answer, "tenantId")) {
    throw new AuditConfigError(`${factory}(): authorize returned ${shown(answer)}, which is neither a yes nor a no. ${fix}`);
  }
  try {
    return { tenantId: storedTenantId((answer as { tenantId: unknown }).tenantId) };
  } catch (error) {
    if (!(error instanceof AuditQueryError)) throw error;
    throw new AuditConfigError(`${factory}(): authorize returned a tenant id that names no tenant: ${error.message} ${fix}`);
  }
}
