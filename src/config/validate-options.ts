import { AuditConfigError } from "../errors";
import type { SensitivePattern } from "../mask-rules";
import { CURSOR_SECRET_EXAMPLE, isCursorSecret } from "../query/cursor";
import type { AuditStore } from "../stores/store";
import type { AuditLogger, AuditSpool } from "../writer/spool";
import { DEFAULT_CHECKPOINT_EVERY, DEFAULT_CHECKPOINT_INTERVAL_MS, DEFAULT_MAX_BATCH_SIZE, DEFAULT_MAX_BUFFERED_EVENTS } from "./defaults";
import type { AuditOptions, IntegrityOptions } from "./options";
import { suggestion } from "./suggestion";
import { receivedValue } from "../received-value";

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
  | "sensitivePatterns"
  | "headerName"
  | "functionArray"
  | "integrity";

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
  tenantResolver: "function",
  requestIdHeader: "headerName",
  enrichers: "functionArray",
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
  integrity: "integrity",
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
  "integrity",
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
  headerName: '"x-correlation-id"',
  functionArray: "[(event, ctx) => ({ appVersion: \"1.4.2\" })]",
  integrity: "{ key: process.env.AUDIT_INTEGRITY_KEY, checkpointEvery: 1000 }",
};

/**
 * Examples for options whose kind's example would mislead: a list of header names to record
 * must not show secrets' names, which `maskFields` takes.
 */
const KEY_EXAMPLES: Readonly<Partial<Record<keyof AuditOptions, string>>> = {
  includeHeaders: '["user-agent", "x-request-id"]',
  maskHeaders: '["x-session-token"]',
  maskPostFields: '["password", "token"] (the former name of maskFields)',
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
  logger: "an object with a warn(message) method (and optional error(message) and debug(message) methods)",
  sensitivePatterns: "an array of { label: string, pattern: RegExp } whose patterns do not match the empty string",
  headerName: "an HTTP header name (letters, digits and !#$%&'*+-.^_`|~)",
  functionArray: "an array of functions",
  integrity: "an object { key, checkpointEvery?, checkpointIntervalMs? }",
};

/** An HTTP header name: RFC 9110's `token`. */
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

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
    case "logger": {
      if (typeof value !== "object" || value === null) return false;
      const { warn, error, debug } = value as AuditLogger;
      return typeof warn === "function" && (error === undefined || typeof error === "function") && (debug === undefined || typeof debug === "function");
    }
    case "sensitivePatterns":
      return Array.isArray(value) && value.every(isSensitivePattern);
    case "headerName":
      return typeof value === "string" && HEADER_NAME.test(value);
    case "functionArray":
      return Array.isArray(value) && value.every((v) => typeof v === "function");
    case "integrity":
      return typeof value === "object" && value !== null && !Array.isArray(value);
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
    throw new AuditConfigError(`${where} expects an options object, got ${receivedValue(options)}.`);
  }
  for (const [key, value] of Object.entries(options)) {
    const kind = Object.hasOwn(OPTION_KINDS, key) ? OPTION_KINDS[key as keyof AuditOptions] : undefined;
    if (kind === undefined) {
      if (key === "requestEvents") {
        throw new AuditConfigError(`${where}: requestEvents is an option of the middleware, which sees each request: write app.use(auditEvents({ requestEvents: true })) (koaAuditEvents, fastifyAuditEvents alike).`);
      }
      throw new AuditConfigError(`${where}: unknown option "${key}".${suggestion(key, Object.keys(OPTION_KINDS))} Known options: ${Object.keys(OPTION_KINDS).join(", ")}.`);
    }
    if (value !== undefined && !isValid(kind, value)) {
      throw new AuditConfigError(`${where}: option "${key}" must be ${EXPECTED[kind]}, got ${receivedValue(value)}. For example: ${key}: ${KEY_EXAMPLES[key as keyof AuditOptions] ?? EXAMPLES[kind]}.`);
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
  if (given.integrity !== undefined) validateIntegrity(given.integrity, where);
  if (given.spool !== undefined && given.writeMode !== "buffered") {
    throw new AuditConfigError(`${where}: a spool keeps events of the buffered writer; add writeMode: "buffered", or remove the spool.`);
  }
  return given;
}

const INTEGRITY_KEYS: readonly (keyof IntegrityOptions)[] = ["key", "checkpointEvery", "checkpointIntervalMs"];

/**
 * Checks the `integrity` option's keys and intervals (its key is checked as it is
 * resolved, by `resolveIntegrityKeys`).
 *
 * @throws {AuditConfigError} naming the option and the fix.
 */
function validateIntegrity(integrity: IntegrityOptions, where: string): void {
  for (const key of Object.keys(integrity)) {
    if (!(INTEGRITY_KEYS as readonly string[]).includes(key)) {
      throw new AuditConfigError(`${where}: unknown option "integrity.${key}".${suggestion(key, INTEGRITY_KEYS)} Its options are ${INTEGRITY_KEYS.join(", ")}.`);
    }
  }
  if (integrity.key === undefined) {
    throw new AuditConfigError(`${where}: integrity needs a key. For example: integrity: ${EXAMPLES.integrity}.`);
  }
  for (const key of ["checkpointEvery", "checkpointIntervalMs"] as const) {
    const value = integrity[key];
    if (value !== undefined && !isValid("positiveInteger", value)) {
      throw new AuditConfigError(`${where}: option "integrity.${key}" must be a positive integer, got ${receivedValue(value)}. For example: integrity: { key, ${key}: ${key === "checkpointEvery" ? DEFAULT_CHECKPOINT_EVERY : DEFAULT_CHECKPOINT_INTERVAL_MS} }.`);
    }
  }
}
