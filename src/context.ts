import { normalizeClientIp } from "./client-ip";
import { boundRecord } from "./column-limits";
import { getAuditConfig } from "./config/configure";
import { type ResolvedAuditConfig } from "./config/options";
import { resolveContentObject } from "./content-object";
import { AuditConfigError, AuditError } from "./errors";
import { DEFAULT_OUTCOME, DEFAULT_SEVERITY, newEventIdentity, type AuditEventRecord } from "./model/event-record";
import { setOwn, type JsonObject } from "./model/json";
import type { MaskRules } from "./mask-rules";
import { maskUrl } from "./mask-url";
import { maskRequestData, pickHeaders } from "./masking";
import { explicitUserId } from "./request-data";
import { normalizeContent, sanitizeString } from "./serialize";
import type { AuditStore } from "./stores/store";
import { writeEvent } from "./writer/write-path";

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
}

/** Options of a single write. */
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
   * await ctx.createEvent(user, { action: "user.register" }, { user });
   * ```
   */
  user?: unknown;
}

/** The facts of a context an event carries, gathered when it is created. */
export interface RequestSnapshot {
  url: string | null;
  method: string | null;
  remoteAddr: string | null;
  userId: string | null;
  queryParams: JsonObject;
  postData: JsonObject;
  headers: JsonObject;
}

/** A snapshot without its user, who is resolved on their own (see `AuditContext.setUser`). */
export type RequestFacts = Omit<RequestSnapshot, "userId">;

function isEmpty(object: object): boolean {
  for (const _ in object) return false;
  return true;
}

/**
 * Applies `sensitivePatterns` to the record's own text columns (the JSON columns and the
 * URL were masked as they were built); the record was just built, so it is changed in place.
 */
function redactColumns(record: AuditEventRecord, masking: MaskRules): void {
  record.contentType = masking.redact(record.contentType);
  record.objectId = masking.redact(record.objectId);
  if (record.userId !== null) record.userId = masking.redact(record.userId);
  if (record.method !== null) record.method = masking.redact(record.method);
  if (record.remoteAddr !== null) record.remoteAddr = masking.redact(record.remoteAddr);
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
 * draft.content.action = "refund";
 * const record = await draft.save();
 * ```
 */
export class AuditEventDraft {
  /** The object the event is about (see `AuditContext.createEvent`). */
  contentObject: unknown;
  /** The event's own content, laid over the context's `extraData`. */
  content: Record<string, unknown>;
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
   * `ERR_AUDIT_CONTENT_OBJECT` / `ERR_AUDIT_SERIALIZE` for unusable input.
   * @throws {AuditStoreError} when the store cannot write it.
   */
  async save(options: CreateEventOptions = {}): Promise<AuditEventRecord> {
    if (this.state !== "draft") {
      throw new AuditError("ERR_AUDIT_DRAFT_SAVED", "This event draft was saved already: create a new one with ctx.newEvent() for another event.");
    }
    this.state = "saving";
    try {
      this.record ??= this.context.buildRecord(this.contentObject, this.content, options.user);
      await writeEvent(this.context, this.record, options.tx);
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
 * await job.createEvent(order, { action: "synced" });
 * ```
 */
export class AuditContext {
  /** Merged into the content of every event of this context; this context's own. */
  extraData: Record<string, unknown>;
  private readonly init: AuditContextInit;
  private readonly initUserId: string | null;
  /** Set by `setUser()`: wins over `init.user` and the request's resolver. */
  private userSet: { id: string | null } | undefined;

  constructor(init: AuditContextInit = {}) {
    if (typeof init !== "object" || init === null) {
      throw new AuditConfigError("new AuditContext() expects an object such as { extraData: { job: \"sync\" } }.");
    }
    this.init = init;
    this.initUserId = explicitUserId(init.user, "new AuditContext({ user })");
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
   * await req.auditContext.createEvent(user, { action: "user.login" });
   * ```
   * @throws {AuditError} `ERR_AUDIT_USER` when `user` names no user (an object with
   * neither `id` nor `sub`, an empty string).
   */
  setUser(user: unknown): void {
    this.userSet = { id: explicitUserId(user, "ctx.setUser()") };
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
    return { ...this.snapshot(config), userId: this.userId(config, undefined) };
  }

  /** Gathers the request facts, but the user, for an event being created now. */
  protected snapshot(config: ResolvedAuditConfig): RequestFacts {
    const { init } = this;
    const headers = Object.fromEntries(Object.entries(init.headers ?? {}).map(([name, value]) => [name.toLowerCase(), value]));
    return {
      url: typeof init.url === "string" ? maskUrl(sanitizeString(init.url), config.masking) : null,
      method: optionalString(init.method),
      remoteAddr: normalizeClientIp(init.remoteAddr),
      queryParams: maskRequestData(init.queryParams, config.masking, config.maxPostDataBytes),
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
   * Builds the record of a new event, whose user is `eventUser` if given; used by drafts.
   * Every event is built here, so this is where it is masked and where each column is
   * bounded to what every database stores (see column-limits.ts): no value, whatever its
   * length, keeps an event out of the store.
   */
  buildRecord(contentObject: unknown, content: Record<string, unknown>, eventUser?: unknown): AuditEventRecord {
    if (typeof content !== "object" || content === null || Array.isArray(content)) {
      throw new AuditError("ERR_AUDIT_CONTENT", "Event content must be a plain object, such as { action: \"refund\" }.");
    }
    const config = this.config();
    const { contentType, objectId } = resolveContentObject(contentObject, config.contentTypeResolver);
    const extraData = this.extraData;
    const { masking } = config;
    const normalizedContent = normalizeContent(isEmpty(extraData) ? content : { ...extraData, ...content }, masking);
    const userId = this.userId(config, eventUser);
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
      action: null,
      outcome: DEFAULT_OUTCOME,
      severity: DEFAULT_SEVERITY,
      tenantId: null,
      requestId: null,
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
   * @example
   * ```ts
   * await req.auditContext.createEvent(order, { action: "refund", amount: order.total });
   * await prisma.$transaction(async (tx) => {
   *   const o = await tx.order.update({ ... });
   *   await ctx.createEvent({ contentType: "Order", objectId: o.id }, { action: "ship" }, { tx });
   * });
   * ```
   * @throws {AuditError} `ERR_AUDIT_CONTENT_OBJECT`, `ERR_AUDIT_CONTENT`, `ERR_AUDIT_SERIALIZE`.
   * @throws {AuditConfigError} `ERR_AUDIT_NO_STORE` when no store is configured.
   * @throws {AuditStoreError} when the store cannot write it.
   */
  createEvent(contentObject: unknown, content: Record<string, unknown> = {}, options: CreateEventOptions = {}): Promise<AuditEventRecord> {
    return new AuditEventDraft(this, contentObject, content).save(options);
  }

  /**
   * Writes an event whose content holds the current values of the named fields of
   * `contentObject`, then `content`: `{ ...extraData, ...fieldValues, ...content }`.
   *
   * @example
   * ```ts
   * await ctx.createFieldsEvent(order, ["status", "total"], { action: "update" });
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
    return new AuditEventDraft(this, contentObject, { ...fieldValues, ...content }).save(options);
  }
}
