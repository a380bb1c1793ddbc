import { normalizeClientIp } from "./client-ip";
import { boundRecord } from "./column-limits";
import { getAuditConfig } from "./config/configure";
import { type ResolvedAuditConfig } from "./config/options";
import { resolveContentObject } from "./content-object";
import { runEnrichers } from "./enrichers";
import { AuditConfigError, AuditError } from "./errors";
import { checkEventFields, checkOptionKeys, explicitId } from "./event-fields";
import {
  DEFAULT_OUTCOME,
  DEFAULT_SEVERITY,
  newEventIdentity,
  type AuditEventRecord,
  type EventOutcome,
  type EventSeverity,
} from "./model/event-record";
import { setOwn, type JsonObject } from "./model/json";
import type { MaskRules } from "./mask-rules";
import { maskUrl } from "./mask-url";
import { maskRequestData, pickHeaders } from "./masking";
import { explicitUserId } from "./request-data";
import { maskJsonInString, normalizeContent, sanitizeString } from "./serialize";
import type { AuditStore } from "./stores/store";
import { maskUrlUserinfoInQuery } from "./url-userinfo-in-query";
import { ACCEPTED } from "./writer/buffered-writer";
import { writeEvents } from "./writer/write-path";

/** What a background job (or a test) may tell a blank context. */
export interface AuditContextInit {
  /** The store for this context's events, instead of the configured one. */
  store?: AuditStore;
  /** Merged into the content of every event of this context. Copied, never shared. */
  extraData?: Record<string, unknown>;
  /**
   * The acting user: an id, or an object with an `id` (else a `sub`).
   * @throws {AuditError} `ERR_AUDIT_USER` from the constructor when it names no user.
   */
  user?: string | number | bigint | { id: unknown } | { sub: unknown } | null;
  /** The URL to record; masked as a request's (query string, fragment, userinfo, patterns). */
  url?: string | null;
  /** The HTTP method (or any verb the job wants to record). */
  method?: string | null;
  /** The client IP. */
  remoteAddr?: string | null;
  /** Recorded in `queryParams`, masked. */
  queryParams?: Record<string, unknown>;
  /** Recorded in `postData`, masked and size-capped (`maxPostDataBytes`). */
  postData?: Record<string, unknown>;
  /** Recorded in `headers`, masked by `maskHeaders`, `maskFields` and `sensitivePatterns`. */
  headers?: Record<string, string | string[] | undefined>;
  /**
   * The tenant every event of this context belongs to (a request's comes from
   * `tenantResolver`); events cannot name another.
   * @throws {AuditError} `ERR_AUDIT_EVENT_FIELD` from the constructor when it is not a non-blank string.
   */
  tenantId?: string | null;
  /**
   * The request id this context's events carry, e.g. the id of the request that queued
   * the job (`serializeAuditContext()` carries it for you).
   * @default null
   * @throws {AuditError} `ERR_AUDIT_EVENT_FIELD` from the constructor when it is not a non-blank string.
   */
  requestId?: string | null;
}

/**
 * Options of a single write: where it is written (`tx`), and the event's own model
 * fields. Every field is checked on every call; an unknown key is refused.
 *
 * @example
 * ```ts
 * await ctx.createEvent(order, { amount: 10 }, { action: "order.refund", outcome: "failure", severity: "warning" });
 * ```
 */
export interface CreateEventOptions {
  /**
   * A Prisma interactive-transaction client (`prisma.$transaction(async (tx) => ...)`):
   * the event is written in that transaction and disappears with its rollback.
   */
  tx?: unknown;
  /**
   * This event's user, overriding the context's (its `setUser()`, its resolver):
   * an id, an object with an `id` (else a `sub`), or `null` for none. For the
   * events around a login or a registration, before the context knows the user.
   * @example
   * ```ts
   * const user = await prisma.user.create({ data });
   * await ctx.createEvent(user, {}, { user, action: "user.register" });
   * ```
   */
  user?: unknown;
  /**
   * What was done, in the application's words, e.g. `"order.refund"`: a non-blank
   * string, stored in the `action` column (masked by `sensitivePatterns`, at most 191
   * characters), or `null` for none.
   * @default null
   */
  action?: string | null;
  /**
   * Whether it worked: `"success"`, `"failure"` (it was tried and failed) or
   * `"denied"` (it was refused, e.g. by an access check).
   * @default "success"
   */
  outcome?: EventOutcome;
  /**
   * How serious it is: `"debug"`, `"info"`, `"warning"`, `"error"` or `"critical"`.
   * @default "info"
   */
  severity?: EventSeverity;
}

/** One event of {@link AuditContext.createEvents}: what `createEvent` takes, as one object. */
export interface CreateEventsItem extends CreateEventOptions {
  /** The object the event is about (see `createEvent`). */
  contentObject: unknown;
  /** The event's content, laid over the context's `extraData`. @default {} */
  content?: Record<string, unknown>;
}

/** The facts of a context an event carries, gathered when it is created. */
export interface RequestSnapshot {
  /** The tenant (see `tenantResolver`, `new AuditContext({ tenantId })`), or null. */
  tenantId: string | null;
  /** The request id (see {@link AuditContext.requestId}), or null outside a request. */
  requestId: string | null;
  url: string | null;
  method: string | null;
  remoteAddr: string | null;
  userId: string | null;
  queryParams: JsonObject;
  postData: JsonObject;
  headers: JsonObject;
}

/** A snapshot without its user, tenant and request id, which are resolved on their own. */
export type RequestFacts = Omit<RequestSnapshot, "userId" | "tenantId" | "requestId">;

function isEmpty(object: object): boolean {
  for (const _ in object) return false;
  return true;
}

/**
 * Applies `sensitivePatterns` to the record's own text columns (the JSON columns and the
 * URL were masked as they were built); the record was just built, so it is changed in place.
 * Not to `tenantId` and `requestId`: they are keys that scope and join events, and a
 * pattern that rewrote two tenants' ids alike would merge their trails.
 */
function redactColumns(record: AuditEventRecord, masking: MaskRules): void {
  record.contentType = masking.redact(record.contentType);
  record.objectId = masking.redact(record.objectId);
  if (record.userId !== null) record.userId = masking.redact(record.userId);
  if (record.method !== null) record.method = masking.redact(record.method);
  if (record.remoteAddr !== null) record.remoteAddr = masking.redact(record.remoteAddr);
  if (record.action !== null) record.action = masking.redact(record.action);
}

/**
 * What `createEvent` takes for content and options not given: one frozen empty object
 * for all calls, not two new ones per event. Only read: content is normalized into a
 * new object, and options are read field by field.
 */
const NO_CONTENT: Record<string, unknown> = Object.freeze({});
const NO_OPTIONS: CreateEventOptions = Object.freeze({});

/** What `buildRecord` takes besides the object and content: an event's options. */
type RecordOptions = Pick<CreateEventOptions, "user" | "action" | "outcome" | "severity">;

function checkOptions(options: unknown, where: string): asserts options is CreateEventOptions {
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new AuditError("ERR_AUDIT_EVENT_FIELD", `${where}: the options must be an object such as { action: "order.refund", outcome: "success" }.`);
  }
  checkOptionKeys(options, where);
}

/** Names the item of a `createEvents()` call that an error is about. */
function aboutItem(error: unknown, where: string): unknown {
  if (error instanceof AuditError && !error.message.startsWith(where)) error.message = `${where}: ${error.message}`;
  return error;
}

function optionalString(value: string | null | undefined): string | null {
  return typeof value === "string" ? sanitizeString(value) : null;
}

/**
 * An unsaved event: change `contentObject` and `content` freely, then `save()` it.
 * Saving twice is refused; a failed save may be retried and keeps the same event id,
 * so a retry after an ambiguous failure can never store the event twice.
 *
 * @example
 * ```ts
 * const draft = req.auditContext.newEvent(order);
 * draft.action = "order.refund";
 * draft.content.amount = order.total;
 * const record = await draft.save({ outcome: "failure", severity: "warning" });
 * ```
 */
export class AuditEventDraft {
  /** The object the event is about (see `AuditContext.createEvent`). */
  contentObject: unknown;
  /** The event's own content, laid over the context's `extraData`. */
  content: Record<string, unknown>;
  /** What was done, e.g. `"order.ship"` (see {@link CreateEventOptions.action}); `save()`'s option wins. */
  action: string | null | undefined;
  /** Whether it worked (see {@link CreateEventOptions.outcome}); `save()`'s option wins. */
  outcome: EventOutcome | undefined;
  /** How serious it is (see {@link CreateEventOptions.severity}); `save()`'s option wins. */
  severity: EventSeverity | undefined;
  private record: AuditEventRecord | undefined;
  private state: "draft" | "saving" | "saved" = "draft";

  /** Use `ctx.newEvent()` rather than this constructor. */
  constructor(
    private readonly context: AuditContext,
    contentObject?: unknown,
    content: Record<string, unknown> = {},
  ) {
    this.contentObject = contentObject;
    this.content = content;
  }

  /**
   * Writes the event and returns the stored record.
   *
   * @throws {AuditError} `ERR_AUDIT_DRAFT_SAVED` when saved already,
   * `ERR_AUDIT_CONTENT_OBJECT` / `ERR_AUDIT_SERIALIZE` / `ERR_AUDIT_EVENT_FIELD` for unusable input.
   * @throws {AuditStoreError} when the store cannot write it.
   */
  save(options: CreateEventOptions = {}): Promise<AuditEventRecord> {
    return this.saveAs(options, "draft.save()");
  }

  /**
   * `save()`, naming in its messages the public call that saves (`createEvent()`, ...).
   * @internal
   */
  async saveAs(options: CreateEventOptions, where: string): Promise<AuditEventRecord> {
    checkOptions(options, where);
    if (this.state !== "draft") {
      throw new AuditError("ERR_AUDIT_DRAFT_SAVED", "This event draft was saved already: create a new one with ctx.newEvent() for another event.");
    }
    this.state = "saving";
    try {
      this.record ??= this.context.buildRecord(
        this.contentObject,
        this.content,
        {
          user: options.user,
          action: options.action !== undefined ? options.action : this.action,
          outcome: options.outcome !== undefined ? options.outcome : this.outcome,
          severity: options.severity !== undefined ? options.severity : this.severity,
        },
        where,
      );
      await writeEvents(this.context, [this.record], options.tx);
      this.state = "saved";
      return this.record;
    } catch (error) {
      this.state = "draft";
      throw error;
    }
  }
}

/**
 * The audit context: who is acting, from where, with which request, and the
 * `extraData` every event of this context carries. The middleware makes one per
 * request (`req.auditContext`); background jobs make their own with
 * `new AuditContext({ ... })`.
 *
 * @example
 * ```ts
 * const job = new AuditContext({ extraData: { job: "nightly-sync" }, user: "system" });
 * await job.createEvent(order, {}, { action: "synced" });
 * ```
 */
export class AuditContext {
  /** Merged into the content of every event of this context; this context's own. */
  extraData: Record<string, unknown>;
  private readonly init: AuditContextInit;
  private readonly initUserId: string | null;
  private readonly initTenantId: string | null;
  private readonly initRequestId: string | null;
  /** Set by `setUser()`: wins over `init.user` and the request's resolver. */
  private userSet: { id: string | null } | undefined;

  constructor(init: AuditContextInit = {}) {
    if (typeof init !== "object" || init === null) {
      throw new AuditConfigError("new AuditContext() expects an object such as { extraData: { job: \"sync\" } }.");
    }
    this.init = init;
    this.initUserId = explicitUserId(init.user, "new AuditContext({ user })");
    this.initTenantId = explicitId(init.tenantId, "tenantId", "new AuditContext()");
    this.initRequestId = explicitId(init.requestId, "requestId", "new AuditContext()");
    this.extraData = { ...init.extraData };
  }

  /**
   * Names the user of this context's later events (drafts saved later too), e.g.
   * right after a login, when the request's own user is not set yet; `null` for none
   * (after a logout). It wins over `userResolver` and `new AuditContext({ user })`,
   * and `serializeAuditContext()` carries it to a job.
   *
   * @example
   * ```ts
   * const user = await login(req.body.email, req.body.password);
   * req.auditContext.setUser(user); // an id, or an object with an id or sub
   * await req.auditContext.createEvent(user, {}, { action: "user.login" });
   * ```
   * @throws {AuditError} `ERR_AUDIT_USER` when `user` names no user (an object with
   * neither `id` nor `sub`, an empty string).
   */
  setUser(user: unknown): void {
    this.userSet = { id: explicitUserId(user, "ctx.setUser()") };
  }

  /**
   * The id of the request this context belongs to, which every event of it carries: in
   * a request, the `requestIdHeader` (`x-request-id`), else the trace id of a W3C
   * `traceparent`, else a new UUID v7, worked out on first use and the same for the
   * whole request; in a job, what `new AuditContext({ requestId })` named, else null.
   *
   * @example
   * ```ts
   * app.use((req, res, next) => { res.set("x-request-id", req.auditContext.requestId ?? ""); next(); });
   * ```
   */
  get requestId(): string | null {
    return this.initRequestId;
  }

  /** The tenant this context's events carry. */
  protected resolveTenantId(_config: ResolvedAuditConfig): string | null {
    return this.initTenantId;
  }

  /** The user an event of this context carries when the event names none. */
  protected resolveUserId(_config: ResolvedAuditConfig): string | null {
    return this.initUserId;
  }

  private userId(config: ResolvedAuditConfig, eventUser: unknown): string | null {
    if (eventUser !== undefined) return explicitUserId(eventUser, "the user option of an event");
    return this.userSet !== undefined ? this.userSet.id : this.resolveUserId(config);
  }

  /** The configuration this context's events follow. */
  protected config(): ResolvedAuditConfig {
    return getAuditConfig();
  }

  /**
   * The request facts an event created now would carry: user, URL, method, IP,
   * query, post data and headers, masked and capped by the configuration in force.
   */
  requestSnapshot(): RequestSnapshot {
    const config = this.config();
    return { ...this.snapshot(config), userId: this.userId(config, undefined), tenantId: this.resolveTenantId(config), requestId: this.requestId };
  }

  /** Gathers the request facts, but the user, for an event being created now. */
  protected snapshot(config: ResolvedAuditConfig): RequestFacts {
    const { init } = this;
    const headers = Object.fromEntries(Object.entries(init.headers ?? {}).map(([name, value]) => [name.toLowerCase(), value]));
    return {
      url: typeof init.url === "string" ? maskUrl(sanitizeString(init.url), config.masking, maskJsonInString) : null,
      method: optionalString(init.method),
      remoteAddr: normalizeClientIp(init.remoteAddr),
      queryParams: maskRequestData(maskUrlUserinfoInQuery(init.queryParams, typeof init.url === "string" ? init.url : ""), config.masking, config.maxPostDataBytes),
      postData: maskRequestData(init.postData, config.masking, config.maxPostDataBytes),
      headers: pickHeaders(headers, Object.keys(headers), config.masking),
    };
  }

  /** The store this context writes to: its own, else the configured one. */
  storeForWrite(): AuditStore {
    const store = this.init.store ?? this.config().store;
    if (store === undefined) {
      throw new AuditConfigError(
        "No audit store is configured. Call configureAudit({ store: prismaStore(prisma) }) at start-up, or pass { store } to new AuditContext(). " +
          "In your app's tests: configureAudit({ store: memoryStore() }) to read the events back, or configureAudit({ disabled: true }) to write none.",
        "ERR_AUDIT_NO_STORE",
      );
    }
    return store;
  }

  /**
   * Builds the record of a new event with its options (user, action, outcome,
   * severity); used by drafts and `createEvents`. Every event is built here, so this is
   * where its fields are checked, enrichers run, it is masked, and each column is
   * bounded to what every database stores (see column-limits.ts): no value, whatever its
   * length, keeps an event out of the store.
   *
   * @throws {AuditError} `ERR_AUDIT_CONTENT`, `ERR_AUDIT_EVENT_FIELD` (naming `where`),
   * `ERR_AUDIT_CONTENT_OBJECT`, `ERR_AUDIT_USER`, `ERR_AUDIT_RESOLVER`, `ERR_AUDIT_SERIALIZE`.
   */
  buildRecord(contentObject: unknown, content: Record<string, unknown>, options: RecordOptions = {}, where = "createEvent()"): AuditEventRecord {
    if (typeof content !== "object" || content === null || Array.isArray(content)) {
      throw new AuditError("ERR_AUDIT_CONTENT", "Event content must be a plain object, such as { action: \"refund\" }.");
    }
    const fields = checkEventFields(options, where);
    const action = fields.action ?? null;
    const outcome = fields.outcome ?? DEFAULT_OUTCOME;
    const severity = fields.severity ?? DEFAULT_SEVERITY;
    const config = this.config();
    const { contentType, objectId } = resolveContentObject(contentObject, config.contentTypeResolver);
    const extraData = this.extraData;
    const { masking } = config;
    const userId = this.userId(config, options.user);
    const tenantId = this.resolveTenantId(config);
    const requestId = this.requestId;
    let merged = isEmpty(extraData) ? content : { ...extraData, ...content };
    if (config.enrichers.length > 0) {
      // A copy: an enricher that changes what it is given changes neither the caller's
      // content object nor, behind the caller's back, the event.
      const event = { contentType, objectId, action, outcome, severity, userId, tenantId, requestId, content: Object.freeze({ ...merged }) };
      const added = runEnrichers(config.enrichers, event, this, config.logger, (text) => masking.redact(text));
      // The event's own content wins over what enrichers add, as it does over extraData.
      if (added !== undefined) merged = { ...extraData, ...added, ...content };
    }
    const normalizedContent = normalizeContent(merged, masking);
    const { id, timestamp } = newEventIdentity();
    const facts = this.snapshot(config);
    // Built field by field: object spreads of several sources are several times slower
    // here, and this runs on the request path for every event.
    const record: AuditEventRecord = {
      id,
      timestamp,
      contentType,
      objectId,
      content: normalizedContent,
      userId,
      url: facts.url,
      method: facts.method,
      remoteAddr: facts.remoteAddr,
      queryParams: facts.queryParams,
      postData: facts.postData,
      headers: facts.headers,
      action,
      outcome,
      severity,
      tenantId,
      requestId,
      // Filled by the writer that chains the event, when `integrity` is configured.
      chainId: null,
      seq: null,
      prevHash: null,
      hash: null,
    };
    if (masking.hasPatterns) redactColumns(record, masking);
    return boundRecord(record);
  }

  /**
   * Starts an unsaved event about `contentObject`; `await draft.save()` writes it.
   *
   * @example
   * ```ts
   * const draft = ctx.newEvent();
   * draft.contentObject = order;
   * draft.content = { action: "ship" };
   * await draft.save();
   * ```
   */
  newEvent(contentObject?: unknown): AuditEventDraft {
    return new AuditEventDraft(this, contentObject);
  }

  /**
   * Writes an event about `contentObject` and returns the stored record. Content is
   * `{ ...extraData, ...content }`. The content object is an explicit
   * `{ contentType, objectId }`, a result of a client extended with `auditModels()`,
   * a class instance with an `id`, or whatever `contentTypeResolver` resolves.
   *
   * With `integrity`, the chain fields (`chainId`, `seq`, `prevHash`, `hash`) of the
   * returned record are those stored in sync mode and with `tx`. In buffered mode they
   * are null: the event takes its chain position when its batch is written (after this
   * resolves; with a spool, possibly in another process), never before. The stored event
   * (`findEvents`, exports, `verifyAuditTrail`) carries them once `flushAudit()` resolves.
   * What a buffered event stores (and signs) is the event as created: changing the
   * returned record, or what it holds, before its batch is written changes nothing stored.
   *
   * @example
   * ```ts
   * await req.auditContext.createEvent(order, { amount: order.total }, { action: "refund" });
   * await prisma.$transaction(async (tx) => {
   *   const o = await tx.order.update({ ... });
   *   await ctx.createEvent({ contentType: "Order", objectId: o.id }, {}, { tx, action: "ship" });
   * });
   * ```
   * @throws {AuditError} `ERR_AUDIT_CONTENT_OBJECT`, `ERR_AUDIT_CONTENT`, `ERR_AUDIT_SERIALIZE`,
   * `ERR_AUDIT_EVENT_FIELD` (an unknown option, outcome or severity; a blank action).
   * @throws {AuditConfigError} `ERR_AUDIT_NO_STORE` when no store is configured.
   * @throws {AuditStoreError} when the store cannot write it.
   */
  createEvent(contentObject: unknown, content: Record<string, unknown> = NO_CONTENT, options: CreateEventOptions = NO_OPTIONS): Promise<AuditEventRecord> {
    // What a draft's save() does, without the draft (no one else sees it) and without an
    // async function's extra promises: this runs for every event on the request path.
    try {
      checkOptions(options, "createEvent()");
      // The options themselves: buildRecord reads only the event's fields of them.
      const record = this.buildRecord(contentObject, content, options, "createEvent()");
      const written = writeEvents(this, [record], options.tx);
      // Taken already (buffered in memory): resolved now, without a reaction and a closure per event.
      return written === ACCEPTED ? Promise.resolve(record) : written.then(() => record);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Writes many events in one go and returns their records, in order. Every event is
   * built and checked first: one unusable item rejects the call (naming the item)
   * before anything is written. Then, in sync mode, they are written by one insert
   * (one round trip, all or none); with `tx` (the same on every item) in that
   * transaction; in buffered mode they are queued together; with `disabled`, nowhere.
   * With `integrity` they take consecutive chain positions; the returned records carry
   * them as `createEvent`'s do (null in buffered mode).
   *
   * @example
   * ```ts
   * await ctx.createEvents(orders.map((order) => ({ contentObject: order, content: { total: order.total }, action: "order.export" })));
   * ```
   * @throws {AuditError} `ERR_AUDIT_EVENT_FIELD` when `items` is not an array of objects,
   * or items name different `tx` values; whatever `createEvent` throws, naming the item.
   * @throws {AuditStoreError} when the store cannot write them; none is written then.
   */
  async createEvents(items: readonly CreateEventsItem[]): Promise<AuditEventRecord[]> {
    if (!Array.isArray(items)) {
      throw new AuditError("ERR_AUDIT_EVENT_FIELD", "createEvents() expects an array of { contentObject, content?, action?, outcome?, severity?, user?, tx? }.");
    }
    const tx = (items[0] as CreateEventsItem | undefined)?.tx;
    // Array.from visits the holes of a sparse array (map would skip them), so each is refused.
    const records = Array.from(items, (item: unknown, i) => {
      const where = `createEvents() item ${i}`;
      if (typeof item !== "object" || item === null || Array.isArray(item)) {
        throw new AuditError("ERR_AUDIT_EVENT_FIELD", `${where} must be an object such as { contentObject: order, content: { total: 10 }, action: "order.export" }.`);
      }
      checkOptionKeys(item, where, true);
      const { contentObject, content = {}, tx: itemTx, ...options } = item as CreateEventsItem;
      if (itemTx !== tx) {
        throw new AuditError(
          "ERR_AUDIT_EVENT_FIELD",
          `${where} names another tx than item 0: the events of one createEvents() call are written together, in one transaction or outside any. Give every item the same tx, or make one call per transaction.`,
        );
      }
      try {
        return this.buildRecord(contentObject, content, options, where);
      } catch (error) {
        throw aboutItem(error, where);
      }
    });
    await writeEvents(this, records, tx);
    return records;
  }

  /**
   * Writes an event whose content holds the current values of the named fields of
   * `contentObject`, then `content`: `{ ...extraData, ...fieldValues, ...content }`.
   *
   * @example
   * ```ts
   * await ctx.createFieldsEvent(order, ["status", "total"], {}, { action: "update" });
   * ```
   * @throws {AuditError} `ERR_AUDIT_FIELD` when the object has no such field, and
   * everything `createEvent` throws.
   */
  async createFieldsEvent(
    contentObject: unknown,
    fields: readonly string[],
    content: Record<string, unknown> = {},
    options: CreateEventOptions = {},
  ): Promise<AuditEventRecord> {
    if (!Array.isArray(fields) || fields.some((f) => typeof f !== "string")) {
      throw new AuditError("ERR_AUDIT_FIELD", "createFieldsEvent() expects an array of field names, such as [\"status\", \"total\"].");
    }
    const source = contentObject as Record<string, unknown>;
    const fieldValues: Record<string, unknown> = {};
    for (const field of fields) {
      if (typeof source !== "object" || source === null || !(field in source)) {
        throw new AuditError("ERR_AUDIT_FIELD", `createFieldsEvent(): the content object has no field "${field}".`);
      }
      setOwn(fieldValues, field, source[field]);
    }
    return new AuditEventDraft(this, contentObject, { ...fieldValues, ...content }).saveAs(options, "createFieldsEvent()");
  }
}
