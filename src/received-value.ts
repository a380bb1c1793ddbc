/** The longest string shown whole in an error message; longer ones are cut with `…`. */
const SHOWN_CHARACTERS = 60;

/**
 * A value a caller passed where something else was expected, as an error message names it
 * after "got": its kind with an article, and the value itself when it is short and safe to
 * show (a number, boolean or bigint; a string quoted, cut at 60 characters). Objects and
 * functions are named by kind only: their contents may be secrets.
 *
 * @example
 * ```ts
 * receivedValue(-1);        // "the number -1"
 * receivedValue("fast");    // 'the string "fast"'
 * receivedValue({ a: 1 });  // "an object"
 * receivedValue([1]);       // "an array"
 * ```
 * @throws nothing.
 */
export function receivedValue(value: unknown): string {
  if (value === null) return "null";
  if (value === undefined) return "undefined";
  if (Array.isArray(value)) return "an array";
  switch (typeof value) {
    case "string":
      return `the string ${JSON.stringify(value.length > SHOWN_CHARACTERS ? `${value.slice(0, SHOWN_CHARACTERS)}…` : value)}`;
    case "number":
    case "boolean":
      return `the ${typeof value} ${String(value)}`;
    case "bigint":
      return `the bigint ${String(value)}n`;
    case "object":
      return "an object";
    default:
      return `a ${typeof value}`;
  }
}
