import { AuditError } from "./errors";
import type { JsonObject, JsonValue } from "./model/json";
import { MASK, type MaskRules } from "./mask-rules";
import { maskStringValue } from "./mask-url";

/** How deep a value may nest before it is refused (content) or cut (request data). */
export const MAX_JSON_DEPTH = 100;

/** What stands for a part nested deeper than {@link MAX_JSON_DEPTH}, in content and request data alike. */
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

/** How {@link normalizeJson} treats what JSON cannot hold, and what it masks. */
export interface NormalizeOptions {
  /**
   * `true` for values the developer wrote (event content): a cycle, a function or
   * excessive depth is a bug and throws. `false` for request data, which an attacker
   * controls: such parts are replaced by markers, so a request can never make an
   * event fail.
   */
  strict: boolean;
  /**
   * The configured masking: values under masked keys become {@link MASK}, strings
   * holding a URL are masked as the event's `url` is, and `sensitivePatterns` are
   * replaced in every string.
   */
  rules?: MaskRules;
}

/** Why a capped walk stopped early: the JSON would be larger than its cap. */
class CapExceeded {
  constructor(readonly countedBytes: number) {}
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
  /** The last words of the keys the walk is inside, for names a parser split across keys. */
  private tail: readonly string[] = [];
  /** Bytes the JSON may still take, counted from below; Infinity when uncapped. */
  private remaining: number;

  constructor(
    private readonly options: NormalizeOptions,
    private readonly maxBytes = Infinity,
    /** How many JSON texts held in strings this walk is inside. */
    private readonly jsonTextDepth = 0,
  ) {
    this.remaining = maxBytes;
  }

  /**
   * Counts `bytes` of output against the cap. Every node is charged at least one byte,
   * so a walk visits at most `maxBytes` nodes whatever the input holds.
   */
  private charge(bytes: number): void {
    this.remaining -= bytes;
    if (this.remaining < 0) throw new CapExceeded(this.maxBytes - this.remaining);
  }

  value(input: unknown, depth: number): JsonValue | undefined {
    switch (typeof input) {
      case "string":
        return this.string(input);
      case "number": {
        const value = Number.isFinite(input) ? input : String(input);
        this.charge(String(value).length);
        return value;
      }
      case "boolean":
        this.charge(input ? 4 : 5);
        return input;
      case "bigint":
        return this.string(input.toString());
      case "undefined":
        return undefined;
      case "function":
      case "symbol":
        return this.refuse(`is a ${typeof input}, which JSON cannot store`);
      default:
        if (input === null) {
          this.charge(4);
          return null;
        }
        return this.object(input as object, depth);
    }
  }

  /**
   * A stored string. Its length (a lower bound of its JSON bytes) is charged before any
   * work on it, so a 10 MB string over a 16 KB cap costs a comparison.
   */
  private string(input: string): string {
    this.charge(input.length + 2);
    const text = sanitizeString(input);
    const rules = this.options.rules;
    if (rules === undefined) return text;
    return maskJsonText(text, rules, this.jsonTextDepth) ?? maskStringValue(text, rules);
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
    if (input instanceof Date) {
      if (Number.isNaN(input.getTime())) return this.value(null, depth);
      return this.string(input.toISOString());
    }
    if (ArrayBuffer.isView(input)) {
      this.charge(Math.ceil(input.byteLength / 3) * 4 + 2);
      return Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString("base64");
    }
    if (isDecimalLike(input)) return this.string(input.toFixed());
    // Deep nesting is cut, never refused, even in content: an app that puts a client's
    // body into an event's content must not let that client keep the event out.
    if (depth >= MAX_JSON_DEPTH) return this.string(DEPTH_LIMIT_MARKER);
    if (this.seen.has(input)) {
      return this.options.strict ? this.refuse("refers back to one of its own ancestors (a cycle)") : this.string(CIRCULAR_MARKER);
    }
    this.seen.add(input);
    try {
      this.charge(2);
      if (Array.isArray(input)) return this.array(input, depth);
      if (input instanceof Set) return this.iterable(input.values(), depth);
      if (input instanceof Map) return this.mapEntries(input, depth);
      const toJSON = (input as { toJSON?: unknown }).toJSON;
      if (typeof toJSON === "function") {
        const replacement: unknown = toJSON.call(input);
        if (replacement !== input) return this.value(replacement, depth);
      }
      return this.properties(input as Record<string, unknown>, depth);
    } finally {
      this.seen.delete(input);
    }
  }

  private array(items: readonly unknown[], depth: number): JsonValue[] {
    const out: JsonValue[] = [];
    for (let i = 0; i < items.length; i++) {
      this.charge(i === 0 ? 0 : 1);
      this.path.push(i);
      out.push(this.value(items[i], depth + 1) ?? null);
      this.path.pop();
    }
    return this.maskedPair(out);
  }

  private iterable(items: Iterable<unknown>, depth: number): JsonValue[] {
    const out: JsonValue[] = [];
    for (const item of items) {
      this.charge(out.length === 0 ? 0 : 1);
      this.path.push(out.length);
      out.push(this.value(item, depth + 1) ?? null);
      this.path.pop();
    }
    return this.maskedPair(out);
  }

  private mapEntries(map: Map<unknown, unknown>, depth: number): JsonObject {
    const out: JsonObject = {};
    let first = true;
    for (const [key, item] of map) {
      this.entry(out, String(key), item, depth, first);
      first = false;
    }
    return out;
  }

  private properties(input: Record<string, unknown>, depth: number): JsonObject {
    const out: JsonObject = {};
    // Object.keys is native; the walk below stops at the cap, whatever the key count.
    const keys = Object.keys(input);
    for (let i = 0; i < keys.length; i++) this.entry(out, keys[i]!, input[keys[i]!], depth, i === 0);
    return this.maskedNamedValue(out);
  }

  /**
   * A `[name, value]` pair (`Object.entries`, `URLSearchParams` entries) whose name is
   * masked has its value masked.
   */
  private maskedPair(out: JsonValue[]): JsonValue[] {
    const rules = this.options.rules;
    if (rules !== undefined && out.length === 2 && typeof out[0] === "string" && rules.isMaskedKey(out[0])) out[1] = MASK;
    return out;
  }

  /**
   * A `{ name, value }` object (jQuery's serializeArray, HAR, many settings APIs; also
   * `key` or `field` for the name) whose name is masked has its value masked.
   */
  private maskedNamedValue(out: JsonObject): JsonObject {
    const rules = this.options.rules;
    if (rules === undefined || !Object.hasOwn(out, "value")) return out;
    const name = out.name ?? out.key ?? out.field;
    if (typeof name === "string" && rules.isMaskedKey(name)) out.value = MASK;
    return out;
  }

  /** One property; its key and separators are charged before its value is looked at. */
  private entry(out: JsonObject, rawKey: string, item: unknown, depth: number, first: boolean): void {
    this.charge(rawKey.length + (first ? 3 : 4));
    const key = storedKey(rawKey);
    const rules = this.options.rules;
    if (rules?.isMaskedKey(rawKey, this.tail)) {
      this.charge(MASK.length + 2);
      out[key] = MASK;
      return;
    }
    const parentTail = this.tail;
    if (rules !== undefined) this.tail = rules.pathTail(parentTail, rawKey);
    this.path.push(key);
    const normalized = this.value(item, depth + 1);
    this.path.pop();
    this.tail = parentTail;
    if (normalized !== undefined) out[key] = normalized;
  }
}

/**
 * Turns any value into JSON that every supported database stores as it is:
 * `Date` becomes an ISO string, `bigint` and Prisma `Decimal` strings, `undefined`
 * is dropped, `Map`/`Set` become objects/arrays, byte arrays base64. Never mutates
 * its input; a `__proto__` key is stored as {@link PROTO_KEY}.
 *
 * @throws {AuditError} `ERR_AUDIT_SERIALIZE` in strict mode, for cycles, functions,
 * and symbols; the message names the path. Nesting deeper than {@link MAX_JSON_DEPTH}
 * is cut with {@link DEPTH_LIMIT_MARKER} in both modes.
 */
export function normalizeJson(value: unknown, options: NormalizeOptions): JsonValue | undefined {
  return new Normalizer(options).value(value, 0);
}

/** How many JSON texts inside strings inside JSON texts are looked into. */
const MAX_JSON_TEXT_DEPTH = 3;
const JSON_TEXT_START = /^\s*[[{]/;
const ENCODED_JSON_TEXT_START = /^\s*%(?:7b|5b)/i;

/**
 * A string that holds JSON text (`{"data":"{\"password\":\"x\"}"}`, GraphQL's
 * `variables` in a query string), or percent-encoded JSON text, masked by the same rules
 * and written back the same way when masking changed it; undefined when it holds none.
 */
function maskJsonText(text: string, rules: MaskRules, depth: number): string | undefined {
  if (depth >= MAX_JSON_TEXT_DEPTH) return undefined;
  const encoded = !JSON_TEXT_START.test(text) && ENCODED_JSON_TEXT_START.test(text);
  if (!encoded && !JSON_TEXT_START.test(text)) return undefined;
  let source = text;
  if (encoded) {
    try {
      source = decodeURIComponent(text.replaceAll("+", " "));
    } catch {
      return undefined;
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(source);
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null) return undefined;
  const masked = JSON.stringify(new Normalizer({ strict: false, rules }, Infinity, depth + 1).value(parsed, 0));
  if (masked === JSON.stringify(parsed)) return text;
  return encoded ? encodeURIComponent(masked) : masked;
}

/** What {@link normalizeCapped} made of its input. */
export type CappedJson =
  /** The JSON, and its exact size in UTF-8 bytes (it may still exceed the cap by escapes). */
  | { readonly exceeded: false; readonly value: JsonValue | undefined; readonly bytes: number }
  /** The walk stopped at the cap: the JSON is at least `countedBytes` long. */
  | { readonly exceeded: true; readonly countedBytes: number };

/**
 * {@link normalizeJson} for request data under a size cap: the walk counts a lower bound
 * of the output's JSON size as it goes and stops as soon as that passes `maxBytes`, so its
 * cost follows the cap, not the input (a 10 MB string or 100 000 keys over a 16 KB cap
 * are given up after about 16 KB of work, plus the engine's own listing of an object's
 * keys). Lenient: never throws.
 */
export function normalizeCapped(value: unknown, options: Omit<NormalizeOptions, "strict">, maxBytes: number): CappedJson {
  try {
    const normalized = new Normalizer({ ...options, strict: false }, maxBytes).value(value, 0);
    const bytes = normalized === undefined ? 0 : Buffer.byteLength(JSON.stringify(normalized), "utf8");
    return { exceeded: false, value: normalized, bytes };
  } catch (error) {
    if (error instanceof CapExceeded) return { exceeded: true, countedBytes: error.countedBytes };
    throw error;
  }
}

/**
 * Normalizes event content, which must be a plain object, masking it by `rules`
 * (content and `extraData` follow the same masking as request data).
 *
 * @throws {AuditError} `ERR_AUDIT_CONTENT` when `content` is not an object;
 * `ERR_AUDIT_SERIALIZE` as {@link normalizeJson} in strict mode.
 */
export function normalizeContent(content: Record<string, unknown>, rules?: MaskRules): JsonObject {
  const normalized = normalizeJson(content, { strict: true, rules });
  if (normalized === null || typeof normalized !== "object" || Array.isArray(normalized)) {
    throw new AuditError("ERR_AUDIT_CONTENT", "Event content must be a plain object, such as { action: \"refund\" }.");
  }
  return normalized;
}
