import { accessDecisionOf, type AccessDecision } from "./access";
import { currentAuditContext } from "./async-context";
import { getAuditConfig } from "./config/configure";
import { suggestion } from "./config/suggestion";
import { MODEL_TAG } from "./content-object";
import type { AuditContext } from "./context";
import { AuditAccessDeniedError, AuditConfigError, AuditStoreError } from "./errors";
import type { EventOutcome, EventSeverity } from "./model/event-record";
import { recordMetricError } from "./writer/metrics";

/** The operations whose results are model records, and so get tagged. */
const RECORD_OPERATIONS: ReadonlySet<string> = new Set([
  "findUnique",
  "findUniqueOrThrow",
  "findFirst",
  "findFirstOrThrow",
  "findMany",
  "create",
  "createManyAndReturn",
  "update",
  "updateManyAndReturn",
  "upsert",
  "delete",
]);

/** The reads a `read` hook checks: those returning one record, and `findMany`. */
const SINGLE_READS: ReadonlySet<string> = new Set(["findUnique", "findUniqueOrThrow", "findFirst", "findFirstOrThrow"]);
/** The writes a `write` hook checks, before they run. */
const WRITES: ReadonlySet<string> = new Set([
  "create",
  "createMany",
  "createManyAndReturn",
  "update",
  "updateMany",
  "updateManyAndReturn",
  "upsert",
  "delete",
  "deleteMany",
]);

/**
 * What a model's `read` hook answers for one record: `true` (returned whole),
 * `{ allow: false, reason }` (refused), or `{ hide: ["field", ...] }` (returned without
 * those top-level fields).
 */
export type ReadDecision = AccessDecision | { hide: readonly string[] };

/** The access hooks of one model, as `auditModels({ access })` takes them. */
export interface ModelAccess {
  /**
   * Called with each record a read returns (`findUnique`, `findFirst`, `findMany` and the
   * `OrThrow` forms) and the current audit context; may be async. A refused single record
   * throws {@link AuditAccessDeniedError}; `findMany` drops refused records and returns the
   * rest.
   * @example read: (order, ctx) => (order.ownerId === ctx.requestSnapshot().userId ? true : { hide: ["total"] })
   */
  read?(record: Record<string, unknown>, ctx: AuditContext): ReadDecision | Promise<ReadDecision>;
  /**
   * Called with the arguments of a write (`create`, `update`, `upsert`, `delete` and their
   * `Many` forms) before it runs, and the current audit context; may be async. A refusal
   * throws {@link AuditAccessDeniedError} and the write does not run.
   * @example write: (args, ctx) => (isAdmin(ctx) ? true : { allow: false, reason: "Orders are read-only." })
   */
  write?(args: Record<string, unknown>, ctx: AuditContext): AccessDecision | Promise<AccessDecision>;
}

/** Options of {@link auditModels}. */
export interface AuditModelsOptions {
  /**
   * Access hooks per model, keyed by the model's name as `schema.prisma` writes it
   * (`Order`, not the client's `order`).
   * @default none: every query runs as it is
   */
  access?: Readonly<Record<string, ModelAccess>>;
}

function tag(record: unknown, model: string): void {
  if (typeof record === "object" && record !== null && !Object.prototype.hasOwnProperty.call(record, MODEL_TAG)) {
    Object.defineProperty(record, MODEL_TAG, { value: model, enumerable: false });
  }
}

/** The shape of the Prisma query extension returned by {@link auditModels}. */
export interface AuditModelsExtension {
  name: "audit-events";
  query: {
    $allModels: {
      $allOperations(params: {
        model?: string;
        operation: string;
        args: unknown;
        query: (args: unknown) => Promise<unknown>;
      }): Promise<unknown>;
    };
  };
}

/** A Prisma model name: an identifier starting with a letter. */
const MODEL_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

function checkAccess(access: unknown): Readonly<Record<string, ModelAccess>> {
  const example = 'auditModels({ access: { Order: { read: (order, ctx) => true, write: (args, ctx) => true } } })';
  if (typeof access !== "object" || access === null || Array.isArray(access)) {
    throw new AuditConfigError(`auditModels(): access must be an object of hooks per model, such as ${example}.`);
  }
  for (const [model, hooks] of Object.entries(access)) {
    if (!MODEL_NAME.test(model)) {
      throw new AuditConfigError(`auditModels(): "${model}" is not a Prisma model name; name the model as schema.prisma does, such as ${example}.`);
    }
    if (/^[a-z]/.test(model)) {
      const named = model[0]!.toUpperCase() + model.slice(1);
      throw new AuditConfigError(`auditModels(): access is keyed by the model's name as schema.prisma writes it ("${named}"), not by the client's property (prisma.${model}): write access: { ${named}: { ... } }.`);
    }
    if (typeof hooks !== "object" || hooks === null || Array.isArray(hooks)) {
      throw new AuditConfigError(`auditModels(): access.${model} must be an object with a read and/or a write hook, such as ${example}.`);
    }
    const keys = Object.keys(hooks);
    for (const key of keys) {
      if (key !== "read" && key !== "write") {
        throw new AuditConfigError(`auditModels(): access.${model} has an unknown hook "${key}".${suggestion(key, ["read", "write"])} The hooks are read and write.`);
      }
      if (typeof (hooks as Record<string, unknown>)[key] !== "function") {
        throw new AuditConfigError(`auditModels(): access.${model}.${key} must be a function, such as ${key}: (${key === "read" ? "record" : "args"}, ctx) => true.`);
      }
    }
    if (keys.length === 0) throw new AuditConfigError(`auditModels(): access.${model} has no hook: give it read and/or write, or leave the model out.`);
  }
  return access as Readonly<Record<string, ModelAccess>>;
}

function checkOptions(options: unknown): Readonly<Record<string, ModelAccess>> | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new AuditConfigError("auditModels() expects no argument, or { access: { Order: { read, write } } }.");
  }
  for (const key of Object.keys(options)) {
    if (key !== "access") throw new AuditConfigError(`auditModels(): unknown option "${key}".${suggestion(key, ["access"])} The option is access.`);
  }
  const { access } = options as AuditModelsOptions;
  return access === undefined ? undefined : checkAccess(access);
}

/** A record's id for an event: its scalar `id`, else `*` (the event's content says more). */
function idOf(value: unknown): string {
  const id = typeof value === "object" && value !== null ? (value as { id?: unknown }).id : undefined;
  return typeof id === "string" || typeof id === "number" || typeof id === "bigint" ? String(id) : "*";
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Writes an access event through the current audit context (the request's, a job's).
 * Its failure does not change what the query does (a refusal still refuses): it is
 * logged and counted, never silent.
 */
async function recordAccessEvent(
  model: string,
  objectId: string,
  content: Record<string, unknown>,
  operation: string,
  outcome: EventOutcome,
  severity: EventSeverity,
): Promise<void> {
  const context = currentAuditContext();
  try {
    await context.createEvent({ contentType: model, objectId }, { operation, ...content }, { action: `${model}.${operation}`, outcome, severity });
  } catch (error) {
    try {
      if (!(error instanceof AuditStoreError)) recordMetricError(error);
      const { logger } = getAuditConfig();
      (logger.error ?? logger.warn).call(logger, `audit-events: the ${outcome} access event of ${model}.${operation} could not be recorded: ${messageOf(error)}`);
    } catch {
      // A failing logger must not change what the query does.
    }
  }
}

/** A hook that threw or answered nonsense: recorded as a failure, then thrown, so nothing is let through. */
async function hookFailed(model: string, operation: string, objectId: string, error: unknown): Promise<never> {
  await recordAccessEvent(model, objectId, { error: messageOf(error) }, operation, "failure", "error");
  throw error;
}

async function checkWrite(model: string, operation: string, args: unknown, write: NonNullable<ModelAccess["write"]>): Promise<void> {
  const where = typeof args === "object" && args !== null ? (args as { where?: unknown }).where : undefined;
  const objectId = idOf(where);
  let decision: ReturnType<typeof accessDecisionOf>;
  try {
    decision = accessDecisionOf(await write((args ?? {}) as Record<string, unknown>, currentAuditContext()), `auditModels(): the write hook of ${model}`);
  } catch (error) {
    return hookFailed(model, operation, objectId, error);
  }
  if (decision.allow) return;
  await recordAccessEvent(model, objectId, { reason: decision.reason }, operation, "denied", "warning");
  throw new AuditAccessDeniedError(decision.reason, model, operation);
}

/** What a `read` hook said of one record: kept (minus `hide`), or refused. */
type ReadVerdict = { keep: true; hide: readonly string[] } | { keep: false; reason: string };

function readVerdictOf(answer: unknown, model: string): ReadVerdict {
  if (typeof answer === "object" && answer !== null && !Array.isArray(answer) && "hide" in answer) {
    const { hide } = answer as { hide: unknown };
    if (Object.keys(answer).length === 1 && Array.isArray(hide) && hide.every((f) => typeof f === "string")) return { keep: true, hide };
    throw new AuditConfigError(`auditModels(): the read hook of ${model} returned a hide that is not a list of field names: return { hide: ["email", "total"] }.`);
  }
  const decision = accessDecisionOf(answer, `auditModels(): the read hook of ${model}`);
  return decision.allow ? { keep: true, hide: [] } : { keep: false, reason: decision.reason };
}

/**
 * Applies a model's `read` hook to a read's result: hidden fields are deleted from the
 * records, refused records dropped (`findMany`) or the read refused (one record). One
 * event per query says what was refused (outcome `denied`: how many, their ids, the
 * reasons) and one what was hidden (outcome `success`: the fields and how many records).
 */
async function checkRead(model: string, operation: string, result: unknown, read: NonNullable<ModelAccess["read"]>): Promise<unknown> {
  const many = Array.isArray(result);
  const records = (many ? result : result === null || result === undefined ? [] : [result]) as Record<string, unknown>[];
  if (records.length === 0) return result;
  const context = currentAuditContext();
  const kept: Record<string, unknown>[] = [];
  const refused: { id: string; reason: string }[] = [];
  const hidden = new Set<string>();
  let hiddenFrom = 0;
  for (const record of records) {
    let verdict: ReadVerdict;
    try {
      verdict = readVerdictOf(await read(record, context), model);
    } catch (error) {
      return hookFailed(model, operation, many ? "*" : idOf(record), error);
    }
    if (!verdict.keep) {
      refused.push({ id: idOf(record), reason: verdict.reason });
      continue;
    }
    let removed = false;
    for (const field of verdict.hide) {
      if (Object.hasOwn(record, field)) {
        delete record[field];
        hidden.add(field);
        removed = true;
      }
    }
    if (removed) hiddenFrom++;
    kept.push(record);
  }
  const objectId = many ? "*" : idOf(records[0]);
  if (hidden.size > 0) {
    await recordAccessEvent(model, objectId, { hidden: [...hidden].sort(), records: hiddenFrom }, operation, "success", "info");
  }
  if (refused.length > 0) {
    const reasons = [...new Set(refused.map((r) => r.reason))];
    await recordAccessEvent(model, objectId, { refused: refused.length, ids: refused.map((r) => r.id), reasons }, operation, "denied", "warning");
    if (!many) throw new AuditAccessDeniedError(refused[0]!.reason, model, operation);
  }
  return many ? kept : result;
}

/**
 * A Prisma client extension that tags every record a query returns with its model
 * name, so the record can be passed to `createEvent` as it is, and, with `access`,
 * checks each model's reads and writes (fhirbug's resource and attribute levels):
 *
 * - `write(args, ctx)` runs before every `create`, `createMany`, `createManyAndReturn`,
 *   `update`, `updateMany`, `updateManyAndReturn`, `upsert`, `delete` and `deleteMany`;
 *   a refusal throws {@link AuditAccessDeniedError} (code `ERR_AUDIT_ACCESS_DENIED`,
 *   `status` 403) and the write does not run.
 * - `read(record, ctx)` runs on every record `findUnique`, `findFirst`, their `OrThrow`
 *   forms and `findMany` return: `{ allow: false, reason }` refuses a single record
 *   (`AuditAccessDeniedError`) and drops the record from a `findMany` (the rest are
 *   returned); `{ hide: ["email"] }` deletes those top-level fields from the record.
 * - Each refusal is recorded through `currentAuditContext()` (the request's context in a
 *   request) as one event per query, `outcome: "denied"`, action `"<Model>.<operation>"`,
 *   with the reason(s) and ids; hidden fields as one event per query, listing them.
 * - A hook that throws or answers anything else fails closed: the query throws (the
 *   hook's error, or `ERR_AUDIT_CONFIG`) and the failure is recorded (`outcome: "failure"`).
 *
 * Limits: hooks see the queried model's own records; records reached through `include`
 * or a relation `select` are not checked by their model's hooks, and `count`,
 * `aggregate`, `groupBy` and raw queries are not checked at all. Records returned by
 * writes are not passed to `read`. The tag is a non-enumerable symbol: JSON output and
 * equality checks do not see it.
 *
 * @example
 * ```ts
 * const db = prisma.$extends(auditModels({
 *   access: {
 *     Customer: { read: (customer, ctx) => (isSupport(ctx) ? true : { hide: ["email"] }) },
 *     Order: { write: (args) => (args.data?.status === "refunded" ? { allow: false, reason: "Refunds go through /refunds." } : true) },
 *   },
 * }));
 * const order = await db.order.update({ where: { id }, data: { status: "shipped" } });
 * await req.auditContext.createEvent(order, {}, { action: "ship" }); // contentType "Order"
 * ```
 * @throws {AuditConfigError} `ERR_AUDIT_CONFIG` for an unknown option, a model name
 * written as the client's property (`order` for `Order`), or a hook that is not a function.
 */
export function auditModels(options?: AuditModelsOptions): AuditModelsExtension {
  const access = checkOptions(options);
  return {
    name: "audit-events",
    query: {
      $allModels: {
        async $allOperations({ model, operation, args, query }) {
          const hooks = model === undefined || access === undefined || !Object.hasOwn(access, model) ? undefined : access[model];
          if (hooks?.write !== undefined && WRITES.has(operation)) await checkWrite(model!, operation, args, hooks.write);
          let result = await query(args);
          if (model !== undefined && RECORD_OPERATIONS.has(operation)) {
            if (Array.isArray(result)) for (const record of result) tag(record, model);
            else tag(result, model);
          }
          if (hooks?.read !== undefined && (SINGLE_READS.has(operation) || operation === "findMany")) {
            result = await checkRead(model!, operation, result, hooks.read);
          }
          return result;
        },
      },
    },
  };
}
