import type { EventRow } from "../stores/store";

/**
 * The most UTF-8 bytes a store sends for one UTF-16 unit of a string: JSON escapes a
 * control character as `\u001f` (6 bytes), and COPY's text format (pgPool) doubles that
 * backslash (`\\u001f`, 7 bytes). Counted at 6, a write of such text passed its bound.
 */
const MAX_BYTES_PER_UNIT = 7;
/** What a number, a date or any other scalar is counted as: its longest text (a Date's `"+275760-09-13T00:00:00.000Z"`, longer than a number's `-1.2345678901234567e-308`). */
const SCALAR_BYTES = 29;
/**
 * Containers nested deeper than this are not walked: the row is counted as larger than any
 * bound, so it is written alone. An event's JSON columns are cut at 31 levels
 * (`boundRecord`); only an extra column (or a cycle, which the store refuses) goes deeper.
 */
const DEEPEST = 64;

/**
 * A byte array of `byteLength` bytes at its largest, whichever way a store sends it: as hex
 * or base64 (a Bytes column; a Json column's whole value on PostgreSQL, `"\\x…"`), as a
 * Buffer's toJSON (`{"type":"Buffer","data":[…]}`, up to 4 bytes a byte: a Json column's
 * whole value on MariaDB, or inside any JSON value), or as JSON writes another typed array
 * (an object of its indexes, `"123":255,`). The last is the largest, and is counted as
 * {@link bytesAtMost} would walk it (each index a key, each element a scalar) without walking.
 */
function byteArrayBytesAtMost(byteLength: number): number {
  const indexUnits = String(Math.max(byteLength - 1, 0)).length;
  // Plus the longest frame: a Buffer's `{"type":"Buffer","data":[]}` (27 bytes).
  return byteLength * (indexUnits * MAX_BYTES_PER_UNIT + 4 + SCALAR_BYTES) + 32;
}

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
  if (ArrayBuffer.isView(value)) return byteArrayBytesAtMost(value.byteLength);
  if (depth >= DEEPEST) return Infinity;
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  // A class's value (an extra column's, queued as it is) goes as what its toJSON returns; one
  // that throws fails the write, so its row goes alone.
  if (typeof toJSON === "function") {
    try {
      return bytesAtMost(toJSON.call(value), depth + 1);
    } catch {
      return Infinity;
    }
  }
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
 * JSON text with every character escaped at its longest (7 bytes a UTF-16 unit, COPY's escape of JSON's), scalars
 * at their longest text, byte arrays at their longest form (as JSON writes a typed array: an object of its indexes), an
 * object with `toJSON` as what that returns. It over-counts (an ASCII text by up to 7
 * times) and never under-counts what the row's JSON could be; it costs a walk of the
 * row's values and no `JSON.stringify`. A row nested deeper than 64 levels is Infinity.
 *
 * @example
 * ```ts
 * rowBytesAtMost({ ...row, content: { note: "x".repeat(1000) } }); // at least 7 000
 * ```
 */
export function rowBytesAtMost(row: EventRow): number {
  return bytesAtMost(row, 0);
}
