import { percentDecodings } from "./percent-decoding";

/** The value that replaces a masked field: 16 asterisks, whatever the original length. */
export const MASK = "****************";

/**
 * Default of `maskFields`: the kinds of value OWASP's Logging Cheat Sheet says never to log
 * (passwords, secrets, access tokens, session ids, keys, card and bank data, national ids,
 * one-time codes, connection strings), spelled as the names applications give them. Each
 * name is matched as a whole part of a key (see {@link keyParts}), so `token` covers
 * `access_token`, `refreshToken` and `X-CSRF-Token`, and `password` covers
 * `passwordConfirmation`, `current_password` and `user[password]`. Plural and run-together
 * spellings are listed where applications use them (`apikey` covers `api_key`, `apiKey`,
 * `API-KEY`). To extend the list rather than replace it:
 * `maskFields: [...DEFAULT_MASK_FIELDS, "iban"]`.
 */
export const DEFAULT_MASK_FIELDS: readonly string[] = Object.freeze([
  // authentication secrets
  "password", "passwords", "pass", "passwd", "pwd", "passphrase", "passcode", "pin", "secret", "secrets",
  "credential", "credentials", "auth", "authorization", "authentication",
  // tokens, keys and sessions
  "token", "tokens", "jwt", "bearer", "csrf", "xsrf", "api_key", "apikeys", "access_key",
  "private_key", "signing_key", "encryption_key", "master_key", "client_key",
  "session", "sessions", "sessionid", "sess_id", "phpsessid", "jsessionid", "sid", "cookie", "cookies",
  "connection_string", "dsn", "signature", "sig", "hmac",
  // one-time codes
  "otp", "totp", "hotp", "mfa_code", "two_factor_code", "verification_code", "recovery_code",
  "backup_code",
  // payment cards and bank accounts
  "card_number", "card_no", "cc", "cc_number", "credit_card", "debit_card", "pan", "cvv", "cvv2", "cvc",
  "cvc2", "security_code", "card_verification", "iban", "account_number", "bank_account", "routing_number",
  // national identifiers
  "ssn", "social_security", "national_id", "tax_id", "passport_number",
]);

/**
 * Default of `maskHeaders`: request headers that carry credentials by convention. Headers
 * whose name matches `maskFields` (`x-session-token`, `x-api-key`) are masked as well.
 */
export const DEFAULT_MASK_HEADERS: readonly string[] = Object.freeze([
  "authorization",
  "proxy-authorization",
  "cookie",
  "set-cookie",
  "x-api-key",
  "x-auth-token",
  "x-access-token",
  "x-csrf-token",
]);

/**
 * HTTP authentication schemes (RFC 9110 section 11; the IANA registry and common API
 * schemes), matched case-insensitively: in free text, the credentials after one of these
 * are masked whole (`Authorization: Bearer <token>` keeps `Bearer`, masks the token).
 */
export const AUTH_SCHEMES: readonly string[] = Object.freeze([
  "Basic", "Bearer", "Digest", "DPoP", "GNAP", "HOBA", "Mutual", "Negotiate", "NTLM", "Kerberos", "OAuth", "PrivateToken",
  "SCRAM-SHA-1", "SCRAM-SHA-256", "vapid", "AWS4-HMAC-SHA256", "AWS", "Token", "ApiKey", "Api-Key", "Key", "JWT", "MAC",
  "HMAC", "SharedKey", "SSWS", "Splunk",
]);

/**
 * Headers stored as {@link MASK} whatever `maskHeaders` says: the credentials HTTP itself
 * defines. A replaced `maskHeaders` list can add to these, never remove them.
 */
export const ALWAYS_MASKED_HEADERS: ReadonlySet<string> = new Set(["authorization", "proxy-authorization", "cookie", "set-cookie"]);

/**
 * A pattern whose every match inside a stored string is replaced by `[label]`, e.g.
 * `{ label: "email", pattern: /[^\s@]+@[^\s@]+\.[^\s@]+/ }`.
 */
export interface SensitivePattern {
  /** What the match was, written in its place as `[label]`. */
  label: string;
  /** What to find; matched globally whatever its own flags say. */
  pattern: RegExp;
}

/**
 * Names that also match at the end of a run-together word (`newpassword`, `accesstoken`,
 * `clientsecret`, `myapikey`): words that end so are almost always credentials, and
 * lower-case concatenations are common in form field names. Only those of the
 * configured `maskFields` are used.
 */
export const SUFFIX_MATCHED_NAMES: ReadonlySet<string> = new Set(["password", "passwd", "passphrase", "secret", "token", "apikey"]);

/**
 * Names that also match at the start of a run-together word (`passwordhash`,
 * `passwordconfirm`): a word that starts so is about the password whatever follows.
 */
export const PREFIX_MATCHED_NAMES: ReadonlySet<string> = new Set(["password", "passwd"]);

const NO_WORDS: readonly string[] = Object.freeze([]);

/** How many distinct keys the key cache remembers before it starts again. */
const KEY_CACHE_SIZE = 4096;
/** Longer keys are not cached, so that clients sending many long keys cannot grow the cache. */
const MAX_CACHED_KEY_LENGTH = 128;

/**
 * Letters and digits in the runs a key is made of: an upper-case run before a capitalised
 * word (`API` of `APIKey`), a word with an optional capital (`Key`, `password`), an
 * upper-case run, digits, or letters of scripts without case.
 */
const KEY_PART = /\p{Lu}+(?=\p{Lu}\p{Ll})|\p{Lu}?\p{Ll}+|\p{Lu}+|\p{N}+|[\p{Lo}\p{Lm}\p{Lt}\p{M}]+/gu;
const NON_ASCII = /[^\x00-\x7f]/;
const FORMAT_CHARACTERS = /\p{Cf}/gu;

/** Runs of letters and digits: the segments between separators. */
const KEY_SEGMENT = /[\p{L}\p{M}\p{N}]+/gu;

function foldKey(key: string): string {
  return NON_ASCII.test(key) ? key.normalize("NFKC").replace(FORMAT_CHARACTERS, "") : key;
}

/**
 * Splits a key into the lower-case words it is made of: on every character that is not a
 * letter or digit (which covers `[`, `]`, `.`, `-`, `_`, spaces), on camelCase and on the
 * border between letters and digits. Compatibility forms are folded first (NFKC, so
 * full-width `ｐａｓｓｗｏｒｄ` reads `password`) and invisible format characters
 * (zero-width spaces, bidi controls) are removed.
 *
 * @example keyParts("user[newPassword]") // ["user", "new", "password"]
 * @example keyParts("X-API-Key") // ["x", "api", "key"]
 */
export function keyParts(key: string): string[] {
  return (foldKey(key).match(KEY_PART) ?? []).map((part) => part.toLowerCase());
}

/**
 * The key's segments between separators, lower-cased whole: `pAsSwOrD` is one segment
 * `password`, whatever its camelCase split says.
 */
function keySegments(key: string): string[] {
  return (foldKey(key).match(KEY_SEGMENT) ?? []).map((segment) => segment.toLowerCase());
}

/**
 * The masking rules of one configuration, compiled once when it is configured (as pino
 * compiles its `redact` paths), so that a request pays a lookup per key.
 */
export class MaskRules {
  private readonly names: ReadonlySet<string>;
  private readonly suffixNames: readonly string[];
  private readonly prefixNames: readonly string[];
  private readonly longestName: number;
  private readonly headerNames: ReadonlySet<string>;
  private readonly patterns: readonly { readonly regexp: RegExp; readonly replacement: string }[];
  private readonly keyCache = new Map<string, boolean>();
  /** The words of recently seen keys, for {@link pathTail}: a regex per key per event otherwise. */
  private readonly partsCache = new Map<string, readonly string[]>();

  /**
   * @param fields `maskFields`: names matched as whole parts of keys.
   * @param headers `maskHeaders`: header names masked exactly (case-insensitive).
   * @param patterns `sensitivePatterns`, checked already (see `validateSensitivePatterns`).
   */
  constructor(fields: readonly string[], headers: readonly string[], patterns: readonly SensitivePattern[]) {
    const names = new Set<string>();
    let longest = 0;
    for (const field of fields) {
      const parts = keyParts(field);
      if (parts.length === 0) continue;
      names.add(parts.join(""));
      longest = Math.max(longest, parts.length);
    }
    this.names = names;
    this.suffixNames = [...names].filter((name) => SUFFIX_MATCHED_NAMES.has(name));
    this.prefixNames = [...names].filter((name) => PREFIX_MATCHED_NAMES.has(name));
    this.longestName = longest;
    this.headerNames = new Set([...ALWAYS_MASKED_HEADERS, ...headers.map((h) => h.toLowerCase())]);
    this.patterns = patterns.map(({ label, pattern }) => ({
      regexp: new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, "") + "g"),
      replacement: `[${label.replaceAll("$", "$$$$")}]`,
    }));
  }

  /** True when `sensitivePatterns` has something to replace. */
  get hasPatterns(): boolean {
    return this.patterns.length > 0;
  }

  /**
   * True when a value stored under `key` must read {@link MASK}: some run of the key's
   * words ({@link keyParts}), or of its segments between separators lower-cased whole,
   * joined, is one of the `maskFields` names joined the same way, or a segment ends with
   * one of {@link SUFFIX_MATCHED_NAMES} or starts with one of {@link PREFIX_MATCHED_NAMES}.
   * So `password` masks `passwordHint`, `user[password]`, `PaSsWoRd`, `newpassword` and
   * `passwordhash`, but not `bypass`. A key holding escapes is also read percent-decoded,
   * up to three times (`pass%77ord`, `%2570assword`), as a client that encoded it again sent it.
   *
   * @param parentTail the last words of the keys this one is nested under (see
   * {@link pathTail}): a parser that turned `api.key` into `{ api: { key } }` split one
   * name across two keys, and a run may start in the parents.
   */
  isMaskedKey(key: string, parentTail: readonly string[] = NO_WORDS): boolean {
    const cacheKey = parentTail.length === 0 ? key : `${parentTail.join(" ")}\u0000${key}`;
    const cached = this.keyCache.get(cacheKey);
    if (cached !== undefined) return cached;
    // A key sent percent-encoded again names what it decodes to as well (see percentDecodings).
    const masked = this.namesSecret(key, parentTail) || (key.includes("%") && percentDecodings(key).some((form) => this.namesSecret(form, parentTail)));
    if (cacheKey.length <= MAX_CACHED_KEY_LENGTH) {
      if (this.keyCache.size >= KEY_CACHE_SIZE) this.keyCache.clear();
      this.keyCache.set(cacheKey, masked);
    }
    return masked;
  }

  /**
   * The words a key nested under `key` may continue a name with: the last words of the
   * path so far, as many as the longest name has words, less one.
   */
  pathTail(parentTail: readonly string[], key: string): readonly string[] {
    const keep = this.longestName - 1;
    if (keep <= 0) return NO_WORDS;
    let parts = this.partsCache.get(key);
    if (parts === undefined) {
      parts = keyParts(key);
      if (key.length <= MAX_CACHED_KEY_LENGTH) {
        if (this.partsCache.size >= KEY_CACHE_SIZE) this.partsCache.clear();
        this.partsCache.set(key, parts);
      }
    }
    if (parentTail.length === 0 && parts.length <= keep) return parts;
    const words = [...parentTail, ...parts];
    return words.length <= keep ? words : words.slice(words.length - keep);
  }

  /** True when a whitelisted header's value must be stored as {@link MASK}. */
  isMaskedHeader(name: string): boolean {
    const lower = name.toLowerCase();
    return this.headerNames.has(lower) || this.isMaskedKey(lower);
  }

  /** `text` with every match of `sensitivePatterns` replaced by `[label]`. */
  redact(text: string): string {
    let out = text;
    for (const { regexp, replacement } of this.patterns) out = out.replace(regexp, replacement);
    return out;
  }

  /** {@link isMaskedKey} of one form of the key, uncached. */
  private namesSecret(key: string, parentTail: readonly string[]): boolean {
    const segments = keySegments(key);
    const parts = keyParts(key);
    return (
      this.matches(parts) ||
      this.matches(segments) ||
      this.affixed(segments) ||
      (parentTail.length > 0 && (this.matchesAcross(parentTail, parts) || this.matchesAcross(parentTail, segments)))
    );
  }

  private affixed(segments: readonly string[]): boolean {
    return segments.some(
      (segment) =>
        this.suffixNames.some((name) => segment.length > name.length && segment.endsWith(name)) ||
        this.prefixNames.some((name) => segment.length > name.length && segment.startsWith(name)),
    );
  }

  /** Runs that start in the parents' words and end in this key's. */
  private matchesAcross(tail: readonly string[], parts: readonly string[]): boolean {
    for (let start = 0; start < tail.length; start++) {
      let joined = tail.slice(start).join("");
      for (let end = 0; end < parts.length && tail.length - start + end < this.longestName; end++) {
        joined += parts[end];
        if (this.names.has(joined)) return true;
      }
    }
    return false;
  }

  private matches(parts: readonly string[]): boolean {
    for (let start = 0; start < parts.length; start++) {
      let joined = "";
      for (let end = start; end < parts.length && end - start < this.longestName; end++) {
        joined += parts[end];
        if (this.names.has(joined)) return true;
      }
    }
    return false;
  }
}
