import { MASK, type MaskRules } from "./mask-rules";

/** Starts like an absolute URL (`https://`, `ftp://`) or an absolute path. */
const URL_LIKE = /^(?:[a-z][a-z0-9+.-]*:\/\/|\/)/i;

function decodeComponent(text: string): string {
  try {
    return decodeURIComponent(text.replaceAll("+", " "));
  } catch {
    return text;
  }
}

/** How many URLs deep a value holding a URL (`?next=https://...?token=`) is looked into. */
const MAX_NESTED_URLS = 3;

/**
 * `key=value` pairs separated by `&` or `;`, with the values of masked keys replaced. A
 * value that is itself a URL or a query (`?next=%2Freset%3Ftoken%3Dx`) is masked by the
 * same rules, and written back percent-encoded when it changed.
 */
function maskPairs(text: string, rules: MaskRules, depth: number): string {
  const pairs = text.split(/([&;])/);
  let changed = false;
  for (let i = 0; i < pairs.length; i += 2) {
    const pair = pairs[i]!;
    const eq = pair.indexOf("=");
    const rawKey = eq === -1 ? pair : pair.slice(0, eq);
    if (rawKey.length > 0 && (rules.isMaskedKey(decodeComponent(rawKey)) || rules.isMaskedKey(rawKey))) {
      pairs[i] = `${rawKey}=${MASK}`;
      changed = true;
    } else if (eq !== -1 && depth < MAX_NESTED_URLS) {
      const rawValue = pair.slice(eq + 1);
      const value = decodeComponent(rawValue);
      if (!value.includes("=") && !value.includes("@")) continue;
      const masked = URL_LIKE.test(value) ? maskUrlAt(value, rules, depth + 1) : maskPairs(value, rules, depth + 1);
      if (masked !== value) {
        pairs[i] = `${rawKey}=${value === rawValue ? masked : encodeURIComponent(masked)}`;
        changed = true;
      }
    }
  }
  return changed ? pairs.join("") : text;
}

/**
 * Returns `url` with its secrets replaced: the userinfo of an absolute URL
 * (`https://user:secret@host/` becomes `https://****************@host/`, since a bare
 * token is often the user name), the values of masked keys in the query string and in a
 * `key=value` fragment (`#access_token=...`), matched by `maskFields` after
 * percent-decoding, and every match of `sensitivePatterns` anywhere in it (path tokens
 * such as `/reset-password/<token>`). Everything else is kept byte for byte.
 */
export function maskUrl(url: string, rules: MaskRules): string {
  const out = maskUrlAt(url, rules, 0);
  return rules.hasPatterns ? rules.redact(out) : out;
}

/** `;name=value` parameters of path segments (`/cart;jsessionid=...`), before the query. */
function maskMatrixParameters(url: string, rules: MaskRules): string {
  const end = url.search(/[?#]/);
  const path = end === -1 ? url : url.slice(0, end);
  if (!path.includes(";")) return url;
  const masked = path.replace(/;([^;/?#=]+)=([^;/?#]*)/g, (whole, name: string) =>
    rules.isMaskedKey(decodeComponent(name)) ? `;${name}=${MASK}` : whole,
  );
  return masked === path ? url : masked + (end === -1 ? "" : url.slice(end));
}

function maskUrlAt(url: string, rules: MaskRules, depth: number): string {
  let out = url;
  const scheme = out.indexOf("://");
  if (scheme !== -1 && /^[a-z][a-z0-9+.-]*$/i.test(out.slice(0, scheme))) {
    const authorityStart = scheme + 3;
    const authorityEnd = out.slice(authorityStart).search(/[/?#]/);
    const authority = out.slice(authorityStart, authorityEnd === -1 ? out.length : authorityStart + authorityEnd);
    const at = authority.lastIndexOf("@");
    if (at !== -1) out = out.slice(0, authorityStart) + MASK + out.slice(authorityStart + at);
  }
  out = maskMatrixParameters(out, rules);
  const hashStart = out.indexOf("#");
  const queryStart = out.indexOf("?");
  if (queryStart !== -1 && (hashStart === -1 || queryStart < hashStart)) {
    const queryEnd = hashStart === -1 ? out.length : hashStart;
    out = out.slice(0, queryStart + 1) + maskPairs(out.slice(queryStart + 1, queryEnd), rules, depth) + out.slice(queryEnd);
  }
  const fragmentStart = out.indexOf("#");
  if (fragmentStart !== -1 && out.includes("=", fragmentStart)) {
    out = out.slice(0, fragmentStart + 1) + maskPairs(out.slice(fragmentStart + 1), rules, depth);
  }
  return out;
}

/** Looks like `key=value` pairs: a name, `=`, at the start or after `&`, `;` or `?`. */
const PAIRS_LIKE = /(?:^|[&;?])[^\s=&;?]+=/;

/**
 * A stored string (a header value, a string in request data or content) masked by the
 * same rules as the event's `url` when it holds a URL (`Referer`, `Location`, a
 * `redirect` field) or `key=value` pairs (a text body `password=x`, a query held in a
 * value such as `?token=x`, what a `;`-separated query left in one value), with
 * `sensitivePatterns` applied.
 */
export function maskStringValue(value: string, rules: MaskRules): string {
  let out = value;
  if (URL_LIKE.test(out)) out = maskUrlAt(out, rules, 0);
  else if (out.includes("=") && PAIRS_LIKE.test(out)) out = out.startsWith("?") ? `?${maskPairs(out.slice(1), rules, 0)}` : maskPairs(out, rules, 0);
  return rules.hasPatterns ? rules.redact(out) : out;
}
