import { MASK, type MaskRules } from "./mask-rules";
import { maskNamedValues, NAME_SEPARATOR_CHARS } from "./mask-text";
import { maskUserinfo } from "./mask-userinfo";
import { isPlainText } from "./plain-text";

/** Starts like an absolute URL (`https://`, `ftp://`) or an absolute path. */
const URL_LIKE = /^(?:[a-z][a-z0-9+.-]*:\/\/|\/)/i;

/** A `%` that starts no escape: `decodeURIComponent` would throw, which costs microseconds each time. */
const MALFORMED_ESCAPE = /%(?![\dA-Fa-f]{2})/;

function decodeComponent(text: string): string {
  // Most keys and values of a query hold neither: nothing to decode, nothing allocated.
  if (!text.includes("%") && !text.includes("+")) return text;
  if (MALFORMED_ESCAPE.test(text)) return text;
  try {
    return decodeURIComponent(text.replaceAll("+", " "));
  } catch {
    return text;
  }
}

/** How many URLs deep a value holding a URL (`?next=https://...?token=`) is looked into. */
const MAX_NESTED_URLS = 3;

/**
 * Masks the JSON text a string holds (`{"password":"x"}`, also percent-encoded) by the
 * rules, returning the text as it was when nothing in it is masked, and undefined when
 * the string holds no JSON text. The JSON walk of serialize.ts is the one; its callers
 * hand it in, since that walk masks the strings it meets with this module's functions
 * and an import of it here would be a cycle.
 */
export type JsonTextMasker = (text: string, rules: MaskRules) => string | undefined;

/** What would end or split a value written unencoded into a query: a pair or fragment separator, an escape's `%`, a `+` read as a space, whitespace. */
const ENDS_A_VALUE = /[\s%&;#+]/g;

/**
 * A masked pair value (or key) written back as its original was, so that the URL keeps
 * its shape: percent-encoded when the original was (with `+` for spaces when it used
 * them), else as it is but for {@link ENDS_A_VALUE}'s characters the original did not
 * hold itself (JSON's `\u0026` decodes to an `&` that would cut the query), which are
 * percent-encoded.
 */
function writtenAs(rawValue: string, value: string, masked: string): string {
  if (value === rawValue) return masked.replace(ENDS_A_VALUE, (c) => (rawValue.includes(c) ? c : encodeURIComponent(c)));
  const encoded = encodeURIComponent(masked);
  return rawValue.includes("+") && !rawValue.includes("%20") ? encoded.replaceAll("%20", "+") : encoded;
}

/**
 * `key=value` pairs separated by `&` or `;`, with the values of masked keys replaced. A
 * value holding JSON text (`?variables=%7B...`), a URL or a query
 * (`?next=%2Freset%3Ftoken%3Dx`) is masked by the same rules, and written back encoded as
 * it came when it changed (see {@link writtenAs}).
 */
function maskPairs(text: string, rules: MaskRules, maskJson: JsonTextMasker, depth: number): string {
  // One pair (`?id=42`) needs no split: the regular expression's array is most of the work.
  const pieces = text.includes("&") ? text.split(/(&)/) : [text];
  let changed = false;
  for (let i = 0; i < pieces.length; i += 2) {
    const piece = pieces[i]!;
    // Older query syntax separates pairs by `;` too, but JSON text holds `;` in its strings
    // (`v={"password":"a;b"}`), and the application's parser reads such a value whole.
    const masked =
      piece.includes(";") && !holdsJsonValue(piece, rules, maskJson, depth)
        ? piece
            .split(/(;)/)
            .map((part, j) => (j % 2 === 1 ? part : maskPair(part, rules, maskJson, depth)))
            .join("")
        : maskPair(piece, rules, maskJson, depth);
    if (masked !== piece) {
      pieces[i] = masked;
      changed = true;
    }
  }
  return changed ? pieces.join("") : text;
}

/** True when the pair's value, decoded, is JSON text. */
function holdsJsonValue(pair: string, rules: MaskRules, maskJson: JsonTextMasker, depth: number): boolean {
  const eq = pair.indexOf("=");
  return eq !== -1 && depth < MAX_NESTED_URLS && maskJson(decodeComponent(pair.slice(eq + 1)), rules) !== undefined;
}

/**
 * One `key=value` pair (or a bare key) masked: a masked key's value replaced, and the key
 * itself masked as text when it holds a secret (`password%3Ds3cret`, which parsers read as
 * the key `password=s3cret`; JSON text sent as a key); else the value masked as text.
 */
function maskPair(pair: string, rules: MaskRules, maskJson: JsonTextMasker, depth: number): string {
  const eq = pair.indexOf("=");
  const rawKey = eq === -1 ? pair : pair.slice(0, eq);
  const key = rawKey.length > 0 ? decodeComponent(rawKey) : rawKey;
  if (rawKey.length > 0 && (rules.isMaskedKey(key) || (key !== rawKey && rules.isMaskedKey(rawKey)))) {
    const keyText = depth < MAX_NESTED_URLS ? maskText(key, rules, maskJson, depth + 1) : key;
    return `${keyText === key ? rawKey : writtenAs(rawKey, key, keyText)}=${MASK}`;
  }
  if (eq === -1 || depth >= MAX_NESTED_URLS) return pair;
  const rawValue = pair.slice(eq + 1);
  const value = decodeComponent(rawValue);
  const masked = maskText(value, rules, maskJson, depth + 1);
  return masked === value ? pair : `${rawKey}=${writtenAs(rawValue, value, masked)}`;
}

/**
 * Returns `url` with its secrets replaced: the userinfo of an absolute URL
 * (`https://user:secret@host/` becomes `https://****************@host/`, since a bare
 * token is often the user name), the values of masked keys in the query string and in a
 * `key=value` fragment (`#access_token=...`), matched by `maskFields` after
 * percent-decoding, the masked keys of JSON text in a query or fragment value
 * (`?variables=%7B...`, masked by `maskJson`) or making up the fragment, the userinfo of
 * URLs anywhere in it, in the path, query and fragment as in free text, raw or
 * percent-encoded (`http://x//user:secret@evil.com/g`, `/go/https%3A%2F%2Fu%3Asecret%40h`,
 * `/user:secret@db.example.com/`; see {@link maskUserinfo}), and every match of
 * `sensitivePatterns` anywhere in it (path tokens such as `/reset-password/<token>`).
 * Everything else is kept byte for byte.
 *
 * @example maskUrl("http://x//user:pw@evil.com/g?token=t", rules, maskJson) // "http://x//****************@evil.com/g?token=****************"
 */
export function maskUrl(url: string, rules: MaskRules, maskJson: JsonTextMasker): string {
  // Userinfo first, as in maskText: a fragment's named value would otherwise take its `@`.
  const out = maskUrlAt(maskUserinfo(url), rules, maskJson, 0);
  return rules.hasPatterns ? rules.redact(out) : out;
}

/** `;name=value` parameters of path segments (`/cart;jsessionid=...`), before the query. */
function maskMatrixParameters(url: string, rules: MaskRules): string {
  if (!url.includes(";")) return url;
  const end = url.search(/[?#]/);
  const path = end === -1 ? url : url.slice(0, end);
  if (!path.includes(";")) return url;
  const masked = path.replace(/;([^;/?#=]+)=([^;/?#]*)/g, (whole, name: string) =>
    rules.isMaskedKey(decodeComponent(name)) ? `;${name}=${MASK}` : whole,
  );
  return masked === path ? url : masked + (end === -1 ? "" : url.slice(end));
}

/** A scheme and its `://` at the start. */
const SCHEME_START = /^[a-z][a-z0-9+.-]*:\/\//i;

/** What any part {@link maskUrlAt} masks starts with: userinfo's `@`, a matrix `;`, a query's `?`, a fragment's `#`. */
const MASKABLE_PART = /[@;?#]/;

function maskUrlAt(url: string, rules: MaskRules, maskJson: JsonTextMasker, depth: number): string {
  // Most request URLs (`/orders/42`) hold none of these: nothing to look at.
  if (!MASKABLE_PART.test(url)) return url;
  let out = url;
  // Userinfo only where an `@` is at all. The authority follows a scheme's `://` (the
  // first one, as a scheme holds neither `:` nor `/`), or the `//` of a protocol-relative
  // URL (`//user:secret@host/`, which browsers resolve with userinfo too).
  const authorityStart = !out.includes("@") ? -1 : out.startsWith("//") ? 2 : SCHEME_START.test(out) ? out.indexOf("://") + 3 : -1;
  if (authorityStart !== -1) {
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
    const query = out.slice(queryStart + 1, queryEnd);
    const masked = maskPairs(query, rules, maskJson, depth);
    if (masked !== query) out = out.slice(0, queryStart + 1) + masked + out.slice(queryEnd);
  }
  const fragmentStart = out.indexOf("#");
  if (fragmentStart === -1) return out;
  const fragment = out.slice(fragmentStart + 1);
  if (fragment.includes("=")) return out.slice(0, fragmentStart + 1) + maskPairs(fragment, rules, maskJson, depth);
  // A fragment without a `key=`: JSON text whole (an app's state), or free text (the rest
  // of raw JSON text in a query, cut by a raw `#`).
  const value = decodeComponent(fragment);
  const masked = maskJson(value, rules) ?? (NAMES_A_VALUE.test(value) ? maskNamedValues(value, rules) : value);
  return masked === value ? out : out.slice(0, fragmentStart + 1) + writtenAs(fragment, value, masked);
}

/** Looks like `key=value` pairs: a name, `=`, at the start or after `&`, `;` or `?`. */
const PAIRS_LIKE = /(?:^|[&;?])[^\s=&;?]+=/;

/** Where free text may name a value: a separator, or a quote that may follow a name. */
const NAMES_A_VALUE = new RegExp(`["'${NAME_SEPARATOR_CHARS}]`);

/**
 * Text masked by the rules of the event's `url`, `depth` URLs deep: JSON text (also
 * percent-encoded) by `maskJson`; a URL as the event's `url`; else `key=value` pairs (a
 * text body `password=x`, a query held in a value such as `?token=x`, what a
 * `;`-separated query left in one value) as the URL's query, and the value after a masked
 * name in free text (`password = x`, `token: "a b"`; see {@link maskNamedValues}), and
 * other text percent-encoded as a whole by what it decodes to ({@link maskEncodedText});
 * and the userinfo of URLs anywhere in it ({@link maskUserinfo}).
 */
function maskText(text: string, rules: MaskRules, maskJson: JsonTextMasker, depth: number): string {
  // No step below acts on plain text (a query value such as `damaged`, a header such as `gzip`).
  if (isPlainText(text)) return text;
  const json = maskJson(text, rules);
  if (json !== undefined) return json;
  // Userinfo first: a named value's mask (`app:secret:****`, `user` read as a name) would
  // take the `@` and host that mark it as userinfo, and leave the secret before them.
  let out = maskUserinfo(text);
  // A URL holds a `/`, pairs an `=`: most values hold neither, and are not matched at all.
  if (out.includes("/") && URL_LIKE.test(out)) out = maskUrlAt(out, rules, maskJson, depth);
  else if (out.includes("=") && PAIRS_LIKE.test(out)) {
    out = out.startsWith("?") ? `?${maskPairs(out.slice(1), rules, maskJson, depth)}` : maskPairs(out, rules, maskJson, depth);
    if (NAMES_A_VALUE.test(out)) out = maskNamedValues(out, rules);
  } else if (NAMES_A_VALUE.test(out)) {
    out = maskNamedValues(out, rules);
  }
  // Last, and on what the steps above left, so that masked text masked again stays as it is.
  return out.includes("%") && depth < MAX_NESTED_URLS && !URL_LIKE.test(out) && !PAIRS_LIKE.test(out) ? maskEncodedText(out, rules, maskJson, depth) : out;
}

/**
 * Text that is percent-encoded as a whole (a `returnTo` of `%2Freset%3Ftoken%3Dx`, a query
 * value encoded twice, `https%3A%2F%2Fu%3Asecret%40host`) masked as its decoded text is,
 * one URL level deeper, and written back encoded (see {@link writtenAs}) when that
 * changed it; else returned as it came.
 */
function maskEncodedText(text: string, rules: MaskRules, maskJson: JsonTextMasker, depth: number): string {
  const decoded = decodeComponent(text);
  if (decoded === text) return text;
  const masked = maskText(decoded, rules, maskJson, depth + 1);
  return masked === decoded ? text : writtenAs(text, decoded, masked);
}

/**
 * A stored string (a header value, a string in request data or content) masked by the
 * same rules as the event's `url`: JSON text (also percent-encoded) by `maskJson`, a URL
 * (`Referer`, `Location`, a `redirect` field) as the `url`, `key=value` pairs as its
 * query, the value after a masked name in free text (`password = x`, `db_password: 'a b'`),
 * the userinfo of URLs anywhere in it and of a scheme-less `user:secret@host`; and then
 * `sensitivePatterns` (in JSON text, those of the strings it holds).
 */
export function maskStringValue(value: string, rules: MaskRules, maskJson: JsonTextMasker): string {
  const out = maskText(value, rules, maskJson, 0);
  return rules.hasPatterns ? rules.redact(out) : out;
}
