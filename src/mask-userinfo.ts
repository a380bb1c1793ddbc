import { MASK } from "./mask-rules";

/**
 * A character of an authority written in text: not whitespace, nor the `/`, `?` and `#`
 * that end it, nor the quotes, angle brackets and backslash that delimit a URL in text.
 * `{`, `}`, `|`, `^` and a backtick, which RFC 3986 leaves out but the WHATWG URL parser
 * and database drivers take in a password (percent-encoding them), belong to it.
 */
const AUTHORITY_CHAR = String.raw`[^\s/?#"'<>\\]`;

const AUTHORITY_UNIT = new RegExp(AUTHORITY_CHAR);
/** A character of a scheme-less user name: ASCII letters and digits, and `_ . ~ % + @ ! $ * -` (e-mail addresses too). */
const USER_UNIT = /[\w.~%+@!$*-]/;

/** Of the ASCII units, 1 for those of {@link AUTHORITY_CHAR}, 2 for those of {@link USER_UNIT} too: a lookup per unit of a scan. */
const ASCII_KINDS = Uint8Array.from({ length: 128 }, (_, code) => {
  const unit = String.fromCharCode(code);
  return AUTHORITY_UNIT.test(unit) ? (USER_UNIT.test(unit) ? 2 : 1) : 0;
});

/** Whether a UTF-16 unit is an {@link AUTHORITY_CHAR}. */
function isAuthorityUnit(code: number): boolean {
  return code < 128 ? ASCII_KINDS[code] !== 0 : AUTHORITY_UNIT.test(String.fromCharCode(code));
}

/**
 * What starts an authority in text, then its userinfo up to the authority's last `@` (a
 * password may hold a raw `@`): two slashes (`//`, or `\\`, `/\`, which browsers read as
 * `//` in an http URL), after a scheme or a chain of them (`jdbc:postgresql:`) or after
 * nothing at all. A network-path reference (`//user:secret@host/`) names an authority
 * wherever it sits: at the start of a string, after a host (`http://x//user:secret@evil/`,
 * which a request target of `//user:secret@evil/` becomes), in a path, query or fragment.
 * A scheme starts only at the start of a word, repetitions before the authority are
 * bounded, and an authority holds no slash, so the search is linear in the text.
 */
const URL_USERINFO = new RegExp(String.raw`((?:(?<![\w+.-])(?:[A-Za-z][\w+.-]{0,31}:){1,4})?[/\\]{2})${AUTHORITY_CHAR}*@`, "g");

/**
 * A special scheme (`http`, `https`, `ws`, `wss`, `ftp`) followed by fewer than two slashes
 * (`http:u:secret@intranet/`, `https:/u:secret@h`), which the WHATWG URL parser (browsers,
 * Node's `URL`) reads as `http://u:secret@intranet/` all the same: its userinfo up to the
 * last `@`, of at most 256 characters so that a run of `http:` stays linear. (Nor is a
 * scheme followed by {@link KEPT_ENDING}, the stand-in of an escaped slash.)
 */
const SPECIAL_SCHEME_USERINFO = new RegExp(String.raw`((?<![\w+.-])(?:https?|wss?|ftp):[/\\]?)(?![/\\\x7f])${AUTHORITY_CHAR}{1,256}@`, "gi");

/**
 * A label of a host name: letters, marks and digits of any script (IDNA), also as the
 * escapes of their UTF-8 bytes (`b%C3%BCcher`), `-` and `_` (as hosts files and container
 * names hold).
 */
const HOST_LABEL = String.raw`(?:[\p{L}\p{N}\p{M}_-]|%[89A-Fa-f][\dA-Fa-f]){1,255}`;

/**
 * What separates labels: `.`, and the ideographic, full-width and half-width full stops
 * that IDNA reads as one (UTS #46), raw or as the escapes of their UTF-8 bytes.
 */
const LABEL_DOT = String.raw`(?:[.\u3002\uFF0E\uFF61]|%E3%80%82|%EF%BC%8E|%EF%BD%A1)`;

/**
 * A host after a scheme-less userinfo: `localhost`, a bracketed IPv6 address, a dotted name
 * (in any script, any number of labels and label lengths) or IPv4 address, a single label
 * with a port (`db:5432`), or an IPv4 address written as one number (`2130706433`,
 * `0x7f000001`, `017700000001`, which URL parsers read as `127.0.0.1`), with an optional
 * port, and no host character after it; or, as Go's MySQL driver writes its DSNs, a
 * protocol and its address (`tcp(db:3306)`, `unix(/tmp/mysql.sock)`) or no host before a
 * path (`user:secret@/shop`). It is tried only just after an `@`, so its
 * bounds cost nothing elsewhere. A single label
 * without a port (`10:30@venue`) is not taken for a host; before a path it is, unless the
 * password reads as a time (see {@link LABEL_BEFORE_PATH_AT}).
 */
const BARE_HOST = String.raw`(?:[a-z][a-z\d]{0,9}\([^()\s]{0,255}\)|(?=\/)|localhost|\[[\dA-Fa-f:.]{2,45}\]|${HOST_LABEL}(?:${LABEL_DOT}${HOST_LABEL}){1,127}|${HOST_LABEL}(?=:\d)|0x0*[\dA-Fa-f]{1,8}|\d{4,32})(?::\d{1,5})?(?![\p{L}\p{N}\p{M}_-]|${LABEL_DOT}[\p{L}\p{N}\p{M}_-])`;

/** Whether a UTF-16 unit is a {@link USER_UNIT}. */
function isUserUnit(code: number): boolean {
  return code < 128 && ASCII_KINDS[code] === 2;
}

/** Schemes that put an address, not a credential, before an `@` (`mailto:ada@example.com`). */
const ADDRESS_SCHEMES: ReadonlySet<string> = new Set(["mailto", "sip", "sips", "xmpp", "acct", "im", "pres", "tel", "news"]);

/**
 * Longest password (text between the user name's `:` and the `@`) taken for one: a token
 * or a JWT used as a password runs to a few kilobytes.
 */
const MAX_PASSWORD_UNITS = 4096;
/** Longest user name masked with its password; a longer run of user-name characters is masked from this far back. */
const MAX_USER_UNITS = 128;

/** {@link BARE_HOST} where it is tried: just after an `@`. */
const HOST_AT = new RegExp(BARE_HOST, "iuy");

/**
 * A single label before a path, just after an `@`: the host of `app:Tr0ub4dor@db/shop`
 * (a container's name), unless what stands for the password reads as a time
 * ({@link TIME_LIKE}: `10:30@hq/attendees`).
 */
const LABEL_BEFORE_PATH_AT = new RegExp(String.raw`${HOST_LABEL}(?=/)`, "iuy");
/** Digits, `:` and `.` alone: the minutes, seconds and fractions of a time. */
const TIME_LIKE = /^[\d:.]+$/;

/**
 * What may follow the `@` of a userinfo in an object key: the end of the key, or any
 * character that can start a host. A query parser cuts a key where its own syntax starts,
 * inside or before the host: qs reads `?user:secret@[::1]` as the key `user:secret@`
 * holding `::1`, and with `allowDots` `?user:secret@db.example.com` as `user:secret@db`.
 */
const CUT_HOST_AT = /(?:$|[\p{L}\p{N}\p{M}_%[-])/uy;

/**
 * Where the next pair of a query starts: a raw `&name=`, where every query parser splits
 * (a password's `&` goes escaped in a query). `?t=10:30&to=ada@example.com` and
 * `?next=//app.example&email=ada@example.com` are two pairs each, not a userinfo and its
 * host. Only an `&` written as it is counts, not one an escape decodes to (`%26` is no
 * separator), and not a `;`, which Node's query parsers do not split at.
 */
const PAIR_START = /&[\w.~[\]-]{1,64}=/g;

/**
 * The first {@link PAIR_START} at or after a position, remembered: asked for positions that
 * mostly grow, each part of the text is searched about once.
 */
class PairStarts {
  private from = Infinity;
  private found = Infinity;

  /** `written(i)`: whether the `&` at `i` of `text` was written as it is (not decoded from `%26`). */
  constructor(
    private readonly text: string,
    private readonly written: (at: number) => boolean = () => true,
  ) {}

  /** Where the first pair at or after `from` starts; Infinity when none does. */
  after(from: number): number {
    if (from < this.from || from > this.found) {
      PAIR_START.lastIndex = from;
      let match;
      while ((match = PAIR_START.exec(this.text)) !== null && !this.written(match.index)) PAIR_START.lastIndex = match.index + 1;
      this.found = match?.index ?? Infinity;
      this.from = from;
    }
    return this.found;
  }
}

/**
 * A whole host, with an optional port, as what may come before a pair: a dotted name,
 * `localhost` or a bracketed IPv6 address (`app.example.com:8080`, `[::1]:8443`); not a
 * single label (`app:12345` may be a user and a password).
 */
const WHOLE_HOST = new RegExp(String.raw`^(?:localhost|\[[\dA-Fa-f:.]{2,45}\]|${HOST_LABEL}(?:${LABEL_DOT}${HOST_LABEL}){1,127})(?::\d{1,5})?$`, "iu");

/**
 * The span `[start, end)` of a userinfo after `//` or a scheme, when a pair starts in it
 * (see {@link PAIR_START}): cut back to its last `@` before that pair (`//u:pw@h&to=ada@x`),
 * dropped when a whole host precedes the pair and no `@` does (`//app.example&to=ada@x`:
 * no userinfo), else kept whole: a password may hold a raw `&x=`
 * (`//app:Tr0ub&dor=9x@db/shop`, `//app:12345&k=x@db` are masked whole).
 */
function withinPair(text: string, pairs: PairStarts, start: number, end: number): Span | undefined {
  const pair = pairs.after(start);
  if (pair >= end) return [start, end];
  const at = text.lastIndexOf("@", pair - 1);
  if (at > start) return [start, at];
  return WHOLE_HOST.test(text.slice(start, pair)) ? undefined : [start, end];
}

/**
 * The spans of `user:secret@host` without a scheme (a DSN, a proxy setting) in `text`:
 * for each `@` that a host follows ({@link BARE_HOST}), the authority characters before
 * it back to the first `:` within {@link MAX_PASSWORD_UNITS}, with the user name before
 * that `:` (ASCII user-name characters, none at all after other text: `josé:secret@h`,
 * `:secret@h`). Wherever it sits and whatever precedes it (a space, `=`, `|`, `:`, any
 * punctuation, any script's letters), so that a path segment or query holding one is
 * masked as free text is; a password may hold `:` and `@`. An e-mail address has no `:`
 * before its `@`, and the schemes that put an address there (`mailto:`, `sip:`,
 * `xmpp:`) are passed over, but a time before a host (`10:30@venue.example.com`) is
 * masked as well. No pair of a query (`pairs`, see {@link PAIR_START}) lies between the
 * `:` and the `@`.
 * Found from each `@`, not from each place a user name could start, so
 * its work is bounded by the `@`s a host follows, whatever else the text holds.
 */
function bareUserinfoSpans(text: string, spans: Span[], hostAt: RegExp, pairs: PairStarts): void {
  // One pass over the text, as the `@`s come: where the authority run that holds the
  // current position starts, and the `:`s met, so that each `@` costs its host's test and
  // no scan of what lies before it.
  let runStart = 0;
  let scanned = 0;
  const colons: number[] = [];
  let firstColon = 0;
  /** The start of the user name before each `:` looked at. */
  const userStarts = new Map<number, number>();
  for (let at = text.indexOf("@"); at !== -1; at = text.indexOf("@", at + 1)) {
    for (; scanned < at; scanned++) {
      const code = text.charCodeAt(scanned);
      if (!isAuthorityUnit(code)) runStart = scanned + 1;
      else if (code === 0x3a) colons.push(scanned);
    }
    hostAt.lastIndex = at + 1;
    let labelOnly = false;
    if (!hostAt.test(text)) {
      LABEL_BEFORE_PATH_AT.lastIndex = at + 1;
      if (hostAt !== HOST_AT || !LABEL_BEFORE_PATH_AT.test(text)) continue;
      labelOnly = true;
    }
    const lowest = Math.max(runStart, at - 1 - MAX_PASSWORD_UNITS);
    while (firstColon < colons.length && colons[firstColon]! < lowest) firstColon++;
    for (let i = firstColon; i < colons.length && colons[i]! < at - 1; i++) {
      const colon = colons[i]!;
      let start = userStarts.get(colon);
      if (start === undefined) {
        start = colon;
        while (start > 0 && colon - start < MAX_USER_UNITS && isUserUnit(text.charCodeAt(start - 1))) start--;
        userStarts.set(colon, start);
      }
      if ((colon > start && ADDRESS_SCHEMES.has(text.slice(start, colon).toLowerCase())) || isSchemeColon(text, colon) || pairs.after(colon + 1) < at) {
        // It is none for every later `@` too: the next looks start past it (a run of
        // `mailto:` before many hosts stays linear).
        if (i === firstColon) firstColon++;
        continue;
      }
      // A time before a name and a path (`10:30@hq/attendees`), not a password.
      if (labelOnly && TIME_LIKE.test(text.slice(colon + 1, at))) continue;
      spans.push([start, at]);
      break;
    }
  }
}

/**
 * What `decodeAscii` with `keepEnding` decodes the escape of a character that ends an
 * authority to (DEL): a character of an authority ({@link AUTHORITY_CHAR}), but of no user
 * name ({@link USER_UNIT}) nor host.
 */
const KEPT_ENDING = 0x7f;

/** Two escaped slashes, or two kept by `decodeAscii`: after a `:`, a scheme's (`https:%2F%2Fu:pw@h`). */
const ESCAPED_SLASHES_AT = /%2F%2F|\x7f\x7f/iy;

/** Whether the `:` at `colon` ends a scheme whose slashes are escaped: not the `:` of a userinfo. */
function isSchemeColon(text: string, colon: number): boolean {
  ESCAPED_SLASHES_AT.lastIndex = colon + 1;
  return ESCAPED_SLASHES_AT.test(text);
}

/**
 * An escape of a character that can start, end or split a userinfo (`@`, `:`, `/`, `\`),
 * split its host (`.`: `u:secret@db%2Eexample.com`, which URL parsers decode) or start it
 * (`[` of an IPv6 address: `u:secret@%5B::1%5D`, as curl sends brackets without `-g`), also
 * escaped again (`%2540`).
 */
const ESCAPED_DELIMITER = /%(?:25){0,2}(?:40|3A|2F|5C|2E|5B)/i;

/** How many times percent-encoded text is decoded to look for userinfo: as deep as a query value is looked into. */
const MAX_DECODINGS = 3;

/** Holds an escaped `@`, `:`, `/`, `\`, `.` or `[` (see {@link ESCAPED_DELIMITER}). */
function hasEscapedDelimiter(text: string): boolean {
  return text.includes("%") && ESCAPED_DELIMITER.test(text);
}

/** Holds an `@` and a `:` or a slash that could start the authority before it. */
function hasRawUserinfoMarks(text: string): boolean {
  return text.includes("@") && (text.includes(":") || text.includes("/") || text.includes("\\"));
}

/**
 * Whether {@link maskUserinfo} may change `text`: it holds an `@` (raw or percent-encoded)
 * and what could start a userinfo before it. A cheap test for callers that otherwise leave
 * a string alone, such as an object key (`?%2F%2Fu%3Asecret%40h` parsed as a query key).
 *
 * @example mayHoldUserinfo("ada@example.com") // false
 * @example mayHoldUserinfo("%2F%2Fu%3Apw%40evil.com") // true
 */
export function mayHoldUserinfo(text: string): boolean {
  return hasRawUserinfoMarks(text) || hasEscapedDelimiter(text);
}

/** One span of userinfo: `[start, end)`, `end` at its `@`. */
type Span = readonly [number, number];

/**
 * The userinfo spans of {@link URL_USERINFO}, {@link bareUserinfoSpans} (a scheme-less
 * userinfo being one that `hostAt` follows) and {@link SPECIAL_SCHEME_USERINFO} in `text`,
 * in its own positions; a userinfo spans no pair of a query (`pairs`, see {@link PAIR_START}).
 */
function userinfoSpans(text: string, hostAt: RegExp, pairs: PairStarts): Span[] {
  const spans: Span[] = [];
  const push = (span: Span | undefined) => span !== undefined && spans.push(span);
  for (const match of text.matchAll(URL_USERINFO)) push(withinPair(text, pairs, match.index + match[1]!.length, match.index + match[0].length - 1));
  bareUserinfoSpans(text, spans, hostAt, pairs);
  for (const match of text.matchAll(SPECIAL_SCHEME_USERINFO)) push(withinPair(text, pairs, match.index + match[1]!.length, match.index + match[0].length - 1));
  return spans;
}

/**
 * `text` with its ASCII escapes (`%40`, `%3a`) decoded, and where each character of the
 * result starts in `text` (and, last, `text.length`). Escapes of other bytes stay as they
 * are: no delimiter of a URL is one of them, and a lone `%` or a broken UTF-8 sequence
 * neither throws nor stops the rest being decoded. With `keepEnding`, the escape of what
 * ends an authority in text (`%2F`, `%3F`, `%20`: not an {@link AUTHORITY_CHAR}), which a
 * password holds escaped (`u%3Aab%2Fcd%40h` is the password `ab/cd`), is decoded to
 * {@link KEPT_ENDING}, which does not end one.
 */
function decodeAscii(text: string, keepEnding: boolean): { decoded: string; starts: number[] } {
  const codes: number[] = [];
  const starts: number[] = [];
  for (let i = 0; i < text.length; ) {
    starts.push(i);
    const code = text.charCodeAt(i);
    const high = code === 37 ? hexDigit(text.charCodeAt(i + 1)) : -1;
    const low = high >= 0 && high < 8 ? hexDigit(text.charCodeAt(i + 2)) : -1;
    if (low >= 0) {
      const decoded = high * 16 + low;
      codes.push(keepEnding && !isAuthorityUnit(decoded) ? KEPT_ENDING : decoded);
      i += 3;
    } else {
      codes.push(code);
      i += 1;
    }
  }
  starts.push(text.length);
  let decoded = "";
  // In slices: String.fromCharCode takes its characters as arguments, which are bounded.
  for (let i = 0; i < codes.length; i += 8192) decoded += String.fromCharCode(...codes.slice(i, i + 8192));
  return { decoded, starts };
}

/** The value of a hexadecimal digit's character code, or -1. */
function hexDigit(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  const lower = code | 32;
  return lower >= 97 && lower <= 102 ? lower - 87 : -1;
}

/**
 * The userinfo spans of percent-encoded URLs in `text` (`/go/https%3A%2F%2Fu%3Asecret%40h`,
 * `//u:secret%40h`, a query value encoded twice, a host's dots escaped), found in the
 * text decoded once, twice and three times, as positions in `text`; and again with the
 * escapes of what ends an authority decoded to what does not (see `decodeAscii`), so that
 * a password holding one, escaped once more with the rest (`user%3Aab%2Fcd%40h`,
 * `user%253Aab%252Fcd%2540h`), is one userinfo still.
 */
function encodedUserinfoSpans(text: string, hostAt: RegExp): Span[] {
  const spans: Span[] = [];
  for (const keepEnding of [false, true]) {
    let level = text;
    // Where each character of `level` starts in `text`.
    let starts: number[] | undefined;
    for (let depth = 0; depth < MAX_DECODINGS && ESCAPED_DELIMITER.test(level); depth++) {
      const next = decodeAscii(level, keepEnding);
      const previous = starts;
      starts = previous === undefined ? next.starts : next.starts.map((at) => previous[at]!);
      level = next.decoded;
      const levelStarts = starts;
      const pairs = new PairStarts(level, (at) => text.charCodeAt(levelStarts[at]!) === 0x26);
      for (const [start, end] of userinfoSpans(level, hostAt, pairs)) spans.push([levelStarts[start]!, levelStarts[end]!]);
    }
  }
  return spans;
}

/**
 * `text` with the userinfo of every URL in it replaced by {@link MASK}, wherever the URL
 * sits and whatever introduces its authority ({@link URL_USERINFO}: `see
 * https://user:secret@host/`, `jdbc:postgresql://user:secret@host/db`, `//user:secret@host`
 * and `\\user:secret@host` in a path, a query or a fragment), and of every scheme-less
 * `user:secret@host` ({@link bareUserinfoSpans}), raw or percent-encoded (`%3A`, `%40`, `%2F`,
 * up to three times over). The whole userinfo is masked, as a bare token is often the user
 * name; everything else is kept byte for byte, escapes included. Linear in the text.
 *
 * @example maskUserinfo("cache at redis://:pw@host:6379") // "cache at redis://****************@host:6379"
 * @example maskUserinfo("http://x//user:pw@evil.com/g") // "http://x//****************@evil.com/g"
 * @example maskUserinfo("/go/https%3A%2F%2Fu%3Apw%40evil.com") // "/go/https%3A%2F%2F****************%40evil.com"
 */
export function maskUserinfo(text: string): string {
  return maskUserinfoSpans(text, HOST_AT);
}

/**
 * An object key with its userinfo masked as {@link maskUserinfo} masks text, except that a
 * scheme-less `user:secret@` needs no whole host after it: the key may end at its `@` or
 * hold only the start of its host ({@link CUT_HOST_AT}), as query parsers cut keys. So a
 * key such as `10:30@venue` is masked too, which in text is not.
 *
 * @example maskKeyUserinfo("user:pw@") // "****************@"
 * @example maskKeyUserinfo("user%3Apw%40") // "****************%40"
 */
export function maskKeyUserinfo(key: string): string {
  return maskUserinfoSpans(key, CUT_HOST_AT);
}

/**
 * The texts {@link maskUserinfo} replaces in `text` (each userinfo as written there, escapes
 * and all), each once, in order; none for most text, at the cost of a look for an `@`.
 *
 * @example userinfoTexts("/a?next=//user:ab+cd@evil.com/g") // ["user:ab+cd"]
 */
export function userinfoTexts(text: string): string[] {
  const texts = new Set<string>();
  // Overlapping spans as one (what one mask replaces): their texts are no longer than `text`.
  let from = 0;
  let to = -1;
  for (const [start, end] of foundSpans(text, HOST_AT)) {
    if (start < to) {
      to = Math.max(to, end);
      continue;
    }
    if (to > from) texts.add(text.slice(from, to));
    [from, to] = [start, end];
  }
  if (to > from) texts.add(text.slice(from, to));
  return [...texts];
}

/** A letter or a digit: what a span left after its masks must hold to hide anything. */
const LETTER_OR_DIGIT = /[\p{L}\p{N}]/u;

/**
 * Whether the span `start`-`end` of `text` is masks and punctuation only: what it covers is
 * masked already. Masking text twice must give what masking it once gave: a mask put in
 * place of a character that ended a userinfo (`pin :\)u:p@h.com` masked as
 * `pin :****************)****************@h.com`, the `\` a value's) made the masks and the
 * `)` between them read as one password when masked again.
 */
function masksOnly(text: string, start: number, end: number): boolean {
  const covered = text.slice(start, end);
  return covered.includes(MASK) && !LETTER_OR_DIGIT.test(covered.replaceAll(MASK, ""));
}

/** The userinfo spans found raw and percent-encoded in `text`, a scheme-less one being one that `hostAt` follows, by start (the longest first); none that only masks cover ({@link masksOnly}). */
function foundSpans(text: string, hostAt: RegExp): Span[] {
  const raw = hasRawUserinfoMarks(text);
  const escaped = hasEscapedDelimiter(text);
  if (!raw && !escaped) return [];
  const spans = raw ? userinfoSpans(text, hostAt, new PairStarts(text)) : [];
  if (escaped) spans.push(...encodedUserinfoSpans(text, hostAt));
  return spans.filter(([start, end]) => !masksOnly(text, start, end)).sort((a, b) => a[0] - b[0] || b[1] - a[1]);
}

/** `text` with the userinfo spans of {@link foundSpans} masked. */
function maskUserinfoSpans(text: string, hostAt: RegExp): string {
  const spans = foundSpans(text, hostAt);
  if (spans.length === 0) return text;
  let out = "";
  let kept = 0;
  for (const [start, end] of spans) {
    // A span within one masked already (the same userinfo found raw and decoded, or by both forms).
    if (end <= kept) continue;
    out += text.slice(kept, Math.max(start, kept)) + (start >= kept ? MASK : "");
    kept = end;
  }
  return out + text.slice(kept);
}
