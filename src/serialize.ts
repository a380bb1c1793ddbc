import { AuditError } from "./errors";
import type { JsonObject, JsonValue } from "./model/json";
import { MASK, type MaskRules } from "./mask-rules";
import { type JsonTextMasker, maskStringValue } from "./mask-url";
import { maskKeyUserinfo, mayHoldUserinfo } from "./mask-userinfo";
import { isPlainText } from "./plain-text";

/** How deep a value may nest before it is refused (content) or cut (request data). */
export const MAX_JSON_DEPTH = 100;

/** What stands for a part nested deeper than {@link MAX_JSON_DEPTH}, in content and request data alike. */
export const DEPTH_LIMIT_MARKER = `[truncated: nested deeper than ${MAX_JSON_DEPTH} levels]`;

/** What stands in request data for a reference back to one of its own ancestors. */
export const CIRCULAR_MARKER = "[circular]";

/**
 * What stands in request data for a part that threw when it was read (a getter, a
 * `toJSON`, a Proxy's trap, an iterator). What it threw is not stored: its message may
 * hold the very value that was being read.
 */
export const UNREADABLE_MARKER = "[unreadable: reading it threw]";

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

/**
 * The most UTF-8 bytes one UTF-16 unit of a string takes in JSON text: a control
 * character's `\u00XX` escape (a character outside ASCII takes at most 3).
 */
const MAX_JSON_BYTES_PER_UNIT = 6;

/**
 * The objects the walks running now are inside, for cycles, and their keys, for messages:
 * one pair of stacks for every walk (a walk inside another, of JSON text in a string, goes
 * on top of it from its own `base`), so that a walk allocates no array of its own. A walk
 * is at most {@link MAX_JSON_DEPTH} deep, so a scan of its part is cheap.
 */
const ancestors: object[] = [];
const path: (string | number)[] = [];

class Normalizer {
  /** Where this walk's part of {@link ancestors} begins. */
  private readonly base = ancestors.length;
  /** Where this walk's part of {@link path} begins. */
  private readonly pathBase = path.length;
  /**
   * UTF-16 units the output has beyond what was charged: a masked string longer than
   * the input (`a=b` → `a=****************`), a renamed `__proto__` key. With the charged
   * bytes it bounds the output's size from above (see {@link bytesAtMost}).
   */
  private grown = 0;
  /** The last words of the keys the walk is inside, for names a parser split across keys. */
  private tail: readonly string[] = [];
  /** Bytes of JSON charged so far: a lower bound of the output's size. */
  private charged = 0;

  constructor(
    private readonly options: NormalizeOptions,
    private readonly maxBytes = Infinity,
    /** How many JSON texts held in strings this walk is inside. */
    private readonly jsonTextDepth = 0,
  ) {}

  /**
   * Counts `bytes` of output against the cap. Every node is charged at least one byte,
   * so a walk visits at most `maxBytes` nodes whatever the input holds.
   */
  private charge(bytes: number): void {
    this.charged += bytes;
    if (this.charged > this.maxBytes) throw new CapExceeded(this.charged);
  }

  /**
   * An upper bound of the output's JSON size in UTF-8 bytes, once the walk is done: every
   * unit of output is charged (or counted in `grown`), and none takes more than
   * {@link MAX_JSON_BYTES_PER_UNIT} bytes.
   */
  bytesAtMost(): number {
    return (this.charged + this.grown) * MAX_JSON_BYTES_PER_UNIT;
  }

  /**
   * The walk of `input`. However it ends (a cap reached, a refusal), the shared stacks are
   * left as it found them.
   */
  walk(input: unknown): JsonValue | undefined {
    try {
      return this.value(input, 0);
    } finally {
      // Left as found unless the walk stopped part way: setting an array's length is not free.
      if (ancestors.length !== this.base) ancestors.length = this.base;
      if (path.length !== this.pathBase) path.length = this.pathBase;
    }
  }

  value(input: unknown, depth: number): JsonValue | undefined {
    switch (typeof input) {
      case "string":
        return this.string(input);
      case "number": {
        if (Number.isFinite(input)) {
          this.charge(String(input).length);
          return input;
        }
        // NaN and the infinities are stored as strings, in quotes.
        this.charge(String(input).length + 2);
        return String(input);
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
    const rules = this.options.rules;
    // Text no masking step acts on skips them all; only sensitivePatterns may still change it.
    const plain = isPlainText(input);
    if (plain && (rules === undefined || !rules.hasPatterns)) return input;
    const text = plain ? input : sanitizeString(input);
    if (rules === undefined) return text;
    const out = plain ? rules.redact(text) : maskStringValue(text, rules, JSON_TEXT_MASKERS[this.jsonTextDepth]!);
    if (out.length > input.length) this.grown += out.length - input.length;
    return out;
  }

  private refuse(why: string): undefined {
    if (this.options.strict) {
      throw new AuditError(
        "ERR_AUDIT_SERIALIZE",
        `Cannot store ${describePath(path.slice(this.pathBase))}: it ${why}. Pass plain data (strings, numbers, booleans, arrays, objects, Date, bigint, Decimal).`,
      );
    }
    return undefined;
  }

  /**
   * An object, or in lenient mode {@link UNREADABLE_MARKER} when reading it threw: the walk
   * goes on with the shared stacks, the key words and the counts as they were before it.
   */
  private object(input: object, depth: number): JsonValue | undefined {
    if (this.options.strict) return this.readObject(input, depth);
    const { charged, grown, tail } = this;
    const pathLength = path.length;
    try {
      return this.readObject(input, depth);
    } catch (error) {
      if (error instanceof CapExceeded) throw error;
      this.charged = charged;
      this.grown = grown;
      this.tail = tail;
      path.length = pathLength;
      return this.string(UNREADABLE_MARKER);
    }
  }

  private readObject(input: object, depth: number): JsonValue | undefined {
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
    if (ancestors.indexOf(input, this.base) !== -1) {
      return this.options.strict ? this.refuse("refers back to one of its own ancestors (a cycle)") : this.string(CIRCULAR_MARKER);
    }
    ancestors.push(input);
    try {
      this.charge(2);
      if (Array.isArray(input)) return this.array(input, depth);
      if (input instanceof Set) return this.iterable(input.values(), depth);
      if (input instanceof Map) return this.mapEntries(input, depth);
      const toJSON = (input as { toJSON?: unknown }).toJSON;
      if (typeof toJSON === "function") {
        const replacement: unknown = toJSON.call(input);
        // A level deeper, so that a toJSON handing out a fresh toJSON forever meets the depth limit.
        if (replacement !== input) return this.value(replacement, depth + 1);
      }
      return this.properties(input as Record<string, unknown>, depth);
    } finally {
      ancestors.pop();
    }
  }

  private array(items: readonly unknown[], depth: number): JsonValue[] {
    const out: JsonValue[] = [];
    for (let i = 0; i < items.length; i++) {
      this.charge(i === 0 ? 0 : 1);
      path.push(i);
      out.push(this.item(items[i], depth));
      path.pop();
    }
    return this.maskedPair(out);
  }

  private iterable(items: Iterable<unknown>, depth: number): JsonValue[] {
    const out: JsonValue[] = [];
    for (const item of items) {
      this.charge(out.length === 0 ? 0 : 1);
      path.push(out.length);
      out.push(this.item(item, depth));
      path.pop();
    }
    return this.maskedPair(out);
  }

  /** An array's item: what JSON cannot hold (undefined, in lenient mode a function) becomes null there. */
  private item(input: unknown, depth: number): JsonValue {
    const value = this.value(input, depth + 1);
    if (value !== undefined) return value;
    this.grown += 4;
    return null;
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
    // for-in rather than Object.keys: a key's enumerability is looked up as the walk reaches
    // it, so a walk stopped at the cap looks at no key past it (Object.keys asks a Proxy for
    // every key's descriptor first). The engine still lists a large object's keys whole,
    // whichever way they are asked for. An inherited enumerable key, which JSON leaves out,
    // is skipped.
    let first = true;
    for (const key in input) {
      if (!Object.hasOwn(input, key)) continue;
      this.entry(out, key, input[key], depth, first);
      first = false;
    }
    return this.maskedNamedValue(out);
  }

  /**
   * A `[name, value]` pair (`Object.entries`, `URLSearchParams` entries) whose name is
   * masked has its value masked.
   */
  private maskedPair(out: JsonValue[]): JsonValue[] {
    const rules = this.options.rules;
    if (rules !== undefined && out.length === 2 && typeof out[0] === "string" && rules.isMaskedKey(out[0])) {
      out[1] = MASK;
      this.grown += MASK.length + 2;
    }
    return out;
  }

  /**
   * A `{ name, value }` object (jQuery's serializeArray, HAR, many settings APIs; also
   * `key` or `field` for the name), or its PascalCase form (`{ Name, Value }`, `{ Key, Value }`:
   * AWS's parameters and tags, .NET's settings), whose name is masked has its value masked.
   */
  private maskedNamedValue(out: JsonObject): JsonObject {
    const rules = this.options.rules;
    if (rules === undefined) return out;
    const valueKey = Object.hasOwn(out, "value") ? "value" : Object.hasOwn(out, "Value") ? "Value" : undefined;
    if (valueKey === undefined) return out;
    const name = valueKey === "value" ? (out.name ?? out.key ?? out.field) : (out.Name ?? out.Key ?? out.Field);
    if (typeof name === "string" && rules.isMaskedKey(name)) {
      out[valueKey] = MASK;
      this.grown += MASK.length + 2;
    }
    return out;
  }

  /**
   * A key that may be text holding a secret itself, as stored: a masked key (a parser read
   * `?password%3Ds3cret` as the key `password=s3cret`; JSON text sent as a key) or one
   * holding an `@` (a map keyed by connection URLs) or what may be userinfo percent-encoded
   * (`?%2F%2Fu%3Asecret%40h`, which a query parser leaves encoded once) is masked as a string is,
   * its userinfo also where a parser cut the key at or inside its host (`maskKeyUserinfo`).
   */
  private textKey(rawKey: string, rules: MaskRules): string {
    const key = storedKey(rawKey);
    return key === PROTO_KEY ? key : maskStringValue(maskKeyUserinfo(key), rules, JSON_TEXT_MASKERS[this.jsonTextDepth]!);
  }

  /** One property; its key and separators are charged before its value is looked at. */
  private entry(out: JsonObject, rawKey: string, item: unknown, depth: number, first: boolean): void {
    this.charge(rawKey.length + (first ? 3 : 4));
    const rules = this.options.rules;
    const masked = rules?.isMaskedKey(rawKey, this.tail) ?? false;
    const key = rules !== undefined && (masked || rawKey.includes("@") || mayHoldUserinfo(rawKey)) ? this.textKey(rawKey, rules) : storedKey(rawKey);
    if (key.length > rawKey.length) this.grown += key.length - rawKey.length;
    if (masked) {
      this.charge(MASK.length + 2);
      out[key] = MASK;
      return;
    }
    const parentTail = this.tail;
    if (rules !== undefined) this.tail = rules.pathTail(parentTail, rawKey);
    path.push(key);
    const normalized = this.value(item, depth + 1);
    path.pop();
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
  return new Normalizer(options).walk(value);
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
  // Most strings start with a printable ASCII character other than `{`, `[` and `%`: no
  // JSON text, without a regular expression run. (Whitespace, ASCII or not, may lead one.)
  const first = text.charCodeAt(0);
  if (first > 0x20 && first < 0x7f && first !== 0x7b && first !== 0x5b && first !== 0x25) return undefined;
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
    // Parsed without the whitespace JSON itself does not allow (a BOM, a no-break space),
    // which JSON_TEXT_START's \s takes as leading JSON text: what is found is what is parsed.
    parsed = JSON.parse(source.trim());
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null) return undefined;
  const masked = JSON.stringify(new Normalizer({ strict: false, rules }, Infinity, depth + 1).walk(parsed));
  if (masked === JSON.stringify(parsed)) return text;
  return encoded ? encodeURIComponent(masked) : masked;
}

/**
 * {@link maskJsonText} for strings met inside as many JSON texts as the index says, one
 * function per depth made once, so that no string's masking allocates one.
 */
const JSON_TEXT_MASKERS: readonly JsonTextMasker[] = Array.from(
  { length: MAX_JSON_TEXT_DEPTH + 1 },
  (_, depth): JsonTextMasker =>
    (text, rules) =>
      maskJsonText(text, rules, depth),
);

/**
 * Masks the JSON text a string holds (`{"password":"x"}`, GraphQL's `variables` in a
 * query string, also percent-encoded) by the rules: what `maskUrl` and `maskStringValue`
 * take to mask JSON text in a URL's query values, in a header, in a message.
 *
 * @example maskUrl("/graphql?variables=%7B%22pin%22%3A1%7D", rules, maskJsonInString) // "/graphql?variables=%7B%22pin%22%3A%22****************%22%7D"
 */
export const maskJsonInString: JsonTextMasker = JSON_TEXT_MASKERS[0]!;

/** What {@link normalizeCapped} made of its input. */
export type CappedJson =
  /**
   * The JSON, and an upper bound of its size in UTF-8 bytes (it may exceed the cap, by
   * escapes and characters outside ASCII): six bytes counted for each UTF-16 unit, so a
   * value far below the cap is known to fit without being serialized.
   */
  | { readonly exceeded: false; readonly value: JsonValue | undefined; readonly bytesAtMost: number }
  /** The walk stopped at the cap: the JSON is at least `countedBytes` long. */
  | { readonly exceeded: true; readonly countedBytes: number };

/**
 * {@link normalizeJson} for request data under a size cap: the walk counts a lower bound
 * of the output's JSON size as it goes and stops as soon as that passes `maxBytes`, so its
 * cost follows the cap, not the input (a 10 MB string or 100 000 keys over a 16 KB cap
 * are given up after about 16 KB of work, plus the engine's own listing of an object's
 * keys). Lenient: never throws; a part that throws when read is stored as
 * {@link UNREADABLE_MARKER}.
 */
export function normalizeCapped(value: unknown, rules: MaskRules | undefined, maxBytes: number): CappedJson {
  const normalizer = new Normalizer({ strict: false, rules }, maxBytes);
  try {
    return { exceeded: false, value: normalizer.walk(value), bytesAtMost: normalizer.bytesAtMost() };
  } catch (error) {
    if (error instanceof CapExceeded) return { exceeded: true, countedBytes: error.countedBytes };
    throw error;
  }
}

/** The size of `value`'s JSON text in UTF-8 bytes (0 for undefined, which has none). */
export function jsonBytes(value: JsonValue | undefined): number {
  return value === undefined ? 0 : Buffer.byteLength(JSON.stringify(value), "utf8");
}

/**
 * How much of an event's content (and `extraData`) is walked and masked, in bytes of its
 * masked JSON: four times the 1 MiB a JSON column stores (`JSON_COLUMN_MAX_BYTES`, which
 * cuts a larger value to its head). Past it the walk stops: an app that puts a client's
 * parsed body into an event must not let that client make the event's masking cost
 * seconds (200 000 keys took 1.5 s) for a record that is cut to 1 MiB anyway.
 */
export const CONTENT_WALK_MAX_BYTES = 4 * 1_048_576;

/**
 * Normalizes event content, which must be a plain object, masking it by `rules`
 * (content and `extraData` follow the same masking as request data). Content whose
 * masked JSON passes `maxBytes` is not walked further: it is stored as
 * `{ _truncated: true, _bytes: <bytes counted>, _bytesAtLeast: true }` (see `TruncatedData`).
 *
 * @param maxBytes where the walk stops. @default {@link CONTENT_WALK_MAX_BYTES}
 * @throws {AuditError} `ERR_AUDIT_CONTENT` when `content` is not an object;
 * `ERR_AUDIT_SERIALIZE` as {@link normalizeJson} in strict mode, for what the walk
 * reached before the cap.
 */
export function normalizeContent(content: Record<string, unknown>, rules?: MaskRules, maxBytes = CONTENT_WALK_MAX_BYTES): JsonObject {
  let normalized: JsonValue | undefined;
  try {
    normalized = new Normalizer({ strict: true, rules }, maxBytes).walk(content);
  } catch (error) {
    if (error instanceof CapExceeded) return { _truncated: true, _bytes: error.countedBytes, _bytesAtLeast: true };
    throw error;
  }
  if (normalized === null || typeof normalized !== "object" || Array.isArray(normalized)) {
    throw new AuditError("ERR_AUDIT_CONTENT", "Event content must be a plain object, such as { action: \"refund\" }.");
  }
  return normalized;
}
