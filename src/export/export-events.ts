import { Readable, type Writable } from "node:stream";
import { pipeline } from "node:stream/promises";

import { stringify } from "csv-stringify";

import type { AuditQuery } from "../query/audit-query";
import type { EventPosition } from "../model/event-filter";
import { iteratePrepared, ITERATION_PAGE_SIZE, prepareQuery, readPages, type PreparedQuery } from "../query/find-events";
import { AuditQueryError } from "../query/query-error";
import { CSV_COLUMNS, csvCells } from "./csv-cells";
import { checkCloudEventSource, toCloudEvent } from "../integrity/cloud-event";

/** The formats {@link exportEvents} writes. */
export type ExportFormat = "ndjson" | "csv" | "json" | "cloudevents";

/** Every export format, in the order help texts list them. */
export const EXPORT_FORMATS: readonly ExportFormat[] = ["ndjson", "csv", "json", "cloudevents"];

/**
 * The HTTP content type of each format. CloudEvents go out as NDJSON, one structured
 * event (`application/cloudevents+json`) a line: the CloudEvents batch type
 * (`application/cloudevents-batch+json`) is one JSON array, which a reader must hold
 * whole, so it does not fit a stream of any length.
 */
export const EXPORT_CONTENT_TYPES: Readonly<Record<ExportFormat, string>> = {
  ndjson: "application/x-ndjson; charset=utf-8",
  csv: "text/csv; charset=utf-8",
  json: "application/json; charset=utf-8",
  cloudevents: "application/x-ndjson; charset=utf-8",
};

/** The file name extension of each format, for downloads. */
export const EXPORT_FILE_EXTENSIONS: Readonly<Record<ExportFormat, string>> = {
  ndjson: "ndjson",
  csv: "csv",
  json: "json",
  cloudevents: "cloudevents.ndjson",
};

/** A query plus the format to write it in. */
export interface ExportQuery extends AuditQuery {
  /**
   * `"ndjson"`: one JSON event a line; `"csv"`: RFC 4180 with a header row; `"json"`: one
   * JSON array; `"cloudevents"`: one CloudEvents 1.0 structured JSON event a line (see
   * `toCloudEvent`).
   */
  format: ExportFormat;
}

/** Options of {@link exportEvents} beyond the API's. */
export interface ExportOptions {
  /** Called after each page is handed to the stream, with the events exported so far. */
  onProgress?: (exported: number) => void;
  /** The CloudEvents `source` of a `"cloudevents"` export. @default "audit-events" */
  cloudEventSource?: string;
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

/**
 * Events per page of an NDJSON or JSON export. JSON text is compact, and each query
 * costs a round trip and a plan: on PostgreSQL, pages of 5000 exported about a third
 * faster than pages of 1000. Two pages (this one, the next one read ahead) are held.
 */
export const JSON_EXPORT_PAGE_SIZE = 5000;

/** Every matching event as a CloudEvent's JSON text, a page at a time. */
function cloudEventPages({ store, filter, order }: PreparedQuery, source: string | undefined, pageSize = JSON_EXPORT_PAGE_SIZE): AsyncGenerator<readonly string[]> {
  const read = (after: EventPosition | undefined) => store.queryEvents(filter, { order, limit: pageSize, ...(after === undefined ? {} : { after }) });
  return mapPages(readPages(read, (events) => events.at(-1), (events) => events.length, pageSize), (events) => events.map((event) => JSON.stringify(toCloudEvent(event, { source }))));
}

/** Every matching event as JSON text, a page at a time: from the store's own JSON when it has it. */
function jsonPages({ store, filter, order }: PreparedQuery, pageSize = JSON_EXPORT_PAGE_SIZE): AsyncGenerator<readonly string[]> {
  const request = (after: EventPosition | undefined) => ({ order, limit: pageSize, ...(after === undefined ? {} : { after }) });
  if (typeof store.queryEventsAsJson === "function") {
    const read = (after: EventPosition | undefined) => store.queryEventsAsJson!(filter, request(after));
    return mapPages(readPages(read, (page) => page.last, (page) => page.json.length, pageSize), (page) => page.json);
  }
  const read = (after: EventPosition | undefined) => store.queryEvents(filter, request(after));
  return mapPages(readPages(read, (events) => events.at(-1), (events) => events.length, pageSize), (events) => events.map((event) => JSON.stringify(event)));
}

async function* mapPages<Page, T>(pages: AsyncIterable<Page>, map: (page: Page) => T): AsyncGenerator<T> {
  for await (const page of pages) yield map(page);
}

/** Text chunks of NDJSON or a JSON array: one chunk per page, so the stream sees few, large writes. */
async function* jsonChunks(pages: AsyncIterable<readonly string[]>, format: "ndjson" | "json", count: (n: number) => void): AsyncGenerator<string> {
  let first = true;
  if (format === "json") yield "[";
  for await (const lines of pages) {
    if (lines.length === 0) continue;
    count(lines.length);
    yield format === "ndjson" ? `${lines.join("\n")}\n` : `${first ? "\n" : ",\n"}${lines.join(",\n")}\n`;
    first = false;
  }
  if (format === "json") yield "]\n";
}

/**
 * An export whose first page the store has answered: nothing is written yet, so a
 * store that fails on its first read (the database down) fails {@link startExport},
 * while an HTTP answer can still be an error of its own.
 */
export interface StartedExport {
  /** Writes the first page and the rest into `out`, as the stream takes them, and ends `out`; destroys it if the store fails part way. */
  pipeTo(out: Writable): Promise<{ exported: number }>;
  /** Closes the reading without writing anything: for an `out` that went away (a client that left) while the first page was read. */
  cancel(): Promise<void>;
}

/**
 * The same items as `source`, whose first is read now: the returned promise rejects
 * with the source's first failure, and the iterable then yields it and the rest.
 * Leaving the iterable early, or `close()` before iterating, closes the source.
 */
async function readFirst<T>(source: AsyncIterator<T>): Promise<AsyncIterable<T> & { close(): Promise<void> }> {
  const first = await source.next();
  return {
    async close() {
      await source.return?.();
    },
    async *[Symbol.asyncIterator]() {
      let done = false;
      try {
        for (let item = first; !item.done; item = await source.next()) yield item.value;
        done = true;
      } finally {
        if (!done) await source.return?.();
      }
    },
  };
}

/**
 * Reads the first page of a prepared query, to be written in `format` by the returned
 * export's `pipeTo`. Later pages are read as the stream takes them.
 *
 * @throws {AuditStoreError} when the store fails on the first page.
 */
export async function startExport(prepared: PreparedQuery, format: ExportFormat, options: ExportOptions = {}): Promise<StartedExport> {
  let exported = 0;
  const count = (n: number) => {
    exported += n;
    options.onProgress?.(exported);
  };
  if (format === "csv") {
    const events = await readFirst(iteratePrepared(prepared));
    const rows = async function* (): AsyncGenerator<string[]> {
      for await (const event of events) {
        if (++exported % ITERATION_PAGE_SIZE === 0) options.onProgress?.(exported);
        yield csvCells(event);
      }
      options.onProgress?.(exported);
    };
    return {
      async pipeTo(out) {
        await pipeline(Readable.from(rows()), stringify({ header: true, columns: [...CSV_COLUMNS], eof: true, record_delimiter: "\r\n" }), out);
        return { exported };
      },
      cancel: () => events.close(),
    };
  }
  const pages = await readFirst(format === "cloudevents" ? cloudEventPages(prepared, options.cloudEventSource) : jsonPages(prepared));
  return {
    async pipeTo(out) {
      await pipeline(Readable.from(jsonChunks(pages, format === "json" ? "json" : "ndjson", count), { objectMode: false }), out);
      if (exported === 0) options.onProgress?.(0);
      return { exported };
    },
    cancel: () => pages.close(),
  };
}

/**
 * Streams a prepared query in `format` into `out`, page by page, and ends `out`.
 * `out` is destroyed when the store fails, on the first page as part way.
 */
export async function exportPrepared(prepared: PreparedQuery, format: ExportFormat, out: Writable, options: ExportOptions = {}): Promise<{ exported: number }> {
  let started: StartedExport;
  try {
    started = await startExport(prepared, format, options);
  } catch (error) {
    // Without the error: the caller has it as the rejection, and `out` may have no "error" listener.
    out.destroy();
    throw error;
  }
  return started.pipeTo(out);
}

/**
 * Writes every matching event to `out` as NDJSON, CSV, a JSON array or NDJSON of
 * CloudEvents, and ends `out`.
 * Events are read a page at a time and written as the stream takes them (its
 * back-pressure is honoured), so memory stays flat on any number of events. CSV has
 * a header row of the stored field names, RFC 4180 quoting, JSON fields as JSON text,
 * and cells a spreadsheet would run as formulas (starting with `=`, `+`, `-`, `@`,
 * tab or carriage return) prefixed with `'`, as is each part of a cell after a `;`, a
 * tab or a line break that starts so (see `neutralizeFormula`). `"cloudevents"` writes each event as
 * `toCloudEvent(event, { source: options.cloudEventSource })` gives it, one a line.
 *
 * @example
 * ```ts
 * const { exported } = await exportEvents({ format: "csv", since: new Date("2026-01-01") }, createWriteStream("events.csv"));
 * ```
 * @throws {AuditQueryError} before anything is written, when a field or the format is wrong.
 * @throws {AuditConfigError} `ERR_AUDIT_CONFIG` before anything is written, for a
 * `cloudEventSource` that is not a URI-reference.
 * @throws {AuditStoreError} when the store fails, on its first page or part way; `out` is destroyed then.
 */
export async function exportEvents(query: ExportQuery, out: Writable, options: ExportOptions = {}): Promise<{ exported: number }> {
  const { format, ...rest } = query ?? ({} as ExportQuery);
  const checkedFormat = parseExportFormat(format);
  if (options.cloudEventSource !== undefined) checkCloudEventSource(options.cloudEventSource);
  return exportPrepared(prepareQuery(rest), checkedFormat, out, options);
}
