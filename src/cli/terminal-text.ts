/**
 * What a terminal acts on or hides: C0 and C1 controls and DEL (`\p{Cc}`: ESC starts
 * escape sequences, CR returns to the start of a line, BS steps back), format
 * characters (`\p{Cf}`: the bidi controls U+061C, U+200E-200F, U+202A-202E and
 * U+2066-2069 reorder a line, zero-width and tag characters are invisible), line and
 * paragraph separators, halves of surrogate pairs, and the blank-looking U+034F,
 * U+115F, U+1160, U+3164 and U+FFA0.
 */
const HIDDEN = String.raw`\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}\u034f\u115f\u1160\u3164\uffa0`;
/** Those, and the backslash, so an escape written here cannot be imitated by the data. */
const HIDDEN_OR_BACKSLASH = new RegExp(String.raw`[${HIDDEN}\\]`, "gu");
/** Those, but for the line feed that separates a message's lines. */
const HIDDEN_BUT_NEWLINE = new RegExp(String.raw`(?!\n)[${HIDDEN}]`, "gu");

function escape(character: string): string {
  if (character === "\\") return "\\\\";
  const code = character.codePointAt(0)!;
  const hex = code.toString(16);
  if (code < 0x100) return `\\x${hex.padStart(2, "0")}`;
  return code <= 0xffff ? `\\u${hex.padStart(4, "0")}` : `\\u{${hex}}`;
}

/**
 * A stored value as one cell of human-readable output: every character a terminal
 * would act on or hide is written visibly, as `\x1b`, `\u202e` or `\u{e0041}`, and a
 * backslash as `\\`, so the value cannot move the cursor, clear the screen, reorder
 * or hide text, or start another line, and reads back unambiguously.
 *
 * @example
 * ```ts
 * terminalCell("a\x1b[2Jb\u202e"); // "a\\x1b[2Jb\\u202e"
 * ```
 */
export function terminalCell(text: string): string {
  return text.replace(HIDDEN_OR_BACKSLASH, escape);
}

/**
 * A message for a terminal, which may echo input (an option's value, a key): like
 * {@link terminalCell}, but line feeds stay line feeds and backslashes stay as they
 * are, since the message's own text holds them.
 *
 * @example
 * ```ts
 * stderr.write(`error: ${terminalMessage(error.message)}\n`);
 * ```
 */
export function terminalMessage(text: string): string {
  return text.replace(HIDDEN_BUT_NEWLINE, escape);
}

/** Hidden characters but the line breaks of records (`\n`, and `\r` before `\n`). */
const HIDDEN_BUT_LINE_BREAKS = new RegExp(String.raw`\r(?!\n)|(?![\r\n])[${HIDDEN}]`, "gu");

/**
 * Machine-readable output (an export, `list --json`) about to be shown on a terminal:
 * in JSON formats every hidden character becomes its JSON escape (`\u202e`), so the text
 * is still the same JSON; in CSV it is written visibly as {@link terminalCell} does.
 * Line breaks between records stay. Written to a file or a pipe, output is not changed.
 *
 * @example
 * ```ts
 * terminalSafeRecords('{"objectId":"a\u202eb"}\n', "json"); // '{"objectId":"a\\u202eb"}\n'
 * ```
 */
export function terminalSafeRecords(text: string, format: "json" | "csv"): string {
  return text.replace(HIDDEN_BUT_LINE_BREAKS, (character) => {
    if (format === "csv") return escape(character);
    return character
      .split("")
      .map((unit) => `\\u${unit.charCodeAt(0).toString(16).padStart(4, "0")}`)
      .join("");
  });
}
