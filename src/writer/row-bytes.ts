import type { EventRow } from "../stores/store";

/** The most UTF-8 bytes JSON (or a driver's escaping) makes of one UTF-16 unit of a string (`\u001f`). */
const MAX_BYTES_PER_UNIT = 6;
/** What a number, a date or any other scalar is counted as: its longest text (`-1.2345678901234567e-308`) and quotes. */
const SCALAR_BYTES = 26;
/**
 * Containers nested deeper than this are not walked: the row is counted as larger than any
 * bound, so it is written alone. An event's JSON columns are cut at 31 levels
 * (`boundRecord`); only an extra column (or a cycle, which the store refuses) goes deeper.
 */
const DEEPEST = 64;

/** `value`'s size at its largest, in bytes; Infinity past {@link DEEPEST} levels. */
function bytesAtMost(value: unknown, depth: number): number {
  switch (typeof value) {
    case "string":
      return value.length * MAX_BYTES_PER_UNIT + 2;
    case "object":
      break;
    case "bigint":
      return value.toString().length + 2;
    default:
      return SCALAR_BYTES;
  }
  if (value === null || value instanceof Date) return SCALAR_BYTES;
  // A byte column goes as hex (`\x…` on PostgreSQL) or base64: at most two characters a byte.
  if (ArrayBuffer.isView(value)) return value.byteLength * 2 + 4;
  if (depth >= DEEPEST) return Infinity;
  let total = 2;
  if (Array.isArray(value)) {
    for (const item of value) total += bytesAtMost(item, depth + 1) + 1;
    return total;
  }
  const object = value as Record<string, unknown>;
  // for-in rather than Object.keys: no array of keys per object sized.
  for (const key in object) {
    if (Object.hasOwn(object, key)) total += key.length * MAX_BYTES_PER_UNIT + 4 + bytesAtMost(object[key], depth + 1);
  }
  return total;
}

/**
 * An upper bound of what `row` weighs in a write, in bytes: the UTF-8 size of its values'
 * JSON text with every character escaped at its longest (6 bytes a UTF-16 unit), scalars
 * at their longest text, byte arrays as hex. It over-counts (an ASCII text by up to 6
 * times) and never under-counts what the row's JSON could be; it costs a walk of the
 * row's values and no `JSON.stringify`. A row nested deeper than 64 levels is Infinity.
 *
 * @example
 * ```ts
 * rowBytesAtMost({ ...row, content: { note: "x".repeat(1000) } }); // at least 6 000
 * ```
 */
export function rowBytesAtMost(row: EventRow): number {
  return bytesAtMost(row, 0);
}
