/**
 * What a thrown value says, for a log line or an event: an `Error`'s `message` (or the
 * string `message` of an object that has one), a string as it is, anything else through
 * `String()`. Never throws: a value `String()` cannot convert (`Object.create(null)`, an
 * object whose `toString` or `Symbol.toPrimitive` throws, a revoked `Proxy`) is described
 * by its kind, as `[unprintable thrown value: Object]`, so that describing a failure
 * never becomes a second one that loses the first.
 *
 * @example
 * ```ts
 * thrownMessage(new Error("boom")); // "boom"
 * thrownMessage(Object.create(null)); // "[unprintable thrown value: Object]"
 * ```
 */
export function thrownMessage(thrown: unknown): string {
  try {
    if (typeof thrown === "string") return thrown;
    if (typeof thrown === "object" && thrown !== null) {
      const { message } = thrown as { message?: unknown };
      if (typeof message === "string" && (thrown instanceof Error || Object.hasOwn(thrown, "message"))) return message;
    }
    return String(thrown);
  } catch {
    return `[unprintable thrown value: ${kindOf(thrown)}]`;
  }
}

/** `Object`, `Array`, `Function`... from `Object.prototype.toString`, else `typeof` (a revoked Proxy refuses even that). */
function kindOf(value: unknown): string {
  try {
    return Object.prototype.toString.call(value).slice(8, -1);
  } catch {
    return typeof value;
  }
}
