import { Readable, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";

import { stringify } from "csv-stringify";

import type { AuditEventRecord } from "../event-record";
import type { AuditQuery } from "../query/audit-query";
import { iteratePrepared, prepareQuery, type PreparedQuery } from "../query/find-events";
import { AuditQueryError } from "../query/query-error";
import { CSV_COLUMNS, csvCells } from "./csv-cells";

/** The formats {@link exportEvents} writes. */
export type ExportFormat = "ndjson" | "csv" | "json";

/** Every export format, in the order help texts list them. */
export const EXPORT_FORMATS: readonly ExportFormat[] = ["ndjson", "csv", "json"];

/** The HTTP content type of each format. */
export const EXPORT_CONTENT_TYPES: Readonly<Record<ExportFormat, string>> = {
  ndjson: "application/x-ndjson; charset=utf-8",
  csv: "text/csv; charset=utf-8",
  json: "application/json; charset=utf-8",
};

/** A query plus the format to write it in. */
export interface ExportQuery extends AuditQuery {
  /** `"ndjson"`: one JSON event a line; `"csv"`: RFC 4180 with a header row; `"json"`: one JSON array. */
  format: ExportFormat;
}

/** Options of {@link exportEvents} beyond the API's. */
export interface ExportOptions {
  /** Called after each page is handed to the stream, with the events exported so far. */
  onProgress?: (exported: number) => void;
}

/**
 * Checks an export format.
 *
 * @throws {AuditQueryError} naming the formats.
 */
export function parseExportFormat(value: unknown): ExportFormat {
  if (typeof value === "string" && (EXPORT_FORMATS as readonly string[]).includes(value)) return value as ExportFormat;
  throw new AuditQueryError(`format must be one of ${EXPORT_FORMATS.map((f) => `"${f}"`).join(", ")}, not ${JSON.stringify(value)?.slice(0, 40) ?? String(value)}.`);
}

/** Text chunks of NDJSON or a JSON array: one chunk per page, so the stream sees few, large writes. */
async function* jsonChunks(events: AsyncIterable<AuditEventRecord>, format: "ndjson" | "json"): AsyncGenerator<string> {
  let lines: string[] = [];
  let first = true;
  if (format === "json") yield "[";
  for await (const event of events) {
    lines.push(JSON.stringify(event));
    if (lines.length === 1000) {
      yield pieces(lines, format, first);
      first = false;
      lines = [];
    }
  }
  if (lines.length > 0) yield pieces(lines, format, first);
  if (format === "json") yield "]\n";
}

function pieces(lines: string[], format: "ndjson" | "json", first: boolean): string {
  if (format === "ndjson") return `${lines.join("\n")}\n`;
  return `${first ? "\n" : ",\n"}${lines.join(",\n")}\n`;
}

async function* csvRows(events: AsyncIterable<AuditEventRecord>): AsyncGenerator<string[]> {
  for await (const event of events) yield csvCells(event);
}

/** Streams a prepared query in `format` into `out`, page by page, and ends `out`. */
export async function exportPrepared(prepared: PreparedQuery, format: ExportFormat, out: Writable, options: ExportOptions = {}): Promise<{ exported: number }> {
  let exported = 0;
  const counted = async function* (): AsyncGenerator<AuditEventRecord> {
    for await (const event of iteratePrepared(prepared)) {
      exported++;
      if (exported % 1000 === 0) options.onProgress?.(exported);
      yield event;
    }
    options.onProgress?.(exported);
  };
  if (format === "csv") {
    await pipeline(Readable.from(csvRows(counted())), stringify({ header: true, columns: [...CSV_COLUMNS], eof: true, record_delimiter: "\r\n" }), out);
  } else {
    await pipeline(Readable.from(jsonChunks(counted(), format), { objectMode: false }), out);
  }
  return { exported };
}

/**
 * Writes every matching event to `out` as NDJSON, CSV or a JSON array, and ends `out`.
 * Events are read a page at a time and written as the stream takes them (its
 * back-pressure is honoured), so memory stays flat on any number of events. CSV has
 * a header row of the stored field names, RFC 4180 quoting, JSON fields as JSON text,
 * and cells a spreadsheet would run as formulas (starting with `=`, `+`, `-`, `@`,
 * tab or carriage return) prefixed with `'`.
 *
 * @example
 * ```ts
 * const { exported } = await exportEvents({ format: "csv", since: new Date("2026-01-01") }, createWriteStream("events.csv"));
 * ```
 * @throws {AuditQueryError} before anything is written, when a field or the format is wrong.
 * @throws {AuditStoreError} when the store fails part way; `out` is destroyed then.
 */
export async function exportEvents(query: ExportQuery, out: Writable, options: ExportOptions = {}): Promise<{ exported: number }> {
  const { format, ...rest } = query ?? ({} as ExportQuery);
  const checkedFormat = parseExportFormat(format);
  return exportPrepared(prepareQuery(rest), checkedFormat, out, options);
}
