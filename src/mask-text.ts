import { AUTH_SCHEMES, MASK, type MaskRules } from "./mask-rules";

/**
 * A name in free text: a word of letters, digits and underscores that may hold dots,
 * dashes and brackets (`user.password`, `X-Api-Key`, `user[pin]`, `2fa_code`), with a
 * letter somewhere, in any script, with the compatibility forms and invisible
 * format characters that {@link MaskRules.isMaskedKey} folds (full-width letters,
 * zero-width spaces), and `%` of a name percent-encoded (`tok%65n`, `%2570assword`, which
 * isMaskedKey reads decoded).
 */
const NAME_CHAR = String.raw`\p{L}\p{M}\p{N}\p{Cf}_.\-[\]%`;
// A letter after whatever else leads (`2-PASSWORD`, `_token`): a time (`10:30`) names nothing.
const NAME = String.raw`[\p{M}\p{N}_.\-[\]]*[\p{L}\p{Cf}][${NAME_CHAR}]*`;

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
const AUTH_PARAM = String.raw`[\w!#$%&*+.^|~-]+=(?:"(?:[^"\\]|\\[\s\S])*"|[^\s,;"]+)`;

/** What follows an auth scheme: a comma-separated list of auth-params, or a `token68` (a JWT, base64). */
const CREDENTIALS = String.raw`(?:${AUTH_PARAM}(?:\s*,\s*${AUTH_PARAM})*|[A-Za-z0-9\-._~+/]+=*)`;

/**
 * The characters that may separate a name from its value in free text: `=`, `:`, and their
 * full-width and small forms (`＝`, `：`, `﹦`, `﹕`) that text typed with a CJK input method
 * holds, and that NFKC folds to `=` and `:` as it folds a full-width name.
 */
export const NAME_SEPARATOR_CHARS = "=:\uFF1D\uFF1A\uFE66\uFE55";

/**
 * A separator between a name and its value: one of {@link NAME_SEPARATOR_CHARS} and up to two
 * more `=`, `:` or `>` (Ruby's, PHP's and Perl's `=>`, Go's `:=`, `==`, `: =>`), with any
 * spacing. Bounded, so that it stays linear in a run of spaces.
 */
const SEPARATOR = String.raw`\s*[${NAME_SEPARATOR_CHARS}](?:\s*[=:>]){0,2}\s*`;

/**
 * `name=`, `name:` (or another {@link SEPARATOR}) or `name "` in free text, the name bare or
 * quoted as in JSON (`"name":`, `'name' :`, and `\"name\":` of JSON inside a string), never
 * starting inside another word.
 */
const NAMED = new RegExp(String.raw`(?<![${NAME_CHAR}])(?<open>\\?["']?)(?<name>${NAME})\k<open>(?:${SEPARATOR}|\s+(?=\\?["']))`, "gu");

/**
 * The value after a masked name, first match wins: an auth scheme and its credentials
 * (`Bearer eyJ...`, `Digest username="u", response="..."`) and what a plain value would
 * take after them (so that the mask, masked again, is all of the value); a value quoted
 * with escaped quotes (`\"x\"`); a double- or single-quoted value with backslash escapes,
 * of a line break too (unterminated, or cut after a backslash: to the end of the text, as
 * in a message that was cut); else up to a space, `,`, `;`, `&` or `)`.
 */
const VALUE = new RegExp(
  String.raw`${SCHEME}\s+${CREDENTIALS}[^\s,;&)]*|\\(?<escaped>["'])(?:(?!\\\k<escaped>)[\s\S])*(?:\\\k<escaped>|$)|"(?:[^"\\]|\\[\s\S])*(?:"|\\?$)|'(?:[^'\\]|\\[\s\S])*(?:'|\\?$)|[^\s,;&)]+`,
  "y",
);

/**
 * Masks the values of masked names (`maskFields`, and the headers of `maskHeaders`) in free
 * text: `name=value`, `name = value`, `name: value`, `name "value"`, JSON keys in any
 * quoting (`"name":`, `'name' :`, `\"name\":`), as many as the text holds. A
 * name that is not masked is stepped over, not its value: the value may hold masked names
 * (`failed: password=x`, `"user":{"password":"x"}`). A quoted value keeps its quotes
 * around {@link MASK}; an auth scheme's credentials are masked with the scheme.
 *
 * @example maskNamedValues("user = ada db_password : 'a b'", rules) // "user = ada db_password : '****************'"
 */
export function maskNamedValues(text: string, rules: MaskRules): string {
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
 * `text` with the credential after an auth scheme standing alone (`sent Bearer eyJ...` →
 * `sent Bearer ****************`), prose naming a scheme (`Basic authentication`) kept.
 *
 * @example maskSchemeCredentials("sent Bearer eyJhbGciOi") // "sent Bearer ****************"
 */
export function maskSchemeCredentials(text: string): string {
  return text.replace(SCHEME_CREDENTIAL, (_all, scheme: string, space: string) => `${scheme}${space}${MASK}`);
}
