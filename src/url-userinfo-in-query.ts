import type { JsonObject, JsonValue } from "./model/json";
import { MASK } from "./mask-rules";
import { userinfoTexts } from "./mask-userinfo";
import { decodePercentOnce } from "./percent-decoding";

/**
 * Shorter userinfo is not looked for in the query: `u:p` would be masked inside every
 * value that holds those three characters.
 */
const MIN_USERINFO_UNITS = 4;

/**
 * What a query parser makes of `text` written in a query string: `+` is a space
 * (application/x-www-form-urlencoded, as qs, Node's querystring and URLSearchParams read
 * it), and escapes are decoded once.
 */
function asParsed(text: string): string {
  return decodePercentOnce(text.replaceAll("+", " "));
}

/**
 * Where query parsers split text: pairs (`&`, `;`), a name from its value (`=`), lists
 * (`,`, qs's `comma`) and nested keys (`[`, `]`, and `.` with qs's `allowDots`).
 */
const PARSER_SPLITS = /[&;=,[\].]/;

/**
 * The pieces a parser may make of `userinfo` (see {@link PARSER_SPLITS}), but those of the
 * user name alone: a password split in two (`?user:ab.cdef@h` with `allowDots` is the key
 * `user:ab` holding `cdef@h`) leaves its parts in keys and values.
 */
function splitPieces(userinfo: string): string[] {
  const colon = userinfo.indexOf(":");
  const pieces: string[] = [];
  let at = 0;
  for (const piece of userinfo.split(PARSER_SPLITS)) {
    if (colon === -1 || at + piece.length > colon) pieces.push(piece);
    at += piece.length + 1;
  }
  return pieces.length > 1 ? pieces : [];
}

/** `text` with every one of `forms` in it replaced by {@link MASK}. */
function maskForms(text: string, forms: readonly string[]): string {
  let out = text;
  for (const form of forms) if (out.includes(form)) out = out.split(form).join(MASK);
  return out;
}

/** `value` (masked request data: plain JSON) with `forms` masked in its keys and strings; `value` itself when none is there. */
function maskFormsIn(value: JsonValue, forms: readonly string[]): JsonValue {
  if (typeof value === "string") return maskForms(value, forms);
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) {
    const items = value.map((item) => maskFormsIn(item, forms));
    return items.some((item, i) => item !== value[i]) ? items : value;
  }
  let changed = false;
  const out: JsonObject = {};
  for (const [key, item] of Object.entries(value)) {
    const maskedKey = maskForms(key, forms);
    const masked = maskFormsIn(item, forms);
    if (maskedKey !== key || masked !== item) changed = true;
    out[maskedKey] = masked;
  }
  return changed ? out : value;
}

/**
 * The request's masked query data (`queryParams`) with the userinfo that masking its URL
 * found (see `maskUserinfo`) masked as well, in the forms a query parser gives it: as
 * written, and with `+` read as a space and escapes decoded once. A parser decodes a
 * password's escaped `/`, `?`, `#` or space, and reads its `+` as a space, into text that is
 * no userinfo any more (`?next=//user:ab+cd@evil.com/g` is the value
 * `//user:ab cd@evil.com/g`): the URL says what it was. So are the pieces a parser splits
 * a password into (see {@link splitPieces}). Userinfo, or a piece of it, shorter than 4
 * characters is not looked for. Costs a look for an `@` or an escape in the URL when it holds none.
 *
 * @example maskUrlUserinfoInQuery({ next: "//user:ab cd@evil.com/g" }, "/a?next=//user:ab+cd@evil.com/g") // { next: "//****************@evil.com/g" }
 */
export function maskUrlUserinfoInQuery(queryParams: JsonObject, rawUrl: string): JsonObject {
  const texts = userinfoTexts(rawUrl);
  if (texts.length === 0) return queryParams;
  const forms = new Set<string>();
  for (const text of texts) {
    for (const form of [text, asParsed(text)]) {
      for (const piece of [form, ...splitPieces(form)]) if (piece.length >= MIN_USERINFO_UNITS && piece !== MASK) forms.add(piece);
    }
  }
  // The longest first: a form inside a longer one is masked with it.
  const ordered = [...forms].sort((a, b) => b.length - a.length);
  return ordered.length === 0 ? queryParams : (maskFormsIn(queryParams, ordered) as JsonObject);
}
