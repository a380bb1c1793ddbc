import { AuditConfigError } from "../errors";
import { CHAIN_PART_RANK, CHAIN_TEXT_COLUMNS, type ChainPageRequest, type ChainStreamRequest, type ChainPart, type ChainRow, type CheckpointPageRequest, type EventKey, type UnsignedEvents, type UnsignedRequest } from "../model/chain-read";
import type { AuditCheckpointRecord } from "../model/checkpoint";
import { CHAIN_FIELDS, EVENT_FIELDS, type AuditEventRecord } from "../model/event-record";
import type { RawClient } from "./prisma-client";
import { integrityMigration, unstoredFieldSql } from "./prisma-event-model";
import { quoteIdentifier, type ModelTable, type SqlProvider } from "./prisma-metadata";
import { duplicateJsonKey } from "./json-duplicate-key";
import { epochMilliseconds } from "./prisma-utc-session";
import { UNSTORED_FIELD_VALUES, type OptionalField } from "./stored-record";


/** The tables verify reads: the events (live and archive) and the checkpoints. */
export interface ChainTables {
  provider: SqlProvider;
  live: ModelTable;
  archive: ModelTable;
  checkpoints: ModelTable;
  /** SQLite: the form its driver adapter writes instants in (see {@link sqliteInstantForm}); the only form verify accepts. */
  sqliteInstants?: SqliteInstantForm;
}

/** The forms `@prisma/adapter-better-sqlite3` writes instants in: its `timestampFormat` option. */
export type SqliteInstantForm = "iso8601" | "unixepoch-ms";

/**
 * The form the client's SQLite adapter writes instants in (its `timestampFormat`, which
 * the client does not expose): the adapter binds an instant given to a raw query as it
 * binds one it writes, so `typeof(?)` of an instant tells the form. Asked of the adapter,
 * not of stored rows, which whoever can write to the database can change.
 *
 * @throws {AuditConfigError} `ERR_AUDIT_STORE_SCHEMA` when the adapter binds an instant in a form verify cannot check.
 */
export async function sqliteInstantForm(client: RawClient): Promise<SqliteInstantForm> {
  const [row] = await client.$queryRawUnsafe<Array<{ kind: unknown }>>("SELECT typeof(?) AS kind", new Date(0));
  if (row?.kind === "text") return "iso8601";
  if (row?.kind === "integer" || row?.kind === "real") return "unixepoch-ms";
  throw new AuditConfigError(`prismaStore(): the SQLite driver adapter binds an instant as ${String(row?.kind)}, neither text (timestampFormat "iso8601") nor a number (timestampFormat "unixepoch-ms"), so verify cannot tell a rewritten timestamp: use @prisma/adapter-better-sqlite3 with one of those formats.`, "ERR_AUDIT_STORE_SCHEMA");
}

const JSON_FIELDS = new Set(["content", "queryParams", "postData", "headers"]);
const CHECKPOINT_FIELDS = ["chainId", "seq", "hash", "keyId", "signature", "createdAt"] as const;

/**
 * Refuses tables that cannot hold a hash chain, naming the migration: a verify that read
 * such a trail as "nothing to check" would look like a clean one.
 *
 * @throws {AuditConfigError} `ERR_AUDIT_STORE_SCHEMA` when a model lacks the chain fields.
 */
export function requireChainTables(tables: ChainTables): void {
  const lacking = [tables.live, tables.archive].filter((table) => CHAIN_FIELDS.some((field) => !table.columns.has(field)));
  const checkpointsLacking = CHECKPOINT_FIELDS.filter((field) => !tables.checkpoints.columns.has(field));
  if (lacking.length === 0 && checkpointsLacking.length === 0) return;
  const what = [...lacking.map((t) => `the model ${t.model} has no ${CHAIN_FIELDS.join("/")} fields`), ...(checkpointsLacking.length > 0 ? [`the model ${tables.checkpoints.model} lacks ${checkpointsLacking.join(", ")}`] : [])];
  throw new AuditConfigError(
    `prismaStore(): ${what.join("; ")}, so the trail cannot be verified. Apply the migration ${integrityMigration(tables.provider)} (copy it into prisma/migrations, then \`npx prisma migrate deploy\`) and add the fields and the AuditCheckpoint model as node_modules/audit-events/prisma/${tables.provider}/schema.prisma declares them, then run \`npx prisma generate\`.`,
    "ERR_AUDIT_STORE_SCHEMA",
  );
}

/** Collects a statement's values and hands out placeholders. */
class Values {
  readonly list: unknown[] = [];
  /** @param literal write instants as literals (PostgreSQL's `COPY`, which takes no parameters): the only values it is given. */
  constructor(private readonly provider: SqlProvider, private readonly literal = false) {}
  add(value: unknown, cast?: string): string {
    if (this.literal) {
      if (!(value instanceof Date)) throw new TypeError("only instants are written as literals");
      return `'${value.toISOString()}'::${cast}`;
    }
    this.list.push(value);
    if (this.provider !== "postgresql") return "?";
    return `$${this.list.length}${cast === undefined ? "" : `::${cast}`}`;
  }
  /** An instant, as each driver compares it with its timestamp columns (see prisma-query.ts). */
  moment(value: Date): string {
    if (this.literal) return this.add(value, "timestamptz");
    return this.provider === "postgresql" ? this.add(value.toISOString(), "timestamptz") : this.add(value);
  }
}

function col(table: ModelTable, field: string): string {
  const quoted = table.columns.get(field);
  if (quoted === undefined) throw new AuditConfigError(`prismaStore(): the model ${table.model} has no "${field}" field.`, "ERR_AUDIT_STORE_SCHEMA");
  return quoted;
}

/** A stored field, or what an event-model field its model lacks reads as. */
function field(provider: SqlProvider, table: ModelTable, name: string): string {
  if (!table.columns.has(name) && name in UNSTORED_FIELD_VALUES) return unstoredFieldSql(provider, name as OptionalField);
  return col(table, name);
}

/** An instant column as the page reads it: epoch milliseconds on PostgreSQL (prisma/orm#26786), the value itself elsewhere. */
function instant(provider: SqlProvider, expression: string): string {
  return provider === "postgresql" ? epochMilliseconds(expression) : expression;
}

const q = quoteIdentifier;

/** A branch's value of a column it has no value for: a NULL of the column's type on PostgreSQL, whose UNION needs one. */
function none(provider: SqlProvider, type: "text" | "float8"): string {
  return provider === "postgresql" ? `CAST(NULL AS ${type})` : "NULL";
}

/** A column as every branch reads it: as text on PostgreSQL (a UUID or JSON column too), so the branches agree on the type; the value itself elsewhere. */
function text(provider: SqlProvider, expression: string): string {
  return provider === "postgresql" ? `CAST(${expression} AS text)` : expression;
}

/** A column's alias: the order of the columns is {@link CHAIN_TEXT_COLUMNS}; `timestamp` reads as `ts`. */
function alias(provider: SqlProvider, name: string): string {
  return q(provider, name === "timestamp" ? "ts" : name);
}

/** `seq` as every branch reads it: a bigint on PostgreSQL, whose driver reads it as a string either way. */
function seqOf(provider: SqlProvider, table: ModelTable): string {
  return provider === "postgresql" ? `CAST(${col(table, "seq")} AS bigint)` : col(table, "seq");
}

/**
 * The columns of an event branch of the chain sequence, {@link CHAIN_TEXT_COLUMNS} as typed
 * columns: instants as epoch milliseconds on PostgreSQL (see `epochMilliseconds`) and as
 * the drivers read them elsewhere, the other columns as text on PostgreSQL. Measured on
 * PostgreSQL through Prisma, these read faster than the row as one JSON text built by the
 * server (bench/verify.ts).
 */
function eventSelect(provider: SqlProvider, table: ModelTable, part: ChainPart): string {
  const value = (name: (typeof CHAIN_TEXT_COLUMNS)[number]): string => {
    switch (name) {
      case "timestamp":
        return instant(provider, col(table, name));
      case "seq":
        return seqOf(provider, table);
      case "part":
        return String(CHAIN_PART_RANK[part]);
      case "keyId":
      case "signature":
        return none(provider, "text");
      case "createdAt":
        return none(provider, "float8");
      default:
        // JSON columns are read as text: Prisma parses SQLite's JSONB column itself and would fail the whole page on one that is not JSON, and a
        // parse (MariaDB's adapter's too) keeps the last of a duplicate key where the database's JSON functions read the first.
        if (JSON_FIELDS.has(name) && provider !== "postgresql") return `CAST(${col(table, name)} AS ${provider === "sqlite" ? "TEXT" : "CHAR"})`;
        return text(provider, field(provider, table, name));
    }
  };
  const columns = CHAIN_TEXT_COLUMNS.map((name) => `${value(name)} AS ${alias(provider, name)}`);
  // SQLite stores instants as text (or epoch ms) that range queries compare as stored: the raw form and its type are checked too.
  if (provider === "sqlite") columns.push(`CAST(${col(table, "timestamp")} AS TEXT) AS ${q(provider, "tsText")}`, `typeof(${col(table, "timestamp")}) AS ${q(provider, "tsType")}`);
  return columns.join(", ");
}

/** The columns of the checkpoint branch: `chainId`, `seq` and `hash` where an event has them, NULL for the other event fields, then the checkpoint's own. */
function checkpointSelect(provider: SqlProvider, table: ModelTable): string {
  const value = (name: (typeof CHAIN_TEXT_COLUMNS)[number]): string => {
    switch (name) {
      case "chainId":
      case "hash":
      case "keyId":
      case "signature":
        return text(provider, col(table, name));
      case "seq":
        return seqOf(provider, table);
      case "part":
        return String(CHAIN_PART_RANK.checkpoint);
      case "createdAt":
        return instant(provider, col(table, name));
      case "timestamp":
        return none(provider, "float8");
      default:
        return none(provider, "text");
    }
  };
  const columns = CHAIN_TEXT_COLUMNS.map((name) => `${value(name)} AS ${alias(provider, name)}`);
  if (provider === "sqlite") columns.push(`NULL AS ${q(provider, "tsText")}`, `NULL AS ${q(provider, "tsType")}`);
  return columns.join(", ");
}

/** `(chainId, seq) > (c, s)`, or `>=` for a part ranked after the position's; MySQL gets the expanded form its planner turns into index ranges. */
function after(provider: SqlProvider, table: ModelTable, part: ChainPart, request: ChainPageRequest, values: Values): string[] {
  const position = request.after;
  if (position === undefined) return [];
  const op = CHAIN_PART_RANK[part] > CHAIN_PART_RANK[position.part] ? ">=" : ">";
  const chain = col(table, "chainId");
  const seq = col(table, "seq");
  if (provider === "mysql") return [`(${chain} > ${values.add(position.chainId)} OR (${chain} = ${values.add(position.chainId)} AND ${seq} ${op} ${values.add(position.seq)}))`];
  return [`(${chain}, ${seq}) ${op} (${values.add(position.chainId)}, ${values.add(position.seq, "bigint")})`];
}

function where(conditions: string[]): string {
  return conditions.length === 0 ? "" : ` WHERE ${conditions.join(" AND ")}`;
}

function eventTables(tables: ChainTables, source: ChainPageRequest["source"]): Array<[ModelTable, "live" | "archive"]> {
  const both: Array<[ModelTable, "live" | "archive"]> = [[tables.live, "live"], [tables.archive, "archive"]];
  return both.filter(([, part]) => source === "all" || source === part);
}

/**
 * The chain sequence as one statement: each table read in `(chainId, seq)` order, merged with
 * the database ordering the three by the same key, so the order is the database's own (its
 * collation of `chainId`). With a `limit` (a page), each table is read through its unique
 * index up to the limit, so a page ends where the next continues in every table.
 */
function chainSequence(tables: ChainTables, request: ChainPageRequest | ChainStreamRequest, values: Values, limit?: number): string {
  const { provider } = tables;
  const bounded = (table: ModelTable) => (limit === undefined ? "" : ` ORDER BY ${col(table, "chainId")}, ${col(table, "seq")} LIMIT ${values.add(limit, "int")}`);
  const selects = eventTables(tables, request.source).map(([table, part]) => {
    // A row whose seq was removed has no place in the chain: its chain shows the gap, and it is counted with the unsigned ones.
    const conditions = [`${col(table, "chainId")} IS NOT NULL`, `${col(table, "seq")} IS NOT NULL`];
    if (request.since !== undefined) conditions.push(`${col(table, "timestamp")} >= ${values.moment(request.since)}`);
    if (request.until !== undefined) conditions.push(`${col(table, "timestamp")} < ${values.moment(request.until)}`);
    if ("after" in request) conditions.push(...after(provider, table, part, request, values));
    return `SELECT ${eventSelect(provider, table, part)} FROM ${table.sqlName}${where(conditions)}${bounded(table)}`;
  });
  const checkpoints = tables.checkpoints;
  const conditions: string[] = [];
  if (request.since !== undefined) conditions.push(`${col(checkpoints, "createdAt")} >= ${values.moment(request.since)}`);
  if ("after" in request) conditions.push(...after(provider, checkpoints, "checkpoint", request, values));
  selects.push(`SELECT ${checkpointSelect(provider, checkpoints)} FROM ${checkpoints.sqlName}${where(conditions)}${bounded(checkpoints)}`);
  const merged = selects.map((select, i) => `SELECT * FROM (${select}) AS ${q(provider, `part${i}`)}`).join(" UNION ALL ");
  return `${merged} ORDER BY ${q(provider, "chainId")}, ${q(provider, "seq")}, ${q(provider, "part")}${limit === undefined ? "" : ` LIMIT ${values.add(limit, "int")}`}`;
}

/** The SQL of one page of the chain sequence (see {@link chainSequence}). */
export function chainPageStatement(tables: ChainTables, request: ChainPageRequest): { sql: string; values: unknown[] } {
  const values = new Values(tables.provider);
  const sql = chainSequence(tables, request, values, request.limit);
  return { sql, values: values.list };
}

/**
 * PostgreSQL: the `COPY ... TO STDOUT` statement that writes the whole chain sequence of
 * `request` as text (see {@link ChainStreamRequest}). `COPY` takes no parameters: the only
 * values, the instants of the range, are written as literals of their ISO text.
 */
export function chainCopyStatement(tables: ChainTables, request: ChainStreamRequest): string {
  return `COPY (${chainSequence(tables, request, new Values(tables.provider, true))}) TO STDOUT`;
}

/** An instant as the drivers read it: epoch milliseconds (PostgreSQL), a Date (MySQL), ISO text or epoch milliseconds (SQLite). */
function dateOf(value: unknown): Date {
  if (value instanceof Date) return value;
  return new Date(typeof value === "string" && !/^\d+(\.\d+)?$/.test(value) ? value : Number(value));
}

/**
 * A JSON column's value, or (as text) why it is not what a writer stores, which verify
 * reports as altered: text that is not JSON, or an object holding a key twice (MariaDB and
 * SQLite keep the text as written; PostgreSQL's jsonb keeps one value per key on write).
 */
function jsonOf(value: unknown, provider: SqlProvider): { value: unknown; unreadable?: string } {
  if (typeof value !== "string") return { value };
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (error) {
    return { value, unreadable: `it holds text that is not JSON (${(error as Error).message})` };
  }
  const duplicate = provider === "postgresql" ? undefined : duplicateJsonKey(value);
  if (duplicate !== undefined) return { value: parsed, unreadable: `it holds the key ${JSON.stringify(duplicate)} twice in one object (duplicate key: verify's parse reads the last value, the database's JSON functions the first)` };
  return { value: parsed };
}

/**
 * Why SQLite's stored instant is not what the adapter writes, or undefined: the adapter
 * writes one form, its `timestampFormat` (`form`): `toISOString()` with `+00:00` for `Z` as
 * text, or epoch milliseconds as an integer. Range queries compare the stored value as it
 * is (text sorts after every number, ISO text of another zone sorts elsewhere), so the same
 * instant stored in another form or zone moves the event in time for them while its hash
 * (over the instant) still fits.
 */
function sqliteInstantProblem(text: unknown, type: unknown, instant: Date, form: SqliteInstantForm): string | undefined {
  if (Number.isNaN(instant.getTime())) return undefined;
  const [expectedType, expected] = form === "iso8601" ? ["text", instant.toISOString().replace("Z", "+00:00")] : ["integer", String(instant.getTime())];
  if (type === expectedType && text === expected) return undefined;
  return `its timestamp is stored as ${String(type)} ${JSON.stringify(text)}, not in the form the SQLite adapter writes (${expectedType} ${JSON.stringify(expected)}, its timestampFormat "${form}"): queries by time compare the stored value, so the event moved in time for them`;
}

function rowOf(row: Record<string, unknown>, tables: ChainTables): ChainRow {
  const part = Number(row.part);
  if (part === CHAIN_PART_RANK.checkpoint) {
    return {
      part: "checkpoint",
      checkpoint: { chainId: row.chainId as string, seq: Number(row.seq), hash: row.hash as string, keyId: row.keyId as string, signature: row.signature as string, createdAt: dateOf(row.createdAt) },
    };
  }
  const event: Record<string, unknown> = {};
  const unreadable: string[] = [];
  for (const name of EVENT_FIELDS) {
    if (name === "timestamp") event[name] = dateOf(row.ts);
    else if (JSON_FIELDS.has(name)) {
      const json = jsonOf(row[name], tables.provider);
      event[name] = json.value;
      if (json.unreadable !== undefined) unreadable.push(`${name}: ${json.unreadable}`);
    } else if (name === "seq") event[name] = Number(row.seq);
    else event[name] = row[name] ?? null;
  }
  const instantProblem = tables.sqliteInstants === undefined ? undefined : sqliteInstantProblem(row.tsText, row.tsType, event.timestamp as Date, tables.sqliteInstants);
  if (instantProblem !== undefined) unreadable.push(instantProblem);
  return { part: part === CHAIN_PART_RANK.live ? "live" : "archive", event: event as unknown as AuditEventRecord, ...(unreadable.length === 0 ? {} : { unreadable: unreadable.join("; ") }) };
}

/** Reads one page of the chain sequence: see `AuditStore.readChainPage`. */
export async function readChainPage(client: RawClient, tables: ChainTables, request: ChainPageRequest): Promise<ChainRow[]> {
  const { sql, values } = chainPageStatement(tables, request);
  const rows = await client.$queryRawUnsafe<Record<string, unknown>[]>(sql, ...values);
  return rows.map((row) => rowOf(row, tables));
}

/** Reads one page of checkpoints, oldest first: see `AuditStore.readCheckpointPage`. */
export async function readCheckpointPage(client: RawClient, tables: ChainTables, request: CheckpointPageRequest): Promise<AuditCheckpointRecord[]> {
  const { provider, checkpoints: table } = tables;
  const values = new Values(provider);
  const [createdAt, chain, seq] = [col(table, "createdAt"), col(table, "chainId"), col(table, "seq")];
  const conditions: string[] = [];
  if (request.since !== undefined) conditions.push(`${createdAt} >= ${values.moment(request.since)}`);
  const position = request.after;
  if (position !== undefined) {
    const at = values.moment(position.createdAt);
    const sameAt = values.moment(position.createdAt);
    // Spelled out rather than as a row comparison so that MySQL plans it on the createdAt index.
    conditions.push(`(${createdAt} > ${at} OR (${createdAt} = ${sameAt} AND (${chain} > ${values.add(position.chainId)} OR (${chain} = ${values.add(position.chainId)} AND ${seq} > ${values.add(position.seq, "bigint")}))))`);
  }
  const select = [chain, seq, col(table, "hash"), col(table, "keyId"), col(table, "signature")].map((c, i) => `${c} AS ${q(provider, CHECKPOINT_FIELDS[i]!)}`);
  select.push(`${instant(provider, createdAt)} AS ${q(provider, "createdAt")}`);
  const sql = `SELECT ${select.join(", ")} FROM ${table.sqlName}${where(conditions)} ORDER BY ${createdAt}, ${chain}, ${seq} LIMIT ${values.add(request.limit, "int")}`;
  const rows = await client.$queryRawUnsafe<Record<string, unknown>[]>(sql, ...values.list);
  return rows.map((row) => ({ chainId: row.chainId as string, seq: Number(row.seq), hash: row.hash as string, keyId: row.keyId as string, signature: row.signature as string, createdAt: dateOf(row.createdAt) }));
}

/** Counts the events without chain fields: see `AuditStore.countUnsigned`. */
export async function countUnsignedEvents(client: RawClient, tables: ChainTables, request: UnsignedRequest): Promise<UnsignedEvents> {
  const { provider } = tables;
  const result: UnsignedEvents = { count: 0, first: null, last: null };
  for (const [table] of eventTables(tables, request.source)) {
    const filter = (values: Values) => {
      const conditions = [`(${col(table, "chainId")} IS NULL OR ${col(table, "seq")} IS NULL)`];
      if (request.since !== undefined) conditions.push(`${col(table, "timestamp")} >= ${values.moment(request.since)}`);
      if (request.until !== undefined) conditions.push(`${col(table, "timestamp")} < ${values.moment(request.until)}`);
      return where(conditions);
    };
    const counted = new Values(provider);
    const [{ n } = { n: 0 }] = await client.$queryRawUnsafe<{ n: unknown }[]>(`SELECT COUNT(*) AS n FROM ${table.sqlName}${filter(counted)}`, ...counted.list);
    if (Number(n) === 0) continue;
    result.count += Number(n);
    for (const direction of ["ASC", "DESC"] as const) {
      const values = new Values(provider);
      const [row] = await client.$queryRawUnsafe<Array<{ id: string; ts: unknown }>>(
        `SELECT ${col(table, "id")} AS ${q(provider, "id")}, ${instant(provider, col(table, "timestamp"))} AS ${q(provider, "ts")} FROM ${table.sqlName}${filter(values)} ORDER BY ${col(table, "timestamp")} ${direction}, ${col(table, "id")} ${direction} LIMIT 1`,
        ...values.list,
      );
      if (row === undefined) continue;
      const key: EventKey = { id: row.id, timestamp: dateOf(row.ts) };
      if (direction === "ASC" && (result.first === null || key.timestamp < result.first.timestamp)) result.first = key;
      if (direction === "DESC" && (result.last === null || key.timestamp > result.last.timestamp)) result.last = key;
    }
  }
  return result;
}
