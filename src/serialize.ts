import { AuditError } from "./errors";
import type { JsonObject, JsonValue } from "./json";

/** How deep a value may nest before it is refused (content) or cut (request data). */
export const MAX_JSON_DEPTH = 100;

/** What stands in request data for a part nested deeper than {@link MAX_JSON_DEPTH}. */
export const DEPTH_LIMIT_MARKER = `[truncated: nested deeper than ${MAX_JSON_DEPTH} levels]`;

/** What stands in request data for a reference back to one of its own ancestors. */
export const CIRCULAR_MARKER = "[circular]";

/**
 * What a `__proto__` key is stored as. Prisma drops such keys from JSON silently
 * and plain assignment would change an object's prototype, so the key is renamed
 * where everyone can see it instead of being lost.
 */
export const PROTO_KEY = "[__proto__]";

/** Replaces NUL, which PostgreSQL cannot store in JSON text, by the visible symbol for it. */
const NUL_REPLACEMENT = "\u2400";

/** How {@link normalizeJson} treats what JSON cannot hold. */
export interface NormalizeOptions {
  /**
   * `true` for values the developer wrote (event content): a cycle, a function or
   * excessive depth is a bug and throws. `false` for request data, which an attacker
   * controls: such parts are replaced by markers, so a request can never make an
   * event fail.
   */
  strict: boolean;
  /** Lower-case keys whose values are replaced by `mask`, at any depth. */
  maskKeys?: ReadonlySet<string>;
  /** The replacement for masked values. */
  mask?: string;
}

/**
 * Returns `text` safe to store in every database's JSON column: NUL becomes U+2400
 * and lone UTF-16 surrogates become U+FFFD. Everything else is kept as it is.
 */
export function sanitizeString(text: string): string {
  let out = text.isWellFormed() ? text : text.toWellFormed();
  if (out.includes("\u0000")) out = out.replaceAll("\u0000", NUL_REPLACEMENT);
  return out;
}

/** A JSON object key as stored: sanitized, and `__proto__` renamed to {@link PROTO_KEY}. */
export function storedKey(key: string): string {
  return key === "__proto__" ? PROTO_KEY : sanitizeString(key);
}

function isDecimalLike(value: object): value is { toFixed(): string } {
  const v = value as Record<string, unknown>;
  return (
    typeof v.toFixed === "function" &&
    typeof v.isNaN === "function" &&
    "d" in v &&
    "e" in v &&
    "s" in v
  );
}

function describePath(path: readonly (string | number)[]): string {
  if (path.length === 0) return "the value";
  return path.map((p) => (typeof p === "number" ? `[${p}]` : `.${p}`)).join("").replace(/^\./, "");
}

class Normalizer {
  private readonly seen = new Set<object>();
  private readonly path: (string | number)[] = [];

  constructor(private readonly options: NormalizeOptions) {}

  value(input: unknown, depth: number): JsonValue | undefined {
    switch (typeof input) {
      case "string":
        return sanitizeString(input);
      case "number":
        return Number.isFinite(input) ? input : String(input);
      case "boolean":
        return input;
      case "bigint":
        return input.toString();
      case "undefined":
        return undefined;
      case "function":
      case "symbol":
        return this.refuse(`is a ${typeof input}, which JSON cannot store`);
      default:
        return input === null ? null : this.object(input as object, depth);
    }
  }

  private refuse(why: string): undefined {
    if (this.options.strict) {
      throw new AuditError(
        "ERR_AUDIT_SERIALIZE",
        `Cannot store ${describePath(this.path)}: it ${why}. Pass plain data (strings, numbers, booleans, arrays, objects, Date, bigint, Decimal).`,
      );
    }
    return undefined;
  }

  private object(input: object, depth: number): JsonValue | undefined {
    if (input instanceof Date) return Number.isNaN(input.getTime()) ? null : input.toISOString();
    if (ArrayBuffer.isView(input)) {
      return Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString("base64");
    }
    if (isDecimalLike(input)) return input.toFixed();
    if (depth >= MAX_JSON_DEPTH) {
      return this.options.strict
        ? this.refuse(`is nested deeper than ${MAX_JSON_DEPTH} levels`)
        : DEPTH_LIMIT_MARKER;
    }
    if (this.seen.has(input)) {
      return this.options.strict ? this.refuse("refers back to one of its own ancestors (a cycle)") : CIRCULAR_MARKER;
    }
    this.seen.add(input);
    try {
      if (Array.isArray(input)) return this.array(input, depth);
      if (input instanceof Set) return this.array([...input], depth);
      if (input instanceof Map) return this.entries([...input].map(([k, v]) => [String(k), v]), depth);
      const toJSON = (input as { toJSON?: unknown }).toJSON;
      if (typeof toJSON === "function") {
        const replacement: unknown = toJSON.call(input);
        if (replacement !== input) return this.value(replacement, depth);
      }
      return this.entries(Object.entries(input), depth);
    } finally {
      this.seen.delete(input);
    }
  }

  private array(items: readonly unknown[], depth: number): JsonValue[] {
    const out: JsonValue[] = new Array(items.length);
    for (let i = 0; i < items.length; i++) {
      this.path.push(i);
      out[i] = this.value(items[i], depth + 1) ?? null;
      this.path.pop();
    }
    return out;
  }

  private entries(entries: [string, unknown][], depth: number): JsonObject {
    const { maskKeys, mask } = this.options;
    const out: JsonObject = {};
    for (const [rawKey, item] of entries) {
      const key = storedKey(rawKey);
      if (maskKeys !== undefined && mask !== undefined && maskKeys.has(rawKey.toLowerCase())) {
        out[key] = mask;
        continue;
      }
      this.path.push(key);
      const normalized = this.value(item, depth + 1);
      this.path.pop();
      if (normalized !== undefined) out[key] = normalized;
    }
    return out;
  }
}

/**
 * Turns any value into JSON that every supported database stores as it is:
 * `Date` becomes an ISO string, `bigint` and Prisma `Decimal` strings, `undefined`
 * is dropped, `Map`/`Set` become objects/arrays, byte arrays base64. Never mutates
 * its input; a `__proto__` key is stored as {@link PROTO_KEY}.
 *
 * @throws {AuditError} `ERR_AUDIT_SERIALIZE` in strict mode, for cycles, functions,
 * symbols and nesting deeper than {@link MAX_JSON_DEPTH}; the message names the path.
 */
export function normalizeJson(value: unknown, options: NormalizeOptions): JsonValue | undefined {
  return new Normalizer(options).value(value, 0);
}

/**
 * Normalizes event content, which must be a plain object.
 *
 * @throws {AuditError} `ERR_AUDIT_CONTENT` when `content` is not an object;
 * `ERR_AUDIT_SERIALIZE` as {@link normalizeJson} in strict mode.
 */
export function normalizeContent(content: Record<string, unknown>): JsonObject {
  const normalized = normalizeJson(content, { strict: true });
  if (normalized === null || typeof normalized !== "object" || Array.isArray(normalized)) {
    throw new AuditError("ERR_AUDIT_CONTENT", "Event content must be a plain object, such as { action: \"refund\" }.");
  }
  return normalized;
}
