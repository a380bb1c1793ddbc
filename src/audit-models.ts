import { accessDecisionOf, checkHookTimeout, withinHookTimeout, type AccessDecision } from "./access";
import { currentAuditContext } from "./async-context";
import { writeEventBounded, type BoundedWriteTrouble } from "./bounded-event-write";
import { getAuditConfig } from "./config/configure";
import { suggestion } from "./config/suggestion";
import { MODEL_TAG } from "./content-object";
import type { AuditContext } from "./context";
import { AuditAccessDeniedError, AuditConfigError, AuditStoreError } from "./errors";
import { maskStoredMessage } from "./masking";
import type { EventOutcome, EventSeverity } from "./model/event-record";
import { isPlainObject, nestedWrites, nestedWriteShapeAt } from "./nested-writes";
import { ModelShapes } from "./prisma-data-model";
import { checkReadResult, idOf, ReadHookFailure, type ReadDecision, type ReadFindings } from "./read-check";
import { flatPlan, planRead, type ReadPlan } from "./read-plan";
import { recordMetricError } from "./writer/metrics";
import { thrownMessage } from "./thrown-message";

export type { ReadDecision } from "./read-check";

/** The operations whose results are model records: tagged, and passed through `read` hooks. */
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

/** The queries over a model's records that return no records: refused on a model with a `read` hook unless its `aggregate` hook allows. */
const AGGREGATES: ReadonlySet<string> = new Set(["count", "aggregate", "groupBy"]);

/**
 * What a `write` or `aggregate` hook is told besides the arguments: which operation, and
 * where it sits in the query (`""` for the query's own, `"data.lines.create[0]"` for a
 * nested write, `"include._count.select.lines"` for a relation count).
 */
export interface AccessInfo {
  readonly operation: string;
  readonly path: string;
}

/** The access hooks of one model, as `auditModels({ access })` takes them. */
export interface ModelAccess {
  /**
   * Called with each record of this model a query returns, and the current audit
   * context; may be async. It sees the record whole: every scalar field, whatever the
   * query's `select` or `omit` (bar fields the client omits globally), plus the
   * relations the query included. Reaches the records of reads (`findUnique`,
   * `findFirst`, `findMany`, the `OrThrow` forms), of writes that return records
   * (`create`, `update`, `upsert`, `delete`, `createManyAndReturn`,
   * `updateManyAndReturn`), of relations other models' queries include or select at any
   * depth, and of the fluent API. A refused record is dropped from a list; a refused
   * single record (or one a to-one relation holds) refuses the query with
   * {@link AuditAccessDeniedError}. Up to 16 calls run at once per list.
   * @example read: (order, ctx) => (order.ownerId === ctx.requestSnapshot().userId ? true : { hide: ["total"] })
   */
  read?(record: Record<string, unknown>, ctx: AuditContext): ReadDecision | Promise<ReadDecision>;
  /**
   * Called before a write runs with its arguments, the current audit context, and
   * {@link AccessInfo}: for the query's own write (`create`, `update`, `upsert`,
   * `delete` and their `Many` forms: the query's arguments) and for each nested write to
   * this model at any depth of another model's write, in the shape its top-level
   * namesake takes: `create` `{ data }`, `createMany` `{ data, skipDuplicates? }`,
   * `connectOrCreate` `{ where, create }`, `upsert` `{ where?, create, update }`,
   * `update`/`updateMany` `{ where?, data }`, `delete`/`deleteMany`/`connect`/`disconnect`
   * `{ where }` (`{}` for `true`), `set` `{ where: [...] }`. May be async. A refusal
   * throws {@link AuditAccessDeniedError} and nothing is written.
   * @example write: (args, ctx, { operation }) => (operation === "delete" ? { allow: false, reason: "Orders are never deleted." } : true)
   */
  write?(args: Record<string, unknown>, ctx: AuditContext, info: AccessInfo): AccessDecision | Promise<AccessDecision>;
  /**
   * Decides `count`, `aggregate` and `groupBy` on this model, and relation counts
   * (`_count`) of its records in other models' queries, which return numbers rather than
   * records the `read` hook could check. Called with the arguments (for `_count`, the
   * count's entry: `true` or `{ where }`), the context and {@link AccessInfo}.
   * Without it, a model with a `read` hook refuses them (fails closed).
   * @example aggregate: (args, ctx) => (ctx.extraData.role === "analyst" ? true : { allow: false, reason: "Reports are for analysts." })
   */
  aggregate?(args: unknown, ctx: AuditContext, info: AccessInfo): AccessDecision | Promise<AccessDecision>;
}

/** Options of {@link auditModels}. */
export interface AuditModelsOptions {
  /**
   * Access hooks per model, keyed by the model's name as `schema.prisma` writes it
   * (`Order`, not the client's `order`).
   * @default none: every query runs as it is
   */
  access?: Readonly<Record<string, ModelAccess>>;
  /**
   * The longest a query waits for the event of a refusal, a hidden field or a failed
   * hook to be written, in milliseconds. Past it the query answers (a refusal still
   * throws) and the write goes on; the logger says it is pending, and says so again if
   * it then fails.
   * @default 2000
   */
  eventWaitMs?: number;
  /**
   * The longest a `read`, `write` or `aggregate` hook may take to answer, in
   * milliseconds (1 to 600000). A hook that has not answered by then is taken as failed:
   * the query throws and the failure is recorded (`outcome: "failure"`), as for a hook
   * that throws.
   * @default 10000
   */
  hookTimeoutMs?: number;
}

/**
 * Runs the query with (changed) arguments; Prisma also takes its internal parameters as a
 * second argument, which the fluent API's check uses.
 */
type RunQuery = (args: unknown, internalParams?: unknown) => Promise<unknown>;

/** The Prisma query extension inside {@link auditModels}, as Prisma calls it. */
export interface AuditModelsQuery {
  $allModels: {
    $allOperations(params: { model?: string; operation: string; args: unknown; query: RunQuery; __internalParams?: unknown }): Promise<unknown>;
  };
}

/**
 * What {@link auditModels} returns: a Prisma extension in its function form, which
 * `prisma.$extends()` calls with the client so the extension can read the client's data
 * model. `query` is the same extension without a data model (so, with `access`, relations
 * and nested writes of hooked models are refused rather than walked).
 */
export interface AuditModelsExtension {
  (client: unknown): { $extends: { extArgs: { result: {}; model: {}; query: {}; client: {} } } };
  readonly query: AuditModelsQuery;
}

/** A Prisma model name: an identifier starting with a letter. */
const MODEL_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;
const HOOKS = ["read", "write", "aggregate"];

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
      throw new AuditConfigError(`auditModels(): access.${model} must be an object with a read, write and/or aggregate hook, such as ${example}.`);
    }
    const keys = Object.keys(hooks);
    for (const key of keys) {
      if (!HOOKS.includes(key)) {
        throw new AuditConfigError(`auditModels(): access.${model} has an unknown hook "${key}".${suggestion(key, HOOKS)} The hooks are read, write and aggregate.`);
      }
      if (typeof (hooks as Record<string, unknown>)[key] !== "function") {
        throw new AuditConfigError(`auditModels(): access.${model}.${key} must be a function, such as ${key}: (${key === "read" ? "record" : "args"}, ctx) => true.`);
      }
    }
    if (keys.length === 0) throw new AuditConfigError(`auditModels(): access.${model} has no hook: give it read, write and/or aggregate, or leave the model out.`);
  }
  return access as Readonly<Record<string, ModelAccess>>;
}

interface Settings {
  readonly access: Readonly<Record<string, ModelAccess>> | undefined;
  readonly eventWaitMs: number;
  readonly hookTimeoutMs: number;
}

const OPTIONS = ["access", "eventWaitMs", "hookTimeoutMs"];

function checkOptions(options: unknown): Settings {
  if (options === undefined) return { access: undefined, eventWaitMs: 2000, hookTimeoutMs: checkHookTimeout("auditModels()", undefined) };
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new AuditConfigError("auditModels() expects no argument, or { access: { Order: { read, write } } }.");
  }
  for (const key of Object.keys(options)) {
    if (!OPTIONS.includes(key)) throw new AuditConfigError(`auditModels(): unknown option "${key}".${suggestion(key, OPTIONS)} The options are ${OPTIONS.join(", ")}.`);
  }
  const { access, eventWaitMs = 2000, hookTimeoutMs } = options as AuditModelsOptions;
  if (typeof eventWaitMs !== "number" || !Number.isInteger(eventWaitMs) || eventWaitMs < 0 || eventWaitMs > 60_000) {
    throw new AuditConfigError(`auditModels(): eventWaitMs must be a whole number of milliseconds from 0 to 60000, such as eventWaitMs: 2000 (got ${String(eventWaitMs)}).`);
  }
  return { access: access === undefined ? undefined : checkAccess(access), eventWaitMs, hookTimeoutMs: checkHookTimeout("auditModels()", hookTimeoutMs) };
}

/** A hook's error message (or, uncapped, a refusal's reason, already cut) as it may be stored: masked by the content rules, capped. */

function tagResult(result: unknown, model: string): void {
  const records = Array.isArray(result) ? result : [result];
  for (const record of records) {
    if (typeof record === "object" && record !== null && !Object.prototype.hasOwnProperty.call(record, MODEL_TAG)) {
      Object.defineProperty(record, MODEL_TAG, { value: model, enumerable: false });
    }
  }
}

/** The fluent API's path (`["select", "customer"]`), which Prisma passes among its internal parameters. */
function fluentPath(internalParams: unknown): string[] | undefined {
  if (typeof internalParams !== "object" || internalParams === null) return undefined;
  const { dataPath } = internalParams as { dataPath?: unknown };
  return Array.isArray(dataPath) && dataPath.length > 0 && dataPath.every((p) => typeof p === "string") ? dataPath : undefined;
}

/** What the fluent API gives the caller: the relation at `path` of the parent's result. */
function unpack(result: unknown, path: readonly string[]): unknown {
  let value = result;
  for (let i = 1; i < path.length; i += 2) {
    if (value === null || value === undefined) return null;
    value = (value as Record<string, unknown>)[path[i]!];
  }
  return value ?? null;
}

/** The model a fluent path ends at, walking its relations. */
function fluentModel(plan: ReadPlan, path: readonly string[]): ReadPlan | undefined {
  let at: ReadPlan | undefined = plan;
  for (let i = 1; i < path.length && at !== undefined; i += 2) at = at.relations.get(path[i]!);
  return at;
}

/** The checks of one configuration, run for each query. */
class ModelGuard {
  private readonly reads: boolean;
  private readonly writes: boolean;

  constructor(
    private readonly settings: Settings & { access: Readonly<Record<string, ModelAccess>> },
    private readonly shapes: ModelShapes | undefined,
  ) {
    const hooks = Object.values(settings.access);
    this.reads = hooks.some((h) => h.read !== undefined);
    this.writes = hooks.some((h) => h.write !== undefined);
  }

  private hooks(model: string): ModelAccess | undefined {
    return Object.hasOwn(this.settings.access, model) ? this.settings.access[model] : undefined;
  }

  /** The model's `read` hook, answering within `hookTimeoutMs` or taken as failed. */
  private readHook(model: string): ModelAccess["read"] {
    const read = this.hooks(model)?.read;
    if (read === undefined) return undefined;
    const { hookTimeoutMs } = this.settings;
    return (record, ctx) => withinHookTimeout(read(record, ctx), hookTimeoutMs, `auditModels(): the read hook of ${model}`);
  }

  /**
   * Writes an access event through the current audit context (the request's, a job's),
   * waiting for it at most `eventWaitMs`. Its failure does not change what the query
   * does (a refusal still refuses): it is logged and counted, never silent.
   */
  private async record(model: string, objectId: string, content: Record<string, unknown>, operation: string, outcome: EventOutcome, severity: EventSeverity): Promise<void> {
    const context = currentAuditContext();
    const what = `the ${outcome} access event of ${model}.${operation}`;
    await writeEventBounded(
      () => context.createEvent({ contentType: model, objectId }, { operation, ...content }, { action: `${model}.${operation}`, outcome, severity }),
      this.settings.eventWaitMs,
      (trouble: BoundedWriteTrouble, error?: unknown) => {
        if (error !== undefined && !(error instanceof AuditStoreError)) recordMetricError(error);
        const { logger } = getAuditConfig();
        const said =
          trouble === "pending"
            ? `${what} is still being written after ${this.settings.eventWaitMs} ms; the query goes on, and a failure will be logged.`
            : `${what} could not be recorded${trouble === "failed-late" ? " (after the query went on)" : ""}: ${thrownMessage(error)}`;
        (trouble === "pending" ? logger.warn : (logger.error ?? logger.warn)).call(logger, `audit-events: ${said}`);
      },
    );
  }

  /** A hook that threw or answered nonsense, or a query that cannot be checked: recorded as a failure, then thrown. */
  private async failed(model: string, operation: string, objectId: string, error: unknown, content: Record<string, unknown> = {}): Promise<never> {
    await this.record(model, objectId, { ...content, error: maskStoredMessage(thrownMessage(error), getAuditConfig().masking) }, operation, "failure", "error");
    throw error;
  }

  /** Asks a `write` or `aggregate` hook; a refusal is recorded and thrown, a failure recorded and rethrown. */
  private async decide(
    hook: "write" | "aggregate",
    model: string,
    operation: string,
    objectId: string,
    ask: () => unknown,
    content: Record<string, unknown>,
    thrown: { model: string; operation: string },
  ): Promise<void> {
    let decision: ReturnType<typeof accessDecisionOf>;
    try {
      const name = `auditModels(): the ${hook} hook of ${model}`;
      decision = accessDecisionOf(await withinHookTimeout(ask(), this.settings.hookTimeoutMs, name), name);
    } catch (error) {
      return this.failed(model, operation, objectId, error, content);
    }
    if (decision.allow) return;
    await this.record(model, objectId, { ...content, reason: maskStoredMessage(decision.reason, getAuditConfig().masking, Infinity) }, operation, "denied", "warning");
    throw new AuditAccessDeniedError(decision.reason, thrown.model, thrown.operation);
  }

  private unwalkable(model: string, operation: string, what: string): Promise<never> {
    return this.failed(
      model,
      operation,
      "*",
      new AuditConfigError(
        `auditModels(): ${what} cannot be checked, because this Prisma client does not expose its data model, so it is refused. Extend the client itself: prisma.$extends(auditModels({ access })), with Prisma 6 or later.`,
      ),
    );
  }

  /** The query's own write and every nested write, each by its model's `write` hook, in order; the first refusal throws. */
  async checkWrites(model: string, operation: string, args: unknown): Promise<void> {
    const ctx = currentAuditContext();
    const where = isPlainObject(args) ? args.where : undefined;
    const own = this.hooks(model)?.write;
    if (own !== undefined) {
      const info = { operation, path: "" };
      await this.decide("write", model, operation, idOf(where), () => own((args ?? {}) as Record<string, unknown>, ctx, info), {}, { model, operation });
    }
    if (this.shapes === undefined) {
      const at = nestedWriteShapeAt(operation, args);
      if (at !== undefined) await this.unwalkable(model, operation, `the nested write at ${at}`);
      return;
    }
    for (const nested of nestedWrites(this.shapes, model, operation, args)) {
      const write = this.hooks(nested.model)?.write;
      if (write === undefined) continue;
      const info = { operation: nested.operation, path: nested.path };
      await this.decide("write", nested.model, nested.operation, idOf(nested.args.where), () => write(nested.args, ctx, info), { via: `${model}.${operation}`, path: nested.path }, nested);
    }
  }

  /** `count`, `aggregate`, `groupBy` (and relation counts) of a model with a `read` hook: its `aggregate` hook decides, else refused. */
  async checkAggregate(model: string, operation: string, args: unknown, via: string | undefined, path: string): Promise<void> {
    const hooks = this.hooks(model);
    if (hooks?.read === undefined) return;
    const aggregate = hooks.aggregate;
    const ctx = currentAuditContext();
    const content = via === undefined ? {} : { via, path };
    if (aggregate !== undefined) return this.decide("aggregate", model, operation, "*", () => aggregate(args, ctx, { operation, path }), content, { model, operation });
    const reason = `${operation === "_count" ? "Counting" : `${operation} on`} ${model} records is not allowed: they are checked one by one.`;
    await this.record(model, "*", { ...content, reason, fix: `give access.${model} an aggregate hook to allow it` }, operation, "denied", "warning");
    throw new AuditAccessDeniedError(reason, model, operation);
  }

  /** Runs a query that returns records, checking them by their models' `read` hooks (and the writes' first). */
  async run(model: string, operation: string, args: unknown, query: RunQuery, internalParams: unknown): Promise<unknown> {
    if (AGGREGATES.has(operation)) await this.checkAggregate(model, operation, args, undefined, "");
    if (this.writes && WRITES.has(operation)) await this.checkWrites(model, operation, args);
    const path = fluentPath(internalParams);
    if (!this.reads || !RECORD_OPERATIONS.has(operation)) {
      const result = await query(args);
      if (RECORD_OPERATIONS.has(operation)) this.tagPlain(result, model, path);
      return result;
    }
    const hooked = (m: string) => this.hooks(m)?.read !== undefined;
    let planned: { args: unknown; plan: ReadPlan };
    if (this.shapes === undefined) {
      if (path !== undefined) return this.unwalkable(model, operation, "the fluent API's relation");
      if (isPlainObject(args) && ["select", "include", "omit"].some((k) => args[k] !== undefined)) return this.unwalkable(model, operation, "a read with select, include or omit");
      planned = { args, plan: flatPlan(model) };
    } else {
      const { counted, ...rest } = planRead(this.shapes, hooked, model, args);
      for (const count of counted) await this.checkAggregate(count.model, "_count", count.args, `${model}.${operation}`, count.path);
      planned = rest;
    }
    // The fluent API (db.order.findUnique(...).customer()) runs the parent's query and gives
    // the relation: the parent is fetched whole, so its hook and the relation's both apply.
    const result = await (path === undefined ? query(planned.args) : query(planned.args, { ...(internalParams as object), dataPath: [] }));
    const findings: ReadFindings = { refused: new Map(), hidden: new Map() };
    let checked: Awaited<ReturnType<typeof checkReadResult>>;
    try {
      checked = await checkReadResult(result, planned.plan, (m) => this.readHook(m), currentAuditContext(), (m) => this.shapes?.fields(m), findings);
    } catch (error) {
      if (!(error instanceof ReadHookFailure)) throw error;
      return this.failed(error.model, error.model === model ? operation : "read", Array.isArray(result) ? "*" : idOf(error.record), error.error, error.model === model ? {} : { via: `${model}.${operation}` });
    }
    await this.recordFindings(model, operation, findings, Array.isArray(result) ? undefined : result);
    const written = WRITES.has(operation);
    const refused = checked.refused ?? (findings.toOne === undefined ? undefined : findings.toOne.reason);
    if (refused !== undefined) {
      const by = checked.refused === undefined ? findings.toOne!.model : model;
      throw new AuditAccessDeniedError(refused, by, written ? `${operation} (written; its result is withheld)` : operation);
    }
    if (path === undefined) return checked.result;
    const related = fluentModel(planned.plan, path);
    const value = unpack(checked.result, path);
    if (related !== undefined) tagResult(value, related.model);
    return value;
  }

  private tagPlain(result: unknown, model: string, path: readonly string[] | undefined): void {
    if (path === undefined) return tagResult(result, model);
    let at: string | undefined = model;
    for (let i = 1; i < path.length && at !== undefined; i += 2) at = this.shapes?.relation(at, path[i]!);
    if (at !== undefined) tagResult(result, at);
  }

  /** One event per model per kind: what was refused (`denied`) and what was hidden (`success`). */
  private async recordFindings(model: string, operation: string, findings: ReadFindings, single: unknown): Promise<void> {
    const written = WRITES.has(operation);
    const writes: Promise<void>[] = [];
    const objectIdOf = (m: string, ids: readonly string[]) => (m === model && single !== undefined ? idOf(single) : ids.length === 1 ? ids[0]! : "*");
    for (const [m, hidden] of findings.hidden) {
      const via = m === model ? {} : { via: `${model}.${operation}` };
      writes.push(this.record(m, m === model && single !== undefined ? idOf(single) : "*", { ...via, hidden: [...hidden.fields].sort(), records: hidden.records }, m === model ? operation : "read", "success", "info"));
    }
    for (const [m, refused] of findings.refused) {
      const via = m === model ? {} : { via: `${model}.${operation}` };
      const state = written && m === model ? { written: true } : {};
      const reasons = refused.reasons.map((reason) => maskStoredMessage(reason, getAuditConfig().masking, Infinity));
      writes.push(this.record(m, objectIdOf(m, refused.ids), { ...via, ...state, refused: refused.ids.length, ids: refused.ids, reasons }, m === model ? operation : "read", "denied", "warning"));
    }
    await Promise.all(writes);
  }
}

/**
 * Refuses hooks of models the client does not have (`Buyers` for `Buyer`): they would
 * never run, and the model they meant to guard would go unguarded.
 */
function checkModelNames(settings: Settings, shapes: ModelShapes): void {
  const models = shapes.models();
  for (const model of Object.keys(settings.access ?? {})) {
    if (models.includes(model)) continue;
    throw new AuditConfigError(`auditModels(): access.${model} names no model of this Prisma client.${suggestion(model, models)} Key access by the model's name as schema.prisma writes it.`);
  }
}

function queryExtension(settings: Settings, shapes: ModelShapes | undefined): AuditModelsQuery {
  const guard = settings.access === undefined ? undefined : new ModelGuard({ ...settings, access: settings.access }, shapes);
  return {
    $allModels: {
      async $allOperations({ model, operation, args, query, __internalParams }) {
        if (model === undefined) return query(args);
        if (guard === undefined) {
          const result = await query(args);
          if (RECORD_OPERATIONS.has(operation)) {
            const path = fluentPath(__internalParams);
            let at: string | undefined = model;
            for (let i = 1; path !== undefined && i < path.length && at !== undefined; i += 2) at = shapes?.relation(at, path[i]!);
            if (at !== undefined) tagResult(result, at);
          }
          return result;
        }
        return guard.run(model, operation, args, query, __internalParams);
      },
    },
  };
}

/**
 * A Prisma client extension that tags every record a query returns with its model
 * name, so the record can be passed to `createEvent` as it is, and, with `access`,
 * checks each model's reads and writes (fhirbug's resource and attribute levels). The
 * extension reads the client's data model (Prisma's runtime data model) to follow
 * relations:
 *
 * - `write(args, ctx, info)` runs before every write to its model: the query's own
 *   (`create`, `createMany`, `createManyAndReturn`, `update`, `updateMany`,
 *   `updateManyAndReturn`, `upsert`, `delete`, `deleteMany`) and each nested write at
 *   any depth of another model's write (`create`, `createMany`, `connectOrCreate`,
 *   `upsert`, `update`, `updateMany`, `delete`, `deleteMany`, `connect`, `disconnect`,
 *   `set`; shapes in {@link ModelAccess.write}). All run before anything is written; the
 *   first refusal throws {@link AuditAccessDeniedError} (code `ERR_AUDIT_ACCESS_DENIED`,
 *   `status` 403, `model` and `operation` the refused write's).
 * - `read(record, ctx)` sees every record of its model a query returns, whole (every
 *   scalar field, whatever the query's `select`/`omit`), then the record is narrowed
 *   back to what the query asked for: records of reads, of writes that return records,
 *   of relations included or selected at any depth, and of the fluent API (whose parent
 *   record is checked too). `{ allow: false, reason }` drops a record from a list and
 *   refuses a single record or a to-one relation's record (`AuditAccessDeniedError`;
 *   for a write, after it was written: its `operation` reads `"update (written; its
 *   result is withheld)"`); `{ hide: ["email"] }` removes those fields.
 * - `aggregate(args, ctx, info)` decides `count`, `aggregate`, `groupBy` and `_count` of
 *   a model that has a `read` hook; without it they are refused.
 * - Each refusal is recorded through `currentAuditContext()` (the request's context in a
 *   request), action `"<Model>.<operation>"` (`"<Model>.read"` for a related model,
 *   with `via`), `outcome: "denied"`, with the reason(s) and ids; hidden fields as one
 *   event per model, listing them. A query waits for these events at most `eventWaitMs`.
 * - A hook that throws, answers anything else, hides a field its model does not have,
 *   or does not answer within `hookTimeoutMs` (default 10 000 ms) fails closed: the
 *   query throws (the hook's error, or `ERR_AUDIT_CONFIG`) and the failure is recorded
 *   (`outcome: "failure"`, the error's message masked by the content's rules and
 *   capped). Refusal reasons are cut at 1000 characters and stored masked.
 * - A `select` naming a result extension's computed field keeps it: the fields it may
 *   need stay on the record, non-enumerable (JSON and spreads do not see them).
 *
 * Limits: raw queries are not seen; `where`, `orderBy` and `cursor` may name fields a
 * hook hides and relations it refuses (the result says whether a match exists); fields
 * the client omits globally are not shown to `read`; an extension applied after this
 * one changes queries after the checks (apply `auditModels` last); foreign keys written
 * as scalars (`data: { buyerId }`) and the database's referential actions
 * (`onDelete: Cascade`) reach related records without their `write` hooks, since
 * Prisma's runtime data model names neither foreign-key fields nor referential actions. The tag is a non-enumerable symbol:
 * JSON output and equality checks do not see it.
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
 * written as the client's property (`order` for `Order`), a hook that is not a function,
 * an `eventWaitMs` or `hookTimeoutMs` out of range; and when `prisma.$extends()` applies
 * it to a client that has no model of a name `access` gives (`Buyers`), with the model
 * meant.
 */
export function auditModels(options?: AuditModelsOptions): AuditModelsExtension {
  const settings = checkOptions(options);
  const extension = (client: unknown) => {
    const shapes = ModelShapes.of(client);
    if (shapes !== undefined) checkModelNames(settings, shapes);
    return (client as { $extends(extension: unknown): ReturnType<AuditModelsExtension> }).$extends({ name: "audit-events", query: queryExtension(settings, shapes) });
  };
  Object.defineProperty(extension, "name", { value: "audit-events" });
  return Object.assign(extension, { query: queryExtension(settings, undefined) });
}
