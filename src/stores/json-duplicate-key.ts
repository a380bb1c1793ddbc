/**
 * Finds an object key given twice in JSON text. `JSON.parse` keeps a duplicate key's last
 * value, while MariaDB's and SQLite's JSON functions (the library's content filters) read
 * the first: text with a duplicate key reads one way for verify and another for queries,
 * and no writer stores it (the library writes `JSON.stringify`'s text).
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;

/**
 * The first key that an object of `text` holds twice (compared as the strings they decode
 * to: `"a"` and `"\u0061"` are one key), or undefined. `text` must be valid JSON (it is read
 * after `JSON.parse` accepted it); one pass, no recursion, so any nesting depth is read.
 *
 * @example
 * ```ts
 * duplicateJsonKey('{"n":1,"action":"refund","action":"view"}'); // "action"
 * duplicateJsonKey('{"a":{"b":1},"c":{"b":2}}');                  // undefined
 * ```
 */
export function duplicateJsonKey(text: string): string | undefined {
  // One set of keys per open object, null per open array.
  const open: Array<Set<string> | null> = [];
  let keyNext = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const start = i;
      let escaped = false;
      for (i++; i < text.length && text.charCodeAt(i) !== QUOTE; i++) {
        if (text.charCodeAt(i) === BACKSLASH) {
          escaped = true;
          i++;
        }
      }
      const keys = open.at(-1);
      if (keyNext && keys) {
        const key = escaped ? (JSON.parse(text.slice(start, i + 1)) as string) : text.slice(start + 1, i);
        if (keys.has(key)) return key;
        keys.add(key);
        keyNext = false;
      }
    } else if (c === OPEN_OBJECT) {
      open.push(new Set());
      keyNext = true;
    } else if (c === OPEN_ARRAY) {
      open.push(null);
      keyNext = false;
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      open.pop();
      keyNext = false;
    } else if (c === COMMA) {
      keyNext = open.at(-1) instanceof Set;
    }
  }
  return undefined;
}
