import type { ContentObjectResolver } from "../content-object";
import type { IntegrityKey, IntegrityKeyRing } from "../integrity/integrity-keys";
import type { Enricher } from "../enrichers";
import type { MaskRules, SensitivePattern } from "../mask-rules";
import type { CursorSecret } from "../query/cursor";
import type { AuditStore } from "../stores/store";
import type { AuditMetricsHook } from "../writer/metrics";
import type { AuditLogger, AuditSpool } from "../writer/spool";

/** How `createEvent` writes: see {@link AuditOptions.writeMode}. */
export type WriteMode = "sync" | "buffered";
/** What a full spool does: see {@link AuditOptions.onSpoolFull}. */
export type SpoolFullPolicy = "block" | "drop-oldest" | "throw";

/**
 * The request as a resolver sees it: the Express `req`, or the Koa `ctx`.
 * Typed loosely on purpose, so resolvers can read what the app's own
 * authentication added (`req.user`, `ctx.state.user`, ...).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type ResolverRequest = any;

/**
 * Options of {@link configureAudit}, {@link auditEvents} and {@link koaAuditEvents}:
 * the equivalent of django-audit-events' settings.
 */
export interface AuditOptions {
  /**
   * Where events are written, e.g. `prismaStore(prisma)`. Required before the
   * first event is written (a context may also bring its own).
   */
  store?: AuditStore;
  /**
   * Signs the cursors of `findEvents()` and of the HTTP routers (HMAC-SHA256), so a
   * client can neither forge nor alter one. Give the same secret to every instance
   * for cursors that survive restarts and move between instances. At least 32
   * characters or bytes.
   * @default 32 random bytes made when the process first signs a cursor
   * @example cursorSecret: process.env.AUDIT_CURSOR_SECRET
   */
  cursorSecret?: CursorSecret;
  /**
   * Record the parsed query string in `queryParams`.
   * @default false
   */
  includeQueryParams?: boolean;
  /**
   * Record the parsed request body (JSON, urlencoded, multipart fields) in `postData`.
   * @default false
   */
  includePostData?: boolean;
  /**
   * Names of keys whose values are stored as `MASK`, in every stored place: `postData`,
   * `queryParams`, the query string, fragment and userinfo of `url` (and of any stored
   * string holding a URL, such as a `Referer` header), `headers`, `content` and
   * `extraData`, at any depth and inside arrays. A key matches when, split into words on
   * every character that is not a letter or digit (`[`, `]`, `.`, `-`, `_`, ...), on
   * camelCase and on letter/digit borders, and lower-cased, some run of its words is one
   * of these names split the same way: `password` masks `user[password]`,
   * `passwordConfirmation`, `new_password`; `api_key` masks `apiKey`, `X-API-Key`, `APIKEY`.
   * Replaces the default list; to extend it: `[...DEFAULT_MASK_FIELDS, "iban"]`.
   * @default DEFAULT_MASK_FIELDS (OWASP's never-log kinds: passwords, secrets, tokens, API
   * keys, session ids, card numbers, CVV, SSN, OTP, private keys, ...)
   */
  maskFields?: readonly string[];
  /**
   * The former name of `maskFields`, kept as an alias: give one or the other.
   * @deprecated use `maskFields`.
   */
  maskPostFields?: readonly string[];
  /**
   * Whitelisted headers (see `includeHeaders`) whose values are stored as `MASK`;
   * headers whose name matches `maskFields` are masked too, and `authorization`,
   * `proxy-authorization`, `cookie` and `set-cookie` always are.
   * @default DEFAULT_MASK_HEADERS: authorization, proxy-authorization, cookie, set-cookie,
   * x-api-key, x-auth-token, x-access-token, x-csrf-token
   */
  maskHeaders?: readonly string[];
  /**
   * Each match of a pattern inside any stored string (content, request data, headers,
   * the URL with its path, the object and user ids) is replaced by `[label]`: for
   * secrets that no key names, such as a token in a path segment. Compiled once, here;
   * matched globally. A pattern that matches the empty string is refused.
   * @default []
   * @example sensitivePatterns: [{ label: "reset-token", pattern: /(?<=\/reset-password\/)[^/?#]+/ }]
   */
  sensitivePatterns?: readonly SensitivePattern[];
  /**
   * Header names (case-insensitive) to record in `headers`. Their values are masked
   * by `maskHeaders`, `maskFields` and `sensitivePatterns`.
   * @default []
   */
  includeHeaders?: readonly string[];
  /**
   * Returns the client IP. The default is the framework's own (`req.ip` / `ctx.ip`),
   * which honours `app.set("trust proxy", ...)` / `app.proxy` and never reads
   * `X-Forwarded-For` by itself.
   */
  clientIpResolver?: (req: ResolverRequest) => string | null | undefined;
  /**
   * Returns the acting user: an id, or an object with an `id` (else a `sub`). Called
   * when an event is created, so authentication that runs after the middleware is
   * seen. `ctx.setUser()` and an event's own `user` option win over it.
   * @default the first of `req.user`, `req.auth` (express-jwt), Koa's `ctx.state.user`
   * that has an `id` or a `sub`; a request with an `Authorization` header that has
   * none makes the logger warn, once per process.
   */
  userResolver?: (req: ResolverRequest) => string | number | null | undefined;
  /**
   * Returns the tenant (customer organisation) of the request, stored in `tenantId`:
   * a string (or number), or `null`/`undefined` for none. Called when an event is
   * created, like `userResolver`, so it may read what authentication set. Jobs name
   * theirs with `new AuditContext({ tenantId })`; an event cannot name another.
   * @default none: `tenantId` is null
   * @example tenantResolver: (req) => req.user?.organizationId ?? null
   */
  tenantResolver?: (req: ResolverRequest) => string | number | null | undefined;
  /**
   * The request header whose value is the request id stored in `requestId`. Without it
   * (or when it is not 1 to 191 visible ASCII characters) the trace id of a valid W3C
   * `traceparent` header is taken, else a new UUID v7. Worked out once per request, at
   * its first event (or `ctx.requestId`), so every event of a request shares it. The
   * header comes from the client unless a proxy sets it: behind one that does (nginx's
   * `$request_id`, a load balancer's), name that header.
   * @default "x-request-id"
   */
  requestIdHeader?: string;
  /**
   * Functions that add keys to every event's content (the app's version, a feature
   * flag), in order, before masking: see {@link Enricher}. The event's own content
   * wins over what they add.
   * @default []
   * @example enrichers: [() => ({ appVersion: process.env.APP_VERSION })]
   */
  enrichers?: readonly Enricher[];
  /**
   * Post data (and query parameters) whose JSON is larger than this many bytes after
   * masking is stored as `{ "_truncated": true, "_bytes": <size> }`, `<size>` being the
   * body's `Content-Length` when the request declared one, else the JSON's size (then a
   * lower bound, marked `"_bytesAtLeast": true`). The work of masking stops at this cap,
   * so a huge body costs about as much as a body of this size.
   * @default 16384
   */
  maxPostDataBytes?: number;
  /**
   * Names the content object of an event when none of the built-in ways does
   * (see `createEvent`). Tried first, so it can also override them.
   */
  contentTypeResolver?: ContentObjectResolver;
  /**
   * `"sync"`: `createEvent` resolves once the row is committed; errors reach the
   * caller. `"buffered"`: events are batched in memory and written every
   * `flushIntervalMs` or `maxBatchSize` events; `createEvent` resolves at once, or,
   * with a `spool`, once the event is durable. Events written with `{ tx }` and
   * events of a context with its own store are always written at once.
   * Process-wide: set it with `configureAudit()`.
   * @default "sync"
   */
  writeMode?: WriteMode;
  /**
   * Buffered mode: the longest time an event waits in memory, in ms: a partial batch is
   * written once its oldest event has waited this long (a full batch of `maxBatchSize` at
   * once). With a `spool`, events go to the store as soon as they are spooled. @default 200
   */
  flushIntervalMs?: number;
  /** Buffered mode: events per insert. @default 1000 */
  maxBatchSize?: number;
  /**
   * Buffered mode: beyond this many events in memory, `createEvent` waits
   * (back-pressure) instead of growing memory. @default 100000
   */
  maxBufferedEvents?: number;
  /**
   * Buffered mode: the write-ahead log of the buffered writer, `fileSpool({ path })` or
   * `redisSpool({ url })`. Every event is appended to it first (group commit: events
   * created while an append runs go together in the next one) and `createEvent`
   * resolves once its append returned (a file: written and `fdatasync`ed; Redis: the
   * server's reply); the store is fed from the spool's head, in order, as soon as it holds
   * anything, one write at a time (a `fileSpool`'s lines read back 200 at a time; a
   * `redisSpool`'s from copies in memory, up to `maxBatchSize`), and what the store
   * cannot take waits there, across restarts, until it answers. Durable queues of this kind follow disk
   * buffers of log shippers such as Vector and Fluent Bit. See the README, "Write modes".
   */
  spool?: AuditSpool;
  /**
   * What happens when the spool reaches its `maxBytes`: `"block"` waits until
   * replay frees room (`createEvent` waits), `"drop-oldest"` drops the oldest
   * spooled events (counted in `auditMetrics().dropped` and logged), `"throw"`
   * makes `createEvent` reject with `ERR_AUDIT_SPOOL_FULL`.
   * @default "block"
   */
  onSpoolFull?: SpoolFullPolicy;
  /** Hears every change of `auditMetrics()` as it happens, for a metrics library. */
  onMetrics?: AuditMetricsHook;
  /**
   * Where the write path reports spool troubles, store outages and failing enrichers;
   * its optional `debug` hears each write and flush.
   * @default DEFAULT_LOGGER: `console.warn` and `console.error` (no debug)
   * @example logger: { warn: (m) => log.warn(m), debug: (m) => log.debug(m) }
   */
  logger?: AuditLogger;
  /**
   * `true`: events are built, validated and returned, but nothing is written (not to a
   * context's own store either), and no store is needed: for an application's own
   * tests. Process-wide.
   * @default false
   * @example
   * ```ts
   * configureAudit({ disabled: true });
   * const record = await currentAuditContext().createEvent(order, {}, { action: "ship" }); // not stored
   * ```
   */
  disabled?: boolean;
  /**
   * Tamper evidence: every event written gets `chainId`, `seq`, `prevHash` and `hash`
   * (SHA-256 of its canonical form, linked to the event before it in its writer's chain),
   * and each chain's head is signed (HMAC-SHA256) into `audit_checkpoints` every
   * `checkpointEvery` events, every `checkpointIntervalMs`, and at `closeAudit()`. The
   * design (one chain per writer, positions taken at commit) and what it protects are in
   * docs/integrity.md. The store must have the chain columns and the checkpoint model
   * (migration `20261202000000_audit_events_integrity`). Process-wide.
   * @default none: events are written unsigned
   * @example integrity: { key: process.env.AUDIT_INTEGRITY_KEY }
   * @example integrity: { key: [{ id: "2027-01", secret: newSecret }, { id: "2026-01", secret: oldSecret }] }
   */
  integrity?: IntegrityOptions;
}

/** The `integrity` option of {@link AuditOptions}. */
export interface IntegrityOptions {
  /**
   * The secret that signs checkpoints (at least 32 characters or bytes), or a list of
   * `{ id, secret }` for rotation: the first signs, every one verifies what it signed. An
   * entry without `id` keeps the id a single secret has (`sha256:<16 hex>`), and what a
   * single secret signed verifies under the entry holding that secret, whatever its id.
   */
  key: IntegrityKey;
  /** Sign a chain's head after this many events since its last checkpoint. @default 1000 */
  checkpointEvery?: number;
  /** Sign each chain's head this often when it has new events, in ms. @default 60000 */
  checkpointIntervalMs?: number;
}

/** The `integrity` option resolved: its keys ready for HMAC, and both intervals. */
export interface ResolvedIntegrity {
  readonly keys: IntegrityKeyRing;
  readonly checkpointEvery: number;
  readonly checkpointIntervalMs: number;
}

/** The configuration in force: every option resolved to its value. */
export interface ResolvedAuditConfig {
  readonly store: AuditStore | undefined;
  readonly cursorSecret: CursorSecret | undefined;
  readonly includeQueryParams: boolean;
  readonly includePostData: boolean;
  readonly maskFields: readonly string[];
  /** The same list as `maskFields`, under its former name. */
  readonly maskPostFields: readonly string[];
  readonly maskHeaders: readonly string[];
  readonly sensitivePatterns: readonly SensitivePattern[];
  readonly includeHeaders: readonly string[];
  readonly clientIpResolver: ((req: ResolverRequest) => string | null | undefined) | undefined;
  readonly userResolver: ((req: ResolverRequest) => string | number | null | undefined) | undefined;
  readonly tenantResolver: ((req: ResolverRequest) => string | number | null | undefined) | undefined;
  /** Lower-case. */
  readonly requestIdHeader: string;
  readonly enrichers: readonly Enricher[];
  readonly maxPostDataBytes: number;
  readonly contentTypeResolver: ContentObjectResolver | undefined;
  readonly writeMode: WriteMode;
  readonly flushIntervalMs: number;
  readonly maxBatchSize: number;
  readonly maxBufferedEvents: number;
  readonly spool: AuditSpool | undefined;
  readonly onSpoolFull: SpoolFullPolicy;
  readonly onMetrics: AuditMetricsHook | undefined;
  readonly logger: AuditLogger;
  readonly disabled: boolean;
  readonly integrity: ResolvedIntegrity | undefined;
  /** `maskFields`, `maskHeaders` and `sensitivePatterns`, compiled for lookups. */
  readonly masking: MaskRules;
}
