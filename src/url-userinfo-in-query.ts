import { MASK } from "./mask-rules";
import { userinfoTexts } from "./mask-userinfo";
import { decodePercentOnce } from "./percent-decoding";

/**
 * Shorter userinfo is not looked for in the query: `u:p` would be masked inside every
 * value that holds those three characters.
 */
const MIN_USERINFO_UNITS = 4;

/** The parsed query is looked into this deep, and at most this many of its values, keys and containers; past them it is left to `maskRequestData`. */
const MAX_DEPTH = 16;
const MAX_NODES = 10_000;

/**
 * What query parsers make of `text` written in a query string, each form once: `+` read as
 * a space (application/x-www-form-urlencoded) and escapes decoded once, an escape that is
 * no UTF-8 left as it is (qs keeps the whole value undecoded then, `decodePercentOnce`
 * only the bad escape) or read as U+FFFD (URLSearchParams, Node's querystring).
 */
function parsedForms(text: string): string[] {
  const plus = text.replaceAll("+", " ");
  let whole = plus;
  try {
    whole = decodeURIComponent(plus);
  } catch {
    // qs keeps the value as it is.
  }
  return [text, plus, whole, decodePercentOnce(plus), new URLSearchParams(`a=${text.replaceAll("&", "%26")}`).get("a") ?? text];
}

/** A letter, digit or `_` of any script: what a form's edge may not run into. */
const WORD_UNIT = /[\p{L}\p{N}_]/u;

/**
 * `form` as an alternative of a regular expression (flag `u`), which does not match inside
 * a longer word: the user name `admin` is not masked in `administrator`, nor `10:30` in
 * `T10:30:00Z`.
 */
function alternative(form: string): string {
  const escaped = form.replace(/[\\^$.*+?()[\]{}|/]/g, "\\$&");
  const before = WORD_UNIT.test(form.charAt(0)) ? String.raw`(?<![\p{L}\p{N}_])` : "";
  const after = WORD_UNIT.test(form.charAt(form.length - 1)) ? String.raw`(?![\p{L}\p{N}_])` : "";
  return before + escaped + after;
}

/** Replaces every form of `pattern` in a string by {@link MASK}, in one pass over it. */
class FormMasker {
  private nodes = 0;

  constructor(private readonly pattern: RegExp) {}

  string(text: string): string {
    return text.replace(this.pattern, MASK);
  }

  /** `value` with the forms masked in its strings and keys; `value` itself when none is there, or when it is no plain data. */
  value(value: unknown, depth: number): unknown {
    if (++this.nodes > MAX_NODES) return value;
    if (typeof value === "string") return this.string(value);
    if (typeof value !== "object" || value === null || depth >= MAX_DEPTH) return value;
    if (Array.isArray(value)) {
      const items = value.map((item: unknown) => this.value(item, depth + 1));
      return items.some((item, i) => item !== value[i]) ? items : value;
    }
    // A parser's record (fast-querystring's has a prototype of its own, which holds nothing).
    if (ArrayBuffer.isView(value) || value instanceof Date || value instanceof Map || value instanceof Set || typeof (value as { toJSON?: unknown }).toJSON === "function") return value;
    let changed = false;
    const entries = Object.entries(value).map(([key, item]): [string, unknown] => {
      const maskedKey = this.string(key);
      const masked = this.value(item, depth + 1);
      if (maskedKey !== key || masked !== item) changed = true;
      return [maskedKey, masked];
    });
    // fromEntries defines each key as its own (a `__proto__` key stays a key).
    return changed ? Object.fromEntries(entries) : value;
  }
}

/**
 * A request's parsed query (before `maskRequestData` masks it) with the userinfo that
 * masking its URL finds (see `maskUserinfo`) replaced by {@link MASK}, in the forms a query
 * parser gives it (see {@link parsedForms}). A parser decodes a password's escaped `/`, `?`,
 * `#` or space, and reads its `+` as a space, into text that is no userinfo any more:
 * `?next=//user:ab+cd@evil.com/g` is the value `//user:ab cd@evil.com/g`, and only the URL
 * says what it was. Every form is replaced in one pass over each string and key, so a mask
 * is never masked again, and never inside a longer word. Userinfo shorter than 4 characters is not looked for. Records (their
 * own enumerable keys) and arrays are looked into, 16 levels deep and 10 000 values at most;
 * byte arrays, dates, maps, sets and values with `toJSON` are left as they are. Costs nothing for an empty query, and a look for an
 * `@` or an escape in the URL when it holds none.
 * A password a parser splits at its own syntax (qs's `allowDots` at `.`, a raw `&` or `=`)
 * is not found: its pieces are other keys and values.
 *
 * @example maskUrlUserinfoInQuery({ next: "//user:ab cd@evil.com/g" }, "/a?next=//user:ab+cd@evil.com/g") // { next: "//****************@evil.com/g" }
 */
export function maskUrlUserinfoInQuery(query: unknown, rawUrl: string): unknown {
  // Most requests have no query: their URL is not looked at again (maskUrl looked once).
  if (typeof query !== "string" && (typeof query !== "object" || query === null || Object.keys(query).length === 0)) return query;
  const texts = userinfoTexts(rawUrl);
  if (texts.length === 0) return query;
  const forms = new Set<string>();
  for (const text of texts) {
    // A form made of `*` alone would be found in every mask.
    for (const form of parsedForms(text)) if (form.length >= MIN_USERINFO_UNITS && !/^\**$/.test(form)) forms.add(form);
  }
  if (forms.size === 0) return query;
  // The longest first: a form inside a longer one is masked with it.
  const pattern = new RegExp([...forms].sort((a, b) => b.length - a.length).map(alternative).join("|"), "gu");
  return new FormMasker(pattern).value(query, 0);
}
