/** An escape: `%` and two hexadecimal digits. */
const ESCAPE = /%[\dA-Fa-f]{2}/;
/** An escape of an ASCII character. */
const ASCII_ESCAPE = /%[0-7][\dA-Fa-f]/g;

/**
 * How many times a name (a query or object key) is percent-decoded to see whether it
 * names a secret: a client or proxy that encoded a query again (`%2570assword`, read
 * `%70assword` by the app's parser) still sent `password`. As deep as userinfo is looked
 * for in encoded text (see mask-userinfo.ts).
 */
export const MAX_NAME_DECODINGS = 3;

/**
 * `text` percent-decoded once, never throwing: as `decodeURIComponent` decodes it when
 * every escape is well-formed UTF-8, else with only its escapes of ASCII characters
 * decoded (a lone `%` or a broken sequence kept as it is). `+` stays a `+`.
 *
 * @example decodePercentOnce("%2570assword") // "%70assword"
 * @example decodePercentOnce("pass%77ord%E0") // "password%E0"
 */
export function decodePercentOnce(text: string): string {
  if (!ESCAPE.test(text)) return text;
  try {
    return decodeURIComponent(text);
  } catch {
    return text.replace(ASCII_ESCAPE, (escape) => String.fromCharCode(Number.parseInt(escape.slice(1), 16)));
  }
}

/**
 * The forms `text` takes when percent-decoded once, twice, up to {@link MAX_NAME_DECODINGS}
 * times, each different from the one before; none when it holds no escape.
 *
 * @example percentDecodings("%2570assword") // ["%70assword", "password"]
 */
export function percentDecodings(text: string): string[] {
  const forms: string[] = [];
  let level = text;
  for (let depth = 0; depth < MAX_NAME_DECODINGS; depth++) {
    const next = decodePercentOnce(level);
    if (next === level) break;
    forms.push(next);
    level = next;
  }
  return forms;
}
