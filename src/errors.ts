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
  | "ERR_AUDIT_SPOOL_LOST"
  | "ERR_AUDIT_CLOSED"
  | "ERR_AUDIT_QUERY"
  | "ERR_AUDIT_CURSOR"
  | "ERR_AUDIT_ACCESS_DENIED"
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

/**
 * Raised by a client extended with `auditModels({ access })` when a model's `read` or
 * `write` hook refuses: the query is not run (a write) or its result is not returned (a
 * read of one record), and the refusal is recorded. It carries `status` 403, which
 * Express's and Koa's default error handling answer with; an app's own error handler
 * answers it by testing `instanceof AuditAccessDeniedError`.
 *
 * @example
 * ```ts
 * app.use((err, req, res, next) => {
 *   if (err instanceof AuditAccessDeniedError) return res.status(403).json({ error: err.reason });
 *   next(err);
 * });
 * ```
 */
export class AuditAccessDeniedError extends AuditError {
  /** The reason the hook gave, meant for the client. */
  readonly reason: string;
  /** The Prisma model refused, as the schema names it (`"Order"`). */
  readonly model: string;
  /** The Prisma operation refused (`"findUnique"`, `"update"`, ...). */
  readonly operation: string;
  /** The HTTP status of a refusal, which Express's and Koa's error handling read. */
  readonly status = 403;
  /** The same, under the name some frameworks read. */
  readonly statusCode = 403;
  /** Lets Koa's default error handling show `reason` to the client (it does so for 4xx errors marked `expose`). */
  readonly expose = true;

  constructor(reason: string, model: string, operation: string) {
    super("ERR_AUDIT_ACCESS_DENIED", reason);
    this.name = "AuditAccessDeniedError";
    this.reason = reason;
    this.model = model;
    this.operation = operation;
  }
}
