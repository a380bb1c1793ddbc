/**
 * The ASCII characters no masking step looks at: letters, digits, space and `._,-`.
 * Every step of a string's masking starts at a character outside this set: JSON text at a
 * `{`, `[` or `%`, a URL at a `/`, pairs at a `=`, a named value at a quote or a
 * separator (`:`, `=`), userinfo at an `@` and a `:`, an escape at a `%`; and
 * `sanitizeString` changes only NUL and lone surrogates.
 */
const PLAIN = new Uint8Array(128);
for (const c of "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ._,-") PLAIN[c.charCodeAt(0)] = 1;

/**
 * The longest string {@link isPlainText} looks at: longer ones take the full masking,
 * whose scans are built-in, rather than a character loop here.
 */
const MAX_PLAIN_CHARS = 256;

/**
 * Whether `text` is stored as it is by `sanitizeString` and `maskStringValue` alike (but
 * for `sensitivePatterns`): at most {@link MAX_PLAIN_CHARS} long and made only of
 * characters none of their steps acts on (`"refund"`, `"12.50"`, `"Ada Lovelace"`). Most
 * values of content and request data are such, and are spared the masking steps.
 *
 * @example isPlainText("damaged") // true
 * @example isPlainText("a=b") // false
 */
export function isPlainText(text: string): boolean {
  if (text.length > MAX_PLAIN_CHARS) return false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code >= 128 || PLAIN[code] === 0) return false;
  }
  return true;
}
