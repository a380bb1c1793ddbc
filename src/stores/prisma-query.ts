import { EVENT_FIELDS, type AuditEventRecord } from "../model/event-record";
import type { ContentValue, EventFilter, EventPageRequest, EventSummary, JsonEventPage } from "../model/event-filter";
import { emptySummary } from "../query/tally-summary";
import type { RawClient } from "./prisma-client";
import { quoteIdentifier, type ModelTable, type SqlProvider } from "./prisma-metadata";
import { epochMilliseconds } from "./prisma-utc-session";
import { unstoredFieldSql } from "./prisma-event-model";
import { storedInstant, storedRecord, UNSTORED_FIELD_VALUES, type OptionalField } from "./stored-record";

/** The tables a query may read, resolved from the Prisma client once. */
export interface QueryTables {
  provider: SqlProvider;
  live: ModelTable;
  archive: ModelTable;
}

/** Collects the values of a statement and hands out their placeholders. */
class Parameters {
  readonly values: unknown[] = [];
  constructor(private readonly provider: SqlProvider) {}

  /** A placeholder for `value`; on PostgreSQL with `cast` appended (`$3::jsonb`). */
  add(value: unknown, cast?: string): string {
    this.values.push(value);
    if (this.provider !== "postgresql") return "?";
    return `$${this.values.length}${cast === undefined ? "" : `::${cast}`}`;
  }

  /**
   * A moment, in the form each driver compares with its timestamp column. On
   * PostgreSQL it is ISO 8601 text with its `Z`, cast to `timestamptz`: Prisma's pg
   * adapter would send a Date without a zone, which the server reads in the session's
   * TimeZone (prisma/orm#26786). MySQL's adapter sends a Date as UTC text, which a
   * `DATETIME` column compares as it is; SQLite's as the text (or epoch milliseconds)
   * Prisma stores.
   */
  moment(value: Date): string {
    return this.provider === "postgresql" ? this.add(value.toISOString(), "timestamptz") : this.add(value);
  }
}

function column(table: ModelTable, field: string): string {
  const quoted = table.columns.get(field);
  // The archive plan checks the same; a model without the core fields cannot be read.
  if (quoted === undefined) throw new Error(`the model ${table.model} has no "${field}" field`);
  return quoted;
}

/** Escapes LIKE wildcards, so the search text matches literally (escape character `\`). */
function likeContaining(text: string): string {
  return `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** `$."key"`: keys are restricted to characters that need no escaping in a JSON path. */
function jsonPath(key: string): string {
  return `$."${key}"`;
}

function contentCondition(provider: SqlProvider, content: string, key: string, value: ContentValue, params: Parameters): string {
  switch (provider) {
    case "postgresql":
      // @> lets a GIN index on content find the rows; -> = keeps exactly the value (not an array holding it).
      return `${content} @> ${params.add(JSON.stringify({ [key]: value }), "jsonb")} AND ${content} -> ${params.add(key, "text")} = ${params.add(JSON.stringify(value), "jsonb")}`;
    case "mysql": {
      const path = jsonPath(key);
      return `JSON_CONTAINS(${content}, ${params.add(JSON.stringify(value))}, ${params.add(path)}) AND JSON_TYPE(JSON_EXTRACT(${content}, ${params.add(path)})) <> 'ARRAY'`;
    }
    case "sqlite": {
      const type = `json_type(${content}, ${params.add(jsonPath(key))})`;
      if (typeof value === "boolean") return `${type} = '${value ? "true" : "false"}'`;
      const types = typeof value === "string" ? "('text')" : "('integer', 'real')";
      return `${type} IN ${types} AND json_extract(${content}, ${params.add(jsonPath(key))}) = ${params.add(value)}`;
    }
  }
}

function searchCondition(provider: SqlProvider, content: string, text: string, params: Parameters): string {
  const pattern = likeContaining(text);
  switch (provider) {
    case "postgresql":
      return `EXISTS (SELECT 1 FROM jsonb_path_query(${content}, 'strict $.**') AS item(value) WHERE jsonb_typeof(item.value) = 'string' AND lower(item.value #>> '{}') LIKE ${params.add(pattern, "text")})`;
    case "mysql":
      // JSON_SEARCH compares string values only; the document is lower-cased as text,
      // which keeps it valid JSON (escapes are lower-case letters or hex digits).
      return `JSON_SEARCH(LOWER(${content}), 'one', ${params.add(pattern)}) IS NOT NULL`;
    case "sqlite":
      return `EXISTS (SELECT 1 FROM json_tree(${content}) WHERE json_tree.type = 'text' AND lower(json_tree.value) LIKE ${params.add(pattern)} ESCAPE '\\')`;
  }
}

/**
 * `column = value`, compared exactly. MySQL's default collation (utf8mb4_unicode_ci)
 * would match "ORD-1" to "ord-1", and every PAD SPACE collation, `utf8mb4_bin` too,
 * "A" to "A " (so a tenant "A" would read the events of a tenant "A "); the first
 * comparison finds the rows through the index, the comparison of the bytes keeps those
 * equal byte for byte, as on PostgreSQL and SQLite.
 */
function equals(provider: SqlProvider, quoted: string, value: string, params: Parameters): string {
  const exact = `${quoted} = ${params.add(value)}`;
  return provider === "mysql" ? `${exact} AND CAST(${quoted} AS BINARY) = CAST(${params.add(value)} AS BINARY)` : exact;
}

/**
 * A column counted by its exact value (see {@link equals}): what to select, and what to
 * group by. On MySQL the groups are the bytes, and each group's text is its one value.
 */
function exactGroup(provider: SqlProvider, quoted: string): { select: string; group: string } {
  return provider === "mysql" ? { select: `MIN(${quoted})`, group: `CAST(${quoted} AS BINARY)` } : { select: quoted, group: quoted };
}

/** The WHERE conditions of `filter` on `table`, without the page position. */
function filterConditions(provider: SqlProvider, table: ModelTable, filter: EventFilter, params: Parameters): string[] {
  const conditions: string[] = [];
  for (const field of ["contentType", "objectId", "userId", "method", "remoteAddr", "action", "outcome", "severity", "tenantId", "requestId"] as const) {
    const value = filter[field];
    if (value !== undefined) conditions.push(equals(provider, column(table, field), value, params));
  }
  const timestamp = column(table, "timestamp");
  if (filter.since !== undefined) conditions.push(`${timestamp} >= ${params.moment(filter.since)}`);
  if (filter.until !== undefined) conditions.push(`${timestamp} < ${params.moment(filter.until)}`);
  const content = column(table, "content");
  for (const [key, value] of filter.content) conditions.push(contentCondition(provider, content, key, value, params));
  if (filter.search !== undefined) conditions.push(searchCondition(provider, content, filter.search, params));
  return conditions;
}

function pageConditions(provider: SqlProvider, table: ModelTable, page: EventPageRequest, params: Parameters): string[] {
  if (page.after === undefined) return [];
  const timestamp = column(table, "timestamp");
  const id = column(table, "id");
  const op = page.order === "asc" ? ">" : "<";
  if (provider === "mysql") {
    // MySQL and MariaDB plan an expanded comparison as index ranges; a row comparison they may not.
    return [`(${timestamp} ${op} ${params.moment(page.after.timestamp)} OR (${timestamp} = ${params.moment(page.after.timestamp)} AND ${id} ${op} ${params.add(page.after.id)}))`];
  }
  return [`(${timestamp}, ${id}) ${op} (${params.moment(page.after.timestamp)}, ${params.add(page.after.id)})`];
}

function where(conditions: string[]): string {
  return conditions.length === 0 ? "" : ` WHERE ${conditions.join(" AND ")}`;
}

/** The tables of a source. */
function tablesOf({ live, archive }: QueryTables, filter: EventFilter): ModelTable[] {
  return filter.source === "live" ? [live] : filter.source === "archive" ? [archive] : [live, archive];
}

/** What a page selects: the stored fields, or (PostgreSQL) the position and the event as JSON text. */
type PageShape = "record" | "json";

/**
 * The column PostgreSQL pages carry the timestamp in, as epoch milliseconds. Prisma's
 * pg adapter reads a `timestamptz` by relabelling the session's offset as UTC, so a
 * session outside UTC would move every instant read as a timestamp (prisma/orm#26786);
 * a number is read as it is.
 */
const EPOCH_MS = "timestampMs";

/**
 * The event as JSON text, built by PostgreSQL: the same keys in the same order as
 * `JSON.stringify` of the record, the timestamp as an ISO string in UTC.
 */
function jsonExpression(provider: SqlProvider, table: ModelTable): string {
  const pairs = EVENT_FIELDS.map((field) => {
    const value = field === "timestamp" ? `to_char(${column(table, field)} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')` : storedField(provider, table, field);
    return `'${field}', ${value}`;
  });
  return `json_build_object(${pairs.join(", ")})::text`;
}

/**
 * The selected columns. On PostgreSQL the timestamp is read from {@link EPOCH_MS}; the
 * column itself stays selected under its own name, which the merged ORDER BY of two
 * tables sorts by (an alias of that name would sort by the expression, past the index).
 */
function selectList(provider: SqlProvider, table: ModelTable, shape: PageShape): string {
  const fields = shape === "record" ? EVENT_FIELDS : (["timestamp", "id"] as const);
  const list = fields.map((field) => `${storedField(provider, table, field)} AS ${quoteIdentifier(provider, field)}`).join(", ");
  if (provider !== "postgresql") return list;
  const withMs = `${list}, ${epochMilliseconds(column(table, "timestamp"))} AS "${EPOCH_MS}"`;
  return shape === "record" ? withMs : `${withMs}, ${jsonExpression(provider, table)} AS "json"`;
}

/**
 * A stored field's column, or, for an event-model field of a model generated before
 * that migration (or a user's own without it), the value such a field reads as.
 */
function storedField(provider: SqlProvider, table: ModelTable, field: string): string {
  if (!table.columns.has(field) && field in UNSTORED_FIELD_VALUES) return unstoredFieldSql(provider, field as OptionalField);
  return column(table, field);
}

function orderBy(provider: SqlProvider, order: "asc" | "desc", table?: ModelTable): string {
  const direction = order === "asc" ? "ASC" : "DESC";
  const [timestamp, id] = table === undefined ? [quoteIdentifier(provider, "timestamp"), quoteIdentifier(provider, "id")] : [column(table, "timestamp"), column(table, "id")];
  return `ORDER BY ${timestamp} ${direction}, ${id} ${direction}`;
}

/**
 * The SQL of one page. With both tables, each is read in order up to the page size
 * (through its own index) and the two are merged: the page is then the first rows
 * of the merged sequence, and its last row is where the next page continues in both.
 */
export function pageStatement(tables: QueryTables, filter: EventFilter, page: EventPageRequest, shape: PageShape = "record"): { sql: string; values: unknown[] } {
  const { provider } = tables;
  const params = new Parameters(provider);
  const selects = tablesOf(tables, filter).map((table) => {
    const conditions = [...filterConditions(provider, table, filter, params), ...pageConditions(provider, table, page, params)];
    return `SELECT ${selectList(provider, table, shape)} FROM ${table.sqlName}${where(conditions)} ${orderBy(provider, page.order, table)} LIMIT ${params.add(page.limit, "int")}`;
  });
  if (selects.length === 1) return { sql: selects[0]!, values: params.values };
  const merged = selects.map((select, i) => `SELECT * FROM (${select}) AS ${quoteIdentifier(provider, `part${i}`)}`).join(" UNION ALL ");
  return { sql: `${merged} ${orderBy(provider, page.order)} LIMIT ${params.add(page.limit, "int")}`, values: params.values };
}

/** The instant of a page row: PostgreSQL's epoch milliseconds, or the Date (or UTC text) the other adapters read. */
function instantOf(row: Record<string, unknown>): Date {
  return storedInstant(row[EPOCH_MS] !== undefined ? row[EPOCH_MS] : row.timestamp);
}

/**
 * A page row as a record: through {@link storedRecord}, as every other read, so that what
 * the driver read (a bigint `seq`, JSON as text, ISO text for an instant) is the model's
 * type; the timestamp from {@link instantOf}.
 */
function asRecord(row: Record<string, unknown>): AuditEventRecord {
  return storedRecord({ ...row, timestamp: instantOf(row) });
}

/** Reads one page of events: see `AuditStore.queryEvents`. */
export async function queryPage(client: RawClient, tables: QueryTables, filter: EventFilter, page: EventPageRequest): Promise<AuditEventRecord[]> {
  const { sql, values } = pageStatement(tables, filter, page);
  const rows = await client.$queryRawUnsafe<Record<string, unknown>[]>(sql, ...values);
  return rows.map(asRecord);
}

/**
 * Reads one page of events as JSON text: see `AuditStore.queryEventsAsJson`.
 * PostgreSQL writes the JSON; the other databases' rows are serialized here.
 */
export async function queryJsonPage(client: RawClient, tables: QueryTables, filter: EventFilter, page: EventPageRequest): Promise<JsonEventPage> {
  if (tables.provider !== "postgresql") {
    const events = await queryPage(client, tables, filter, page);
    return { json: events.map((event) => JSON.stringify(event)), ...(events.length > 0 ? { last: events.at(-1)! } : {}) };
  }
  const { sql, values } = pageStatement(tables, filter, page, "json");
  const rows = await client.$queryRawUnsafe<Array<{ id: string; json: string } & Record<string, unknown>>>(sql, ...values);
  const lastRow = rows.at(-1);
  return { json: rows.map((row) => row.json), ...(lastRow === undefined ? {} : { last: { timestamp: instantOf(lastRow), id: lastRow.id } }) };
}

/**
 * Counts the matching events of every table of the source, in one statement: one snapshot
 * of both tables, so that an archival moving events between them meanwhile neither counts
 * one twice nor misses it.
 */
export async function countMatching(client: RawClient, tables: QueryTables, filter: EventFilter): Promise<number> {
  const params = new Parameters(tables.provider);
  const counts = tablesOf(tables, filter).map((table) => `SELECT COUNT(*) AS n FROM ${table.sqlName}${where(filterConditions(tables.provider, table, filter, params))}`);
  const rows = await client.$queryRawUnsafe<{ n: unknown }[]>(counts.join(" UNION ALL "), ...params.values);
  return rows.reduce((total, row) => total + Number(row.n ?? 0), 0);
}

function utcDayExpression(provider: SqlProvider, timestamp: string): string {
  switch (provider) {
    case "postgresql":
      return `to_char(${timestamp} AT TIME ZONE 'UTC', 'YYYY-MM-DD')`;
    case "mysql":
      // Prisma's adapter and the bulk insert write DATETIME columns as UTC text, which
      // MySQL keeps as it is, whatever the session's time_zone.
      return `DATE_FORMAT(${timestamp}, '%Y-%m-%d')`;
    case "sqlite":
      // Prisma's SQLite adapter writes ISO 8601 text with its offset ("2026-03-04T05:06:07.891+00:00"),
      // or epoch milliseconds with timestampFormat "unixepoch-ms"; SQLite's date functions read
      // both in UTC (never in the process's zone, which only the 'localtime' modifier uses).
      return `CASE WHEN typeof(${timestamp}) IN ('integer', 'real') THEN strftime('%Y-%m-%d', ${timestamp} / 1000, 'unixepoch') ELSE strftime('%Y-%m-%d', ${timestamp}) END`;
  }
}

/**
 * Counts by content type, user, UTC day, action, outcome and severity: up to six
 * grouped queries per table, summed, sent as one statement (`UNION ALL`), which reads one
 * snapshot of both tables: run one after another, they counted an event that archival
 * moved between them twice, or not at all, and disagreed with each other. Users and
 * actions that are null are not counted, nor the event-model fields of a model without them.
 */
export async function summarizeMatching(client: RawClient, tables: QueryTables, filter: EventFilter): Promise<EventSummary> {
  const summary = emptySummary();
  const { provider } = tables;
  const params = new Parameters(provider);
  const groups: string[] = [];
  /** The counts each group of the statement adds to, by its position. */
  const targets: Record<string, number>[] = [];
  for (const table of tablesOf(tables, filter)) {
    const grouped = (field: "contentType" | "userId" | "action" | "outcome" | "severity") => exactGroup(provider, column(table, field));
    const day = utcDayExpression(provider, column(table, "timestamp"));
    const groupings: Array<[Record<string, number>, { select: string; group: string }, string[]]> = [
      [summary.byContentType, grouped("contentType"), []],
      [summary.byUser, grouped("userId"), [`${column(table, "userId")} IS NOT NULL`]],
      [summary.byDay, { select: day, group: day }, []],
    ];
    // A model without the event-model columns has no counts by them: its events' outcome
    // and severity were not stored, and counting them as the defaults would invent them.
    if (table.columns.has("action")) groupings.push([summary.byAction, grouped("action"), [`${column(table, "action")} IS NOT NULL`]]);
    if (table.columns.has("outcome")) groupings.push([summary.byOutcome, grouped("outcome"), []]);
    if (table.columns.has("severity")) groupings.push([summary.bySeverity, grouped("severity"), []]);
    for (const [counts, key, extra] of groupings) {
      const conditions = [...filterConditions(provider, table, filter, params), ...extra];
      groups.push(`SELECT ${targets.length} AS g, ${key.select} AS k, COUNT(*) AS n FROM ${table.sqlName}${where(conditions)} GROUP BY ${key.group}`);
      targets.push(counts);
    }
  }
  const rows = await client.$queryRawUnsafe<{ g: unknown; k: unknown; n: unknown }[]>(groups.join(" UNION ALL "), ...params.values);
  for (const { g, k, n } of rows) {
    const counts = targets[Number(g)]!;
    counts[String(k)] = (counts[String(k)] ?? 0) + Number(n);
  }
  summary.total = Object.values(summary.byContentType).reduce((sum, n) => sum + n, 0);
  return summary;
}
