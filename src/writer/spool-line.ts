import { crc32 } from "node:zlib";
import type { EventRow } from "../stores/store";

/** Version of the line format, so a later release can still read older spools. */
const FORMAT = 1;

type TypedValue = "date" | "bigint" | "bytes";

interface EncodedRow {
  v: number;
  /** The row, with dates, bigints and bytes as strings. */
  r: Record<string, unknown>;
  /** Which top-level fields were dates, bigints or bytes. */
  t: Record<string, TypedValue>;
}

function hex(checksum: number): string {
  return checksum.toString(16).padStart(8, "0");
}

/**
 * One row as one spool line: `<crc32 of the JSON, 8 hex digits> <JSON>`, without a
 * newline. JSON never holds a raw newline, so lines split safely.
 */
export function encodeSpoolLine(row: EventRow): string {
  const r: Record<string, unknown> = {};
  const t: Record<string, TypedValue> = {};
  for (const [field, value] of Object.entries(row)) {
    if (value instanceof Date) {
      r[field] = value.toISOString();
      t[field] = "date";
    } else if (typeof value === "bigint") {
      r[field] = value.toString();
      t[field] = "bigint";
    } else if (value instanceof Uint8Array) {
      r[field] = Buffer.from(value).toString("base64");
      t[field] = "bytes";
    } else {
      r[field] = value;
    }
  }
  const json = JSON.stringify({ v: FORMAT, r, t } satisfies EncodedRow);
  return `${hex(crc32(json))} ${json}`;
}

/** A spool line that could be read back, or why it could not. */
export type DecodedSpoolLine = { row: EventRow } | { problem: string };

/** Reads a line written by {@link encodeSpoolLine}; never throws. */
export function decodeSpoolLine(line: string): DecodedSpoolLine {
  if (line.length < 10 || line[8] !== " ") return { problem: "not a spool line (no checksum)" };
  const json = line.slice(9);
  if (hex(crc32(json)) !== line.slice(0, 8)) return { problem: "checksum mismatch (the line was changed or half-written)" };
  let parsed: EncodedRow;
  try {
    parsed = JSON.parse(json) as EncodedRow;
  } catch {
    return { problem: "the checksum matches but the JSON does not parse" };
  }
  if (parsed?.v !== FORMAT || typeof parsed.r !== "object" || parsed.r === null || typeof parsed.t !== "object" || parsed.t === null) {
    return { problem: `unknown spool line format ${JSON.stringify(parsed?.v)}` };
  }
  const row: Record<string, unknown> = { ...parsed.r };
  for (const [field, type] of Object.entries(parsed.t)) {
    const value = row[field];
    if (typeof value !== "string") return { problem: `field ${field} should hold a ${type}` };
    row[field] = type === "date" ? new Date(value) : type === "bigint" ? BigInt(value) : Buffer.from(value, "base64");
  }
  if (typeof row.id !== "string" || !(row.timestamp instanceof Date)) return { problem: "the line holds no event id and timestamp" };
  return { row: row as EventRow };
}
