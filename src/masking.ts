import type { JsonObject, JsonValue } from "./model/json";
import { MASK, type MaskRules } from "./mask-rules";
import { maskStringValue } from "./mask-url";
import { normalizeCapped, sanitizeString, storedKey } from "./serialize";

export { MASK } from "./mask-rules";

/** What stands for request data larger than its cap (see {@link maskRequestData}). */
export interface TruncatedData {
  readonly _truncated: true;
  /**
   * The data's size in bytes: the request body's `Content-Length` when the request
   * declared one, else the size of its masked JSON.
   */
  readonly _bytes: number;
  /** Present when `_bytes` is a lower bound: the walk stopped at the cap without a declared size. */
  readonly _bytesAtLeast?: true;
}

/**
 * A body declared larger than this many times the cap is not looked at: its masked JSON
 * could only fit if most of it were whitespace or masked values, and listing the keys of
 * a 100 000-key object alone blocks the event loop for tens of milliseconds.
 */
export const MAX_DECLARED_TO_CAP_RATIO = 4;

/** What `{"_body":` and `}` add to a body that is not an object. */
const BODY_WRAPPER_BYTES = Buffer.byteLength(JSON.stringify({ _body: null })) - 4;

function truncated(bytes: number, atLeast: boolean): JsonObject {
  return atLeast ? { _truncated: true, _bytes: bytes, _bytesAtLeast: true } : { _truncated: true, _bytes: bytes };
}

/**
 * Returns a masked, JSON-safe copy of request data (a parsed body or query): values
 * under masked keys (`maskFields`) become {@link MASK} at any depth and inside arrays,
 * strings holding URLs are masked as the event's `url`, and `sensitivePatterns` are
 * replaced. Data whose JSON would exceed `maxBytes` is replaced by the
 * {@link TruncatedData} marker, and the work stops at the cap. Never mutates `data`,
 * never throws: cycles and excessive depth become markers. A body that is not an object
 * (a JSON array, a text body) is kept under `_body`, since the stored column holds an
 * object.
 *
 * @param declaredBytes the body's size as the request declared it (`Content-Length`),
 * reported in the marker when the data is cut; a body declared larger than
 * {@link MAX_DECLARED_TO_CAP_RATIO} times `maxBytes` is cut without being looked at.
 */
export function maskRequestData(data: unknown, rules: MaskRules, maxBytes = Infinity, declaredBytes?: number): JsonObject {
  if (data === undefined || data === null) return {};
  if (declaredBytes !== undefined && declaredBytes > maxBytes * MAX_DECLARED_TO_CAP_RATIO) return truncated(declaredBytes, false);
  const result = normalizeCapped(data, { rules }, maxBytes);
  if (result.exceeded) {
    return declaredBytes === undefined ? truncated(result.countedBytes, true) : truncated(declaredBytes, false);
  }
  const normalized = result.value;
  if (normalized === undefined) return {};
  const isObject = normalized !== null && typeof normalized === "object" && !Array.isArray(normalized);
  const stored = isObject ? normalized : { _body: normalized };
  const bytes = isObject ? result.bytes : result.bytes + BODY_WRAPPER_BYTES;
  return bytes > maxBytes ? truncated(declaredBytes ?? bytes, false) : stored;
}

/**
 * Picks the whitelisted headers out of `headers` (names compared case-insensitively,
 * stored lower-case). Repeated headers are joined with `, `. Headers named by
 * `maskHeaders` or matching `maskFields` (and always `authorization`,
 * `proxy-authorization`, `cookie` and `set-cookie`) are stored as {@link MASK}; values
 * holding a URL (`referer`) are masked as the event's `url`; `sensitivePatterns` apply.
 */
export function pickHeaders(
  headers: Readonly<Record<string, string | string[] | undefined>>,
  whitelist: readonly string[],
  rules: MaskRules,
): JsonObject {
  const out: JsonObject = {};
  for (const listed of whitelist) {
    const name = listed.toLowerCase();
    const value = Object.hasOwn(headers, name) ? headers[name] : undefined;
    if (value === undefined) continue;
    const text: JsonValue = rules.isMaskedHeader(name)
      ? MASK
      : maskStringValue(sanitizeString(Array.isArray(value) ? value.join(", ") : value), rules);
    out[storedKey(name)] = text;
  }
  return out;
}

/** The longest a free-text message (a hook's error) is stored, in characters, after masking. */
export const MAX_MESSAGE_CHARS = 500;

/**
 * `name=value`, `name: value` or `name "value"` in free text; the value quoted or up to a
 * separator, and never itself a name with a separator (in `failed: password=x` the name
 * is `password`, not `failed`; a URL's `https://` is not taken for one).
 */
const NAMED_VALUE = /([A-Za-z_][\w.\-[\]]*)(\s*[=:]\s*|\s+(?=["']))(?![A-Za-z_][\w.\-[\]]*\s*[=:](?!\/\/))("[^"]*"|'[^']*'|[^\s,;&)]+)/g;

/** A word holding a URL or a query, masked as the event's `url`. */
const URL_WORD = /^(?:[a-z][a-z0-9+.-]*:\/\/|\/|\?)/i;

/**
 * Returns free text (an error's message) fit to store: values named by masked keys
 * (`token=abc`, `password: "x"`, `apiKey 'y'`) become {@link MASK}, words holding a URL
 * or a query are masked as the event's `url`, `sensitivePatterns` are replaced, lone
 * surrogates and NUL are replaced as in every stored string, and the result is cut to `maxChars` characters (marked
 * `…[truncated]`). Never throws.
 *
 * @example
 * ```ts
 * maskMessage("rules engine said token=abc123", rules); // "rules engine said token=****************"
 * ```
 */
export function maskMessage(text: string, rules: MaskRules, maxChars = MAX_MESSAGE_CHARS): string {
  let out = sanitizeString(text).replace(NAMED_VALUE, (all, name: string, separator: string) => (rules.isMaskedKey(name) ? `${name}${separator}${MASK}` : all));
  out = out
    .split(/(\s+)/)
    .map((word) => (URL_WORD.test(word) ? maskStringValue(word, rules) : word))
    .join("");
  if (rules.hasPatterns) out = rules.redact(out);
  return out.length > maxChars ? `${out.slice(0, maxChars)}…[truncated]` : out;
}
