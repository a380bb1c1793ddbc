import { AuditError } from "../errors";

/**
 * Raised when a query is wrong: an unknown filter, a value of the wrong type, a
 * page size out of range (`ERR_AUDIT_QUERY`), or a cursor that is not one this
 * library made for the same query (`ERR_AUDIT_CURSOR`). The message says what is
 * wrong; the HTTP router answers it with 400.
 *
 * @example
 * ```ts
 * try { await findEvents({ cursor }) } catch (e) {
 *   if (e instanceof AuditQueryError) console.error(e.message); // bad input, not a failure
 * }
 * ```
 */
export class AuditQueryError extends AuditError {
  constructor(message: string, code: "ERR_AUDIT_QUERY" | "ERR_AUDIT_CURSOR" = "ERR_AUDIT_QUERY") {
    super(code, message);
    this.name = "AuditQueryError";
  }
}
