/**
 * Every error code the library raises. Each one is explained, with its fix, in
 * `docs/errors.md`.
 */
export type AuditErrorCode =
  | "ERR_AUDIT_CONFIG"
  | "ERR_AUDIT_NO_STORE"
  | "ERR_AUDIT_CONTENT_OBJECT"
  | "ERR_AUDIT_CONTENT"
  | "ERR_AUDIT_FIELD"
  | "ERR_AUDIT_EVENT_FIELD"
  | "ERR_AUDIT_SERIALIZE"
  | "ERR_AUDIT_RESOLVER"
  | "ERR_AUDIT_DRAFT_SAVED"
  | "ERR_AUDIT_TX_UNSUPPORTED"
  | "ERR_AUDIT_STORE"
  | "ERR_AUDIT_STORE_SCHEMA"
  | "ERR_AUDIT_DUPLICATE_ID"
  | "ERR_AUDIT_EVENT_REFUSED"
  | "ERR_AUDIT_ARCHIVE"
  | "ERR_AUDIT_SNAPSHOT"
  | "ERR_AUDIT_USER"
  | "ERR_AUDIT_SPOOL_FULL"
  | "ERR_AUDIT_SPOOL_FORGED"
  | "ERR_AUDIT_CLOSED"
  | "ERR_AUDIT_QUERY"
  | "ERR_AUDIT_CURSOR"
  | "ERR_AUDIT_CHECKPOINT";

/**
 * Base class of every error raised by audit-events.
 *
 * @example
 * ```ts
 * try { await ctx.createEvent(obj) } catch (e) {
 *   if (e instanceof AuditError && e.code === "ERR_AUDIT_CONTENT_OBJECT") { ... }
 * }
 * ```
 */
export class AuditError extends Error {
  /** A stable `ERR_AUDIT_*` code, documented in `docs/errors.md`. */
  readonly code: AuditErrorCode;

  constructor(code: AuditErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "AuditError";
    this.code = code;
  }
}

/**
 * Raised when options are wrong (unknown keys, wrong types, a missing store or a
 * missing `authorize`), or the database lacks the audit tables' migrations
 * (`ERR_AUDIT_STORE_SCHEMA`). The message names the fix.
 */
export class AuditConfigError extends AuditError {
  constructor(message: string, code: AuditErrorCode = "ERR_AUDIT_CONFIG", options?: { cause?: unknown }) {
    super(code, message, options);
    this.name = "AuditConfigError";
  }
}

/**
 * Raised when a store cannot write or read an event: the database is unreachable,
 * an id already exists. The original driver error is `cause`.
 */
export class AuditStoreError extends AuditError {
  constructor(message: string, options?: { cause?: unknown; code?: AuditErrorCode }) {
    super(options?.code ?? "ERR_AUDIT_STORE", message, { cause: options?.cause });
    this.name = "AuditStoreError";
  }
}
