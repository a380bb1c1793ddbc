import type { JsonObject, JsonValue } from "./json";
import { normalizeJson, sanitizeString, storedKey } from "./serialize";

/** The value that replaces a masked field: 16 asterisks, whatever the original length. */
export const MASK = "****************";

/** Headers whose values are always stored as {@link MASK}, even when whitelisted. */
export const ALWAYS_MASKED_HEADERS: ReadonlySet<string> = new Set(["authorization", "proxy-authorization", "cookie"]);

/** Builds the case-insensitive lookup set for `maskPostFields`. */
export function maskKeySet(fields: readonly string[]): ReadonlySet<string> {
  return new Set(fields.map((f) => f.toLowerCase()));
}

/**
 * Returns a masked, JSON-safe copy of request data (a parsed body or query): every
 * value under a key in `maskKeys`, at any depth and inside arrays, becomes
 * {@link MASK}. Never mutates `data`, never throws: cycles and excessive depth become
 * markers. A body that is not an object (a JSON array, a text body) is kept under
 * `_body`, since the stored column holds an object.
 */
export function maskRequestData(data: unknown, maskKeys: ReadonlySet<string>): JsonObject {
  const normalized = normalizeJson(data, { strict: false, maskKeys, mask: MASK });
  if (normalized === undefined) return {};
  return normalized !== null && typeof normalized === "object" && !Array.isArray(normalized) ? normalized : { _body: normalized };
}

/** Splits a query key such as `user[password]` or `user.password` into its names. */
function keySegments(key: string): string[] {
  return key.split(/[[\].]+/).filter((s) => s.length > 0);
}

function decodeQueryComponent(text: string): string {
  try {
    return decodeURIComponent(text.replaceAll("+", " "));
  } catch {
    return text;
  }
}

/**
 * Returns `url` with the values of masked query keys replaced by {@link MASK}. Keys
 * are matched case-insensitively, also inside bracket or dot notation
 * (`user[password]=x`). Everything else in the URL is kept byte for byte.
 */
export function maskUrl(url: string, maskKeys: ReadonlySet<string>): string {
  const queryStart = url.indexOf("?");
  if (queryStart === -1 || maskKeys.size === 0) return url;
  const hashStart = url.indexOf("#", queryStart);
  const queryEnd = hashStart === -1 ? url.length : hashStart;
  const pairs = url.slice(queryStart + 1, queryEnd).split("&");
  let changed = false;
  for (let i = 0; i < pairs.length; i++) {
    const pair = pairs[i]!;
    const eq = pair.indexOf("=");
    const rawKey = eq === -1 ? pair : pair.slice(0, eq);
    const masked = keySegments(decodeQueryComponent(rawKey)).some((s) => maskKeys.has(s.toLowerCase()));
    if (masked) {
      pairs[i] = `${rawKey}=${MASK}`;
      changed = true;
    }
  }
  return changed ? url.slice(0, queryStart + 1) + pairs.join("&") + url.slice(queryEnd) : url;
}

/**
 * Picks the whitelisted headers out of `headers` (names compared case-insensitively,
 * stored lower-case). Repeated headers are joined with `, `. `authorization`,
 * `proxy-authorization` and `cookie` are stored as {@link MASK}.
 */
export function pickHeaders(
  headers: Readonly<Record<string, string | string[] | undefined>>,
  whitelist: readonly string[],
): JsonObject {
  const out: JsonObject = {};
  for (const listed of whitelist) {
    const name = listed.toLowerCase();
    const value = Object.hasOwn(headers, name) ? headers[name] : undefined;
    if (value === undefined) continue;
    const text: JsonValue = ALWAYS_MASKED_HEADERS.has(name)
      ? MASK
      : sanitizeString(Array.isArray(value) ? value.join(", ") : value);
    out[storedKey(name)] = text;
  }
  return out;
}
