import type { JsonObject, JsonValue } from "./model/json";
import { MASK, type MaskRules } from "./mask-rules";
import { maskNamedValues, maskSchemeCredentials } from "./mask-text";
import { maskStringValue } from "./mask-url";
import { maskUserinfo } from "./mask-userinfo";
import { jsonBytes, maskJsonInString, normalizeCapped, sanitizeString, storedKey } from "./serialize";

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
 * never throws: cycles, excessive depth and parts that throw when read (a getter, a
 * `toJSON`, a Proxy's trap) become markers (`UNREADABLE_MARKER` for the last, without
 * what they threw). A body that is not an object
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
  const result = normalizeCapped(data, rules, maxBytes);
  if (result.exceeded) {
    return declaredBytes === undefined ? truncated(result.countedBytes, true) : truncated(declaredBytes, false);
  }
  const normalized = result.value;
  if (normalized === undefined) return {};
  const isObject = normalized !== null && typeof normalized === "object" && !Array.isArray(normalized);
  const stored = isObject ? normalized : { _body: normalized };
  const wrapper = isObject ? 0 : BODY_WRAPPER_BYTES;
  // Serialized to be measured only when its bound does not settle it: most bodies are far below the cap.
  if (result.bytesAtMost + wrapper <= maxBytes) return stored;
  const bytes = jsonBytes(normalized) + wrapper;
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
      : maskStringValue(sanitizeString(Array.isArray(value) ? value.join(", ") : value), rules, maskJsonInString);
    out[storedKey(name)] = text;
  }
  return out;
}

/** The longest a free-text message (a hook's error) is stored, in characters, after masking. */
export const MAX_MESSAGE_CHARS = 500;

/** A word holding a URL or a query, masked as the event's `url`; or percent-encoded text (`%2Freset%3Ftoken%3Dx`, encoded JSON), masked as what it decodes to. */
const URL_WORD = /^(?:[a-z][a-z0-9+.-]*:\/\/|\/|\?)|%[\dA-Fa-f]{2}/i;

/**
 * Returns free text (an error's message) fit to store. The value after a name that
 * `maskFields` or `maskHeaders` masks, matched as keys of content are
 * ({@link MaskRules.isMaskedKey}), becomes {@link MASK}: `token=abc`, `password: "x"`,
 * `apiKey 'y'`, JSON keys in any quoting (`{"password":"x"}`, `{'pin': 1}`, escaped
 * `{\"token\":\"x\"}` of JSON inside a string; quotes are kept around the mask), and an auth
 * scheme with its credentials whole (`Authorization: Bearer eyJ...` →
 * `Authorization: ****************`; {@link AUTH_SCHEMES}). An auth scheme standing alone
 * keeps its name and loses its credential (`sent Bearer eyJ...` → `sent Bearer ****************`).
 * The userinfo of URLs anywhere in the text, and a scheme-less `user:secret@host`, read
 * {@link MASK} (see `maskUserinfo`). Words holding a URL or a query are masked as the
 * event's `url`, and percent-encoded words as what they decode to; `sensitivePatterns` are
 * replaced, lone surrogates and NUL are replaced as in every stored string, and the result
 * is cut to `maxChars` UTF-16 units, never inside a surrogate pair (marked `…[truncated]`). Other text is kept as it was.
 * Linear in the text. Never throws.
 *
 * @example
 * ```ts
 * maskMessage("rules engine said token=abc123", rules); // "rules engine said token=****************"
 * ```
 */
export function maskMessage(text: string, rules: MaskRules, maxChars = MAX_MESSAGE_CHARS): string {
  // URL words first: a masked query value they leave (`?password=****************#top`) is
  // then taken whole as a named value, as it would be when the message is masked again.
  let out = sanitizeString(text)
    .split(/(\s+)/)
    .map((word) => (URL_WORD.test(word) ? maskStringValue(word, rules, maskJsonInString) : word))
    .join("");
  // Userinfo before named values, whose mask would take the `@` and host that mark it.
  out = maskSchemeCredentials(maskNamedValues(maskUserinfo(out), rules));
  if (rules.hasPatterns) out = rules.redact(out);
  if (out.length <= maxChars) return out;
  // Never inside a surrogate pair: its high half alone is not text.
  const last = out.charCodeAt(maxChars - 1);
  const end = last >= 0xd800 && last <= 0xdbff ? maxChars - 1 : maxChars;
  return `${out.slice(0, end)}…[truncated]`;
}

/**
 * {@link maskMessage} for text about to be stored or logged (a hook's error, a refusal's
 * reason), with a last guard: should masking itself fail, a placeholder is stored, never
 * the raw text. Never throws.
 */
export function maskStoredMessage(text: string, rules: MaskRules, maxChars?: number): string {
  try {
    return maskMessage(text, rules, maxChars);
  } catch {
    return "[the text could not be masked, so it is not stored]";
  }
}
