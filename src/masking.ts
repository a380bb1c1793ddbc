import type { JsonObject, JsonValue } from "./model/json";
import { AUTH_SCHEMES, MASK, type MaskRules } from "./mask-rules";
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

/** A name in free text: a word that may hold dots, dashes and brackets (`user.password`, `X-Api-Key`, `user[pin]`). */
const NAME = String.raw`[A-Za-z_][\w.\-[\]]*`;

/** `text` as a pattern matching it in any letter case (`Bearer` → `[Bb][Ee]...`), so that the rest of a pattern keeps its case. */
function anyCase(text: string): string {
  return text.replace(/[A-Za-z]/g, (c) => `[${c.toUpperCase()}${c.toLowerCase()}]`).replace(/-/g, "\\-");
}

/** {@link AUTH_SCHEMES} as an alternation in any letter case, longest first. */
const SCHEME = `(?:${[...AUTH_SCHEMES].sort((a, b) => b.length - a.length).map(anyCase).join("|")})`;

/**
 * One `name=value` auth-param of a scheme's credentials (RFC 9110 `auth-param`): Digest's
 * `response="..."`. Without the spaces the RFC allows around `=`, so that a base64
 * credential's padding (`Bearer abc= failed`) is not read as a param whose value is the
 * next word.
 */
const AUTH_PARAM = String.raw`[\w!#$%&*+.^|~-]+=(?:"(?:[^"\\]|\\.)*"|[^\s,;"]+)`;

/** What follows an auth scheme: a comma-separated list of auth-params, or a `token68` (a JWT, base64). */
const CREDENTIALS = String.raw`(?:${AUTH_PARAM}(?:\s*,\s*${AUTH_PARAM})*|[A-Za-z0-9\-._~+/]+=*)`;

/**
 * `name=`, `name:` or `name "` in free text, the name bare or quoted as in JSON (`"name":`,
 * `'name' :`, and `\"name\":` of JSON inside a string), never starting inside another word.
 */
const NAMED = new RegExp(String.raw`(?<![\w.\-[\]])(?<open>\\?["']?)(?<name>${NAME})\k<open>(?:\s*[=:]\s*|\s+(?=\\?["']))`, "g");

/**
 * The value after a masked name, first match wins: an auth scheme and its credentials
 * (`Bearer eyJ...`, `Digest username="u", response="..."`); a value quoted with escaped
 * quotes (`\"x\"`); a double- or single-quoted value with backslash escapes (unterminated:
 * to the end of the text, as in a message that was cut); else up to a space, `,`, `;`, `&`
 * or `)`.
 */
const VALUE = new RegExp(
  String.raw`${SCHEME}\s+${CREDENTIALS}|\\(?<escaped>["'])(?:(?!\\\k<escaped>)[\s\S])*(?:\\\k<escaped>|$)|"(?:[^"\\]|\\.)*(?:"|$)|'(?:[^'\\]|\\.)*(?:'|$)|[^\s,;&)]+`,
  "y",
);

/**
 * An auth scheme standing alone in the text with a credential after it (`sent Bearer
 * eyJ...`): a `token68` of 8 or more characters holding a digit, a symbol or a capital
 * after its first letter, so that prose naming a scheme (`Basic authentication`) is kept.
 */
const SCHEME_CREDENTIAL = new RegExp(
  String.raw`(?<![\w-])(?<scheme>${SCHEME})(?<space>\s+)(?=[A-Za-z0-9\-._~+/]{8})(?=[A-Za-z0-9\-._~+/]*?(?:[0-9._~+/=-]|(?<!^|\s)[A-Z]))[A-Za-z0-9\-._~+/]+=*`,
  "g",
);

/**
 * Masks the values of masked names (`maskFields`, and the headers of `maskHeaders`). A
 * name that is not masked is stepped over, not its value: the value may hold masked names
 * (`failed: password=x`, `"user":{"password":"x"}`). A quoted value keeps its quotes
 * around {@link MASK}; an auth scheme's credentials are masked with the scheme.
 */
function maskNamedValues(text: string, rules: MaskRules): string {
  let out = "";
  let kept = 0;
  NAMED.lastIndex = 0;
  for (let match = NAMED.exec(text); match !== null; match = NAMED.exec(text)) {
    const { open, name } = match.groups as { open: string; name: string };
    if (!(rules.isMaskedKey(name) || rules.isMaskedHeader(name))) {
      NAMED.lastIndex = match.index + open.length + name.length;
      continue;
    }
    VALUE.lastIndex = NAMED.lastIndex;
    const value = VALUE.exec(text);
    if (value === null) continue;
    out += text.slice(kept, NAMED.lastIndex) + quotedMask(value[0]);
    kept = NAMED.lastIndex = VALUE.lastIndex;
  }
  return kept === 0 ? text : out + text.slice(kept);
}

/** {@link MASK} in the quotes the value had (`"x"` → `"****"`, `\"x\"` → `\"****\"`); a closing quote only if it had one. */
function quotedMask(value: string): string {
  const quote = /^\\?["']/.exec(value)?.[0];
  if (quote === undefined) return MASK;
  return value.length >= 2 * quote.length && value.endsWith(quote) ? `${quote}${MASK}${quote}` : `${quote}${MASK}`;
}

/** A word holding a URL or a query, masked as the event's `url`. */
const URL_WORD = /^(?:[a-z][a-z0-9+.-]*:\/\/|\/|\?)/i;

/**
 * Returns free text (an error's message) fit to store. The value after a name that
 * `maskFields` or `maskHeaders` masks, matched as keys of content are
 * ({@link MaskRules.isMaskedKey}), becomes {@link MASK}: `token=abc`, `password: "x"`,
 * `apiKey 'y'`, JSON keys in any quoting (`{"password":"x"}`, `{'pin': 1}`, escaped
 * `{\"token\":\"x\"}` of JSON inside a string; quotes are kept around the mask), and an auth
 * scheme with its credentials whole (`Authorization: Bearer eyJ...` →
 * `Authorization: ****************`; {@link AUTH_SCHEMES}). An auth scheme standing alone
 * keeps its name and loses its credential (`sent Bearer eyJ...` → `sent Bearer ****************`).
 * Words holding a URL or a query are masked as the event's `url`, `sensitivePatterns` are
 * replaced, lone surrogates and NUL are replaced as in every stored string, and the result
 * is cut to `maxChars` characters (marked `…[truncated]`). Other text is kept as it was.
 * Linear in the text. Never throws.
 *
 * @example
 * ```ts
 * maskMessage("rules engine said token=abc123", rules); // "rules engine said token=****************"
 * ```
 */
export function maskMessage(text: string, rules: MaskRules, maxChars = MAX_MESSAGE_CHARS): string {
  let out = maskNamedValues(sanitizeString(text), rules).replace(SCHEME_CREDENTIAL, (_all, scheme: string, space: string) => `${scheme}${space}${MASK}`);
  out = out
    .split(/(\s+)/)
    .map((word) => (URL_WORD.test(word) ? maskStringValue(word, rules) : word))
    .join("");
  if (rules.hasPatterns) out = rules.redact(out);
  return out.length > maxChars ? `${out.slice(0, maxChars)}…[truncated]` : out;
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
