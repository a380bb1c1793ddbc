import { AuditConfigError } from "./errors";
import type { ContentObjectResolver } from "./content-object";
import { DEFAULT_MASK_FIELDS, DEFAULT_MASK_HEADERS, MaskRules, type SensitivePattern } from "./mask-rules";
import { CURSOR_SECRET_EXAMPLE, isCursorSecret, type CursorSecret } from "./query/cursor";
import type { AuditStore } from "./stores/store";
import type { AuditMetricsHook } from "./writer/metrics";
import type { AuditLogger, AuditSpool } from "./writer/spool";

/** Default of `includeQueryParams`. */
export const DEFAULT_INCLUDE_QUERY_PARAMS = false;
/** Default of `includePostData`. */
export const DEFAULT_INCLUDE_POST_DATA = false;
/** Default of `maskPostFields`, the former name of `maskFields`: {@link DEFAULT_MASK_FIELDS}. */
export const DEFAULT_MASK_POST_FIELDS: readonly string[] = DEFAULT_MASK_FIELDS;
/** Default of `includeHeaders`. */
export const DEFAULT_INCLUDE_HEADERS: readonly string[] = Object.freeze([]);
/** Default of `maxPostDataBytes`. */
export const DEFAULT_MAX_POST_DATA_BYTES = 16384;
/** Default of `writeMode`. */
export const DEFAULT_WRITE_MODE = "sync";
/** Default of `flushIntervalMs`. */
export const DEFAULT_FLUSH_INTERVAL_MS = 200;
/** Default of `maxBatchSize`. */
export const DEFAULT_MAX_BATCH_SIZE = 1000;
/** Default of `maxBufferedEvents`. */
export const DEFAULT_MAX_BUFFERED_EVENTS = 100_000;
/** Default of `onSpoolFull`. */
export const DEFAULT_ON_SPOOL_FULL = "block";
/** Default of `disabled`. */
export const DEFAULT_DISABLED = false;

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
  /** Buffered mode: the longest time an event waits in memory. @default 200 */
  flushIntervalMs?: number;
  /** Buffered mode: events per insert. @default 1000 */
  maxBatchSize?: number;
  /**
   * Buffered mode: beyond this many events in memory, `createEvent` waits
   * (back-pressure) instead of growing memory. @default 100000
   */
  maxBufferedEvents?: number;
  /**
   * Buffered mode: durable local storage for events the store cannot take now,
   * replayed in order when it answers again: `fileSpool({ path })` or `redisSpool({ url })`.
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
  /** Where the write path reports spool troubles and store outages. @default console */
  logger?: AuditLogger;
  /**
   * `true`: events are built, validated and returned, but nothing is written (not to a
   * context's own store either), and no store is needed: for an application's own
   * tests. Process-wide.
   * @default false
   * @example
   * ```ts
   * configureAudit({ disabled: true });
   * const record = await currentAuditContext().createEvent(order, { action: "ship" }); // not stored
   * ```
   */
  disabled?: boolean;
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
  /** `maskFields`, `maskHeaders` and `sensitivePatterns`, compiled for lookups. */
  readonly masking: MaskRules;
}

type OptionKind =
  | "boolean"
  | "function"
  | "stringArray"
  | "positiveInteger"
  | "store"
  | "secret"
  | "writeMode"
  | "spool"
  | "spoolFullPolicy"
  | "logger"
  | "sensitivePatterns";

const OPTION_KINDS: Readonly<Record<keyof AuditOptions, OptionKind>> = {
  store: "store",
  cursorSecret: "secret",
  includeQueryParams: "boolean",
  includePostData: "boolean",
  maskFields: "stringArray",
  maskPostFields: "stringArray",
  maskHeaders: "stringArray",
  sensitivePatterns: "sensitivePatterns",
  includeHeaders: "stringArray",
  clientIpResolver: "function",
  userResolver: "function",
  maxPostDataBytes: "positiveInteger",
  contentTypeResolver: "function",
  writeMode: "writeMode",
  flushIntervalMs: "positiveInteger",
  maxBatchSize: "positiveInteger",
  maxBufferedEvents: "positiveInteger",
  spool: "spool",
  onSpoolFull: "spoolFullPolicy",
  onMetrics: "function",
  logger: "logger",
  disabled: "boolean",
};

/** Options that set up the process's one write path: `configureAudit()` only. */
export const PROCESS_WIDE_OPTIONS: readonly (keyof AuditOptions)[] = [
  "writeMode",
  "flushIntervalMs",
  "maxBatchSize",
  "maxBufferedEvents",
  "spool",
  "onSpoolFull",
  "onMetrics",
  "logger",
  "disabled",
];

const WRITE_MODES: readonly string[] = ["sync", "buffered"];
const SPOOL_FULL_POLICIES: readonly string[] = ["block", "drop-oldest", "throw"];

const EXAMPLES: Readonly<Record<OptionKind, string>> = {
  boolean: "true",
  function: "(req) => ...",
  stringArray: '["password", "token"]',
  positiveInteger: "16384",
  store: "prismaStore(prisma)",
  secret: CURSOR_SECRET_EXAMPLE.slice("cursorSecret: ".length),
  writeMode: '"buffered"',
  spool: 'fileSpool({ path: "/var/spool/myapp/audit.log" })',
  spoolFullPolicy: '"block"',
  logger: "{ warn: (message) => log.warn(message) }",
  sensitivePatterns: '[{ label: "email", pattern: /[^\\s@]+@[^\\s@]+\\.[^\\s@]+/ }]',
};

const EXPECTED: Readonly<Record<OptionKind, string>> = {
  boolean: "a boolean",
  function: "a function",
  stringArray: "an array of non-empty strings",
  positiveInteger: "a positive integer",
  store: "an AuditStore",
  secret: "a string of at least 32 characters or a Buffer of at least 32 bytes",
  writeMode: `one of ${WRITE_MODES.map((m) => JSON.stringify(m)).join(", ")}`,
  spool: "an AuditSpool",
  spoolFullPolicy: `one of ${SPOOL_FULL_POLICIES.map((m) => JSON.stringify(m)).join(", ")}`,
  logger: "an object with a warn(message) method",
  sensitivePatterns: "an array of { label: string, pattern: RegExp } whose patterns do not match the empty string",
};

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

/**
 * `' Did you mean "<name>"?'` for the known name closest to a mistyped `key` (at most
 * three edits away, or one that the key starts with, as `modelName` does `model`), else "".
 *
 * @example
 * ```ts
 * suggestion("includeHeader"); // ' Did you mean "includeHeaders"?'
 * ```
 */
export function suggestion(key: string, knownNames: readonly string[] = Object.keys(OPTION_KINDS)): string {
  const lower = key.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const known of knownNames) {
    const distance = editDistance(lower, known.toLowerCase());
    if (distance < bestDistance) [best, bestDistance] = [known, distance];
  }
  best = bestDistance <= 3 ? best : knownNames.find((known) => lower.startsWith(known.toLowerCase()));
  return best !== undefined ? ` Did you mean "${best}"?` : "";
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "string" ? `the string ${JSON.stringify(value)}` : `a ${typeof value}`;
}

function isSensitivePattern(entry: unknown): boolean {
  if (typeof entry !== "object" || entry === null) return false;
  const { label, pattern } = entry as Partial<SensitivePattern>;
  if (typeof label !== "string" || label.length === 0 || !(pattern instanceof RegExp)) return false;
  return !new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, "")).test("");
}

function isValid(kind: OptionKind, value: unknown): boolean {
  switch (kind) {
    case "boolean":
      return typeof value === "boolean";
    case "function":
      return typeof value === "function";
    case "stringArray":
      return Array.isArray(value) && value.every((v) => typeof v === "string" && v.length > 0);
    case "positiveInteger":
      return Number.isSafeInteger(value) && (value as number) > 0;
    case "store":
      return typeof value === "object" && value !== null && typeof (value as AuditStore).insert === "function";
    case "secret":
      return isCursorSecret(value);
    case "writeMode":
      return WRITE_MODES.includes(value as string);
    case "spool":
      return typeof value === "object" && value !== null && typeof (value as AuditSpool).append === "function";
    case "spoolFullPolicy":
      return SPOOL_FULL_POLICIES.includes(value as string);
    case "logger":
      return typeof value === "object" && value !== null && typeof (value as AuditLogger).warn === "function";
    case "sensitivePatterns":
      return Array.isArray(value) && value.every(isSensitivePattern);
  }
}

/**
 * Checks partial options: every key known, every value of the right type. Keys whose
 * value is `undefined` count as not given.
 *
 * @throws {AuditConfigError} naming the option and the fix.
 */
export function validateOptions(options: unknown, where: string): Partial<AuditOptions> {
  if (options === undefined) return {};
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new AuditConfigError(`${where} expects an options object, got ${describe(options)}.`);
  }
  for (const [key, value] of Object.entries(options)) {
    const kind = Object.hasOwn(OPTION_KINDS, key) ? OPTION_KINDS[key as keyof AuditOptions] : undefined;
    if (kind === undefined) {
      throw new AuditConfigError(`${where}: unknown option "${key}".${suggestion(key)} Known options: ${Object.keys(OPTION_KINDS).join(", ")}.`);
    }
    if (value !== undefined && !isValid(kind, value)) {
      throw new AuditConfigError(`${where}: option "${key}" must be ${EXPECTED[kind]}, got ${describe(value)}. For example: ${key}: ${EXAMPLES[kind]}.`);
    }
  }
  const given = options as Partial<AuditOptions>;
  if (given.maskFields !== undefined && given.maskPostFields !== undefined) {
    throw new AuditConfigError(`${where}: maskPostFields is the former name of maskFields; give only maskFields.`);
  }
  const batch = given.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE;
  const buffered = given.maxBufferedEvents ?? DEFAULT_MAX_BUFFERED_EVENTS;
  if (buffered < batch) {
    throw new AuditConfigError(`${where}: maxBufferedEvents (${buffered}) must be at least maxBatchSize (${batch}); raise maxBufferedEvents or lower maxBatchSize.`);
  }
  if (given.spool !== undefined && given.writeMode !== "buffered") {
    throw new AuditConfigError(`${where}: a spool keeps events of the buffered writer; add writeMode: "buffered", or remove the spool.`);
  }
  return given;
}

type MaskingConfig = Pick<ResolvedAuditConfig, "maskFields" | "maskPostFields" | "maskHeaders" | "sensitivePatterns" | "masking">;

/** The masking options, compiled once; a layer that sets none of them keeps its base's rules. */
function resolveMasking(options: Partial<AuditOptions>, base: ResolvedAuditConfig | undefined): MaskingConfig {
  const { maskFields: fields, maskPostFields, maskHeaders: headers, sensitivePatterns: patterns } = options;
  if (base !== undefined && fields === undefined && maskPostFields === undefined && headers === undefined && patterns === undefined) {
    const { maskFields, maskHeaders, sensitivePatterns, masking } = base;
    return { maskFields, maskPostFields: maskFields, maskHeaders, sensitivePatterns, masking };
  }
  const maskFields = Object.freeze([...(fields ?? maskPostFields ?? base?.maskFields ?? DEFAULT_MASK_FIELDS)]);
  const maskHeaders = Object.freeze((headers ?? base?.maskHeaders ?? DEFAULT_MASK_HEADERS).map((h) => h.toLowerCase()));
  const sensitivePatterns = Object.freeze([...(patterns ?? base?.sensitivePatterns ?? [])]);
  const masking = new MaskRules(maskFields, maskHeaders, sensitivePatterns);
  return { maskFields, maskPostFields: maskFields, maskHeaders, sensitivePatterns, masking };
}

/** Resolves validated options over `base` (or over the defaults). */
export function resolveOptions(options: Partial<AuditOptions>, base?: ResolvedAuditConfig): ResolvedAuditConfig {
  const maskingOptions = resolveMasking(options, base);
  const includeHeaders = Object.freeze(
    (options.includeHeaders ?? base?.includeHeaders ?? DEFAULT_INCLUDE_HEADERS).map((h) => h.toLowerCase()),
  );
  return Object.freeze({
    store: options.store ?? base?.store,
    cursorSecret: options.cursorSecret ?? base?.cursorSecret,
    includeQueryParams: options.includeQueryParams ?? base?.includeQueryParams ?? DEFAULT_INCLUDE_QUERY_PARAMS,
    includePostData: options.includePostData ?? base?.includePostData ?? DEFAULT_INCLUDE_POST_DATA,
    ...maskingOptions,
    includeHeaders,
    clientIpResolver: options.clientIpResolver ?? base?.clientIpResolver,
    userResolver: options.userResolver ?? base?.userResolver,
    maxPostDataBytes: options.maxPostDataBytes ?? base?.maxPostDataBytes ?? DEFAULT_MAX_POST_DATA_BYTES,
    contentTypeResolver: options.contentTypeResolver ?? base?.contentTypeResolver,
    writeMode: options.writeMode ?? base?.writeMode ?? DEFAULT_WRITE_MODE,
    flushIntervalMs: options.flushIntervalMs ?? base?.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS,
    maxBatchSize: options.maxBatchSize ?? base?.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE,
    maxBufferedEvents: options.maxBufferedEvents ?? base?.maxBufferedEvents ?? DEFAULT_MAX_BUFFERED_EVENTS,
    spool: options.spool ?? base?.spool,
    onSpoolFull: options.onSpoolFull ?? base?.onSpoolFull ?? DEFAULT_ON_SPOOL_FULL,
    onMetrics: options.onMetrics ?? base?.onMetrics,
    logger: options.logger ?? base?.logger ?? console,
    disabled: options.disabled ?? base?.disabled ?? DEFAULT_DISABLED,
  });
}

let current: ResolvedAuditConfig = resolveOptions({});
let version = 0;
const listeners: ((config: ResolvedAuditConfig) => void)[] = [];

/** Calls `listener` with the new configuration after each `configureAudit()`. */
export function onConfigure(listener: (config: ResolvedAuditConfig) => void): void {
  listeners.push(listener);
}

/**
 * Sets the process-wide configuration. Each call replaces the last one entirely:
 * options not given take their defaults.
 *
 * @example
 * ```ts
 * configureAudit({ store: prismaStore(prisma), includePostData: true, includeHeaders: ["user-agent"] });
 * ```
 * @throws {AuditConfigError} for unknown options or values of the wrong type.
 */
export function configureAudit(options: AuditOptions): void {
  current = resolveOptions(validateOptions(options, "configureAudit()"));
  version++;
  for (const listener of listeners) listener(current);
}

/**
 * Returns the configuration in force, every option resolved.
 *
 * @example
 * ```ts
 * getAuditConfig().maskFields // DEFAULT_MASK_FIELDS
 * ```
 */
export function getAuditConfig(): ResolvedAuditConfig {
  return current;
}

/**
 * Middleware options laid over whatever `configureAudit()` has set, re-resolved only
 * when the process-wide configuration changes, so a request pays a comparison.
 */
export class LayeredConfig {
  private resolvedFor = -1;
  private resolved: ResolvedAuditConfig = current;

  constructor(private readonly overrides: Partial<AuditOptions>) {}

  /** The configuration a request context uses now. */
  get(): ResolvedAuditConfig {
    if (this.resolvedFor !== version) {
      this.resolved = resolveOptions(this.overrides, current);
      this.resolvedFor = version;
    }
    return this.resolved;
  }
}
