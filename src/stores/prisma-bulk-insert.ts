import { AuditConfigError } from "../errors";
import type { ModelTable, SqlProvider } from "./prisma-metadata";
import type { RawClient, TransactionalClient } from "./prisma-client";
import type { EventRow } from "./store";
import { isChainedBatch } from "./chain-conflict";

/** MySQL and MariaDB refuse a statement with more bind parameters than this. */
const MYSQL_MAX_PARAMETERS = 65_535;
/** Keeps a MySQL statement well under the smallest common `max_allowed_packet` (4 MiB). */
const MYSQL_MAX_STATEMENT_BYTES = 2 * 1024 * 1024;
/** Ids are looked up in chunks of this, well under every database's parameter limit. */
const ID_CHUNK = 500;

/**
 * Prisma ends an interactive transaction after 5 s by default; a big batch on a busy
 * server can take longer, and must not fail for it.
 */
const TRANSACTION_OPTIONS = { timeout: 60_000, maxWait: 10_000 };

/** The delegate calls {@link createManyNew} uses. */
export interface RowDelegate {
  findMany(args: { where: { id: { in: string[] } }; select: { id: true } }): Promise<{ id: string }[]>;
  createMany(args: { data: Record<string, unknown>[] }): Promise<unknown>;
}

/**
 * Writes rows the fastest way the database allows, all or none. Unchained rows whose id is
 * stored already are skipped. Chained rows (see `isChainedBatch`) are inserted as they
 * are: skipping one would leave a hole in its chain, so any row the table cannot take
 * (its id, or its `(chainId, seq)`, held already) fails the whole batch, for the store to
 * tell a replay from a clash (`storedReplays`).
 */
export interface BulkInserter {
  (rows: readonly EventRow[]): Promise<void>;
}

/**
 * Formats a Date as MySQL's `DATETIME(3)` literal in UTC, the way Prisma's adapter
 * sends it: a `DATETIME` keeps the text as it is, whatever the session's time_zone.
 */
function mysqlDateTime(date: Date): string {
  return date.toISOString().replace("T", " ").replace("Z", "");
}

/**
 * A Prisma `Decimal` (or decimal.js) as text; any other object in a column that is
 * not Json is refused rather than stored as "[object Object]".
 */
function decimalText(value: object): string {
  if (typeof (value as { toFixed?: unknown }).toFixed === "function") return String(value);
  throw new AuditConfigError(`prismaStore(): ${Object.prototype.toString.call(value)} cannot be stored in a column that is not Json; return a string, number, Date or Buffer from toRecord.`);
}

/** Turns a row value into what a MySQL statement binds, by the field's Prisma type. */
function mysqlValue(value: unknown, prismaType: string | undefined): unknown {
  if (value === null || value === undefined) return null;
  switch (prismaType) {
    case "Json":
      return JSON.stringify(value);
    case "DateTime":
      return mysqlDateTime(value instanceof Date ? value : new Date(value as string));
    case "Boolean":
      return value ? 1 : 0;
    case "Bytes":
      return Buffer.from(value as Uint8Array);
    default:
      if (typeof value === "object") return decimalText(value);
      return typeof value === "bigint" ? String(value) : value;
  }
}

/** Splits rows into groups with the same set of fields, so each group is one column list. */
function byFieldSet(rows: readonly EventRow[]): EventRow[][] {
  const groups = new Map<string, EventRow[]>();
  for (const row of rows) {
    const key = Object.keys(row).filter((k) => row[k] !== undefined).sort().join("\0");
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [row]);
    else group.push(row);
  }
  return [...groups.values()];
}

function fieldsOf(row: EventRow, table: ModelTable): string[] {
  const fields = Object.keys(row).filter((k) => row[k] !== undefined);
  const unknown = fields.filter((f) => !table.columns.has(f));
  if (unknown.length > 0) {
    throw new AuditConfigError(
      `prismaStore(): the model ${table.model} has no field(s) ${unknown.join(", ")}; toRecord may only return fields of ${table.model}.`,
    );
  }
  return fields;
}

/**
 * A value as JSON for `json_populate_recordset`, which parses it with the column type's
 * own input. A Date goes as ISO 8601 text with its `Z`, which a `timestamptz` reads as
 * that instant whatever the session's TimeZone.
 */
function postgresJsonValue(value: unknown, prismaType: string | undefined): unknown {
  if (value === undefined) return null;
  if (value instanceof Date) return value.toISOString();
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Uint8Array) return `\\x${Buffer.from(value).toString("hex")}`;
  if (prismaType !== "Json" && value !== null && typeof value === "object") return decimalText(value);
  return value;
}

/**
 * PostgreSQL: one `INSERT ... SELECT FROM json_populate_recordset(NULL::<table>, $1)`
 * per group: the whole batch travels as one JSON parameter, and the server converts
 * each value with its column's own type, whatever the columns of the user's model.
 * `ON CONFLICT DO NOTHING` skips ids already stored (with no conflict target, so a
 * composite key such as a partitioned table's `(id, timestamp)` works too); not for
 * chained rows, which it would skip on a `(chainId, seq)` conflict too, silently.
 */
function postgresInserter(client: TransactionalClient, table: ModelTable): BulkInserter {
  const unquoted = (column: string) => column.slice(1, -1).replaceAll('""', '"');
  function statementOf(group: EventRow[]): [string, unknown[]] {
    const fields = fieldsOf(group[0]!, table);
    const columns = fields.map((f) => table.columns.get(f)!);
    const keys = columns.map(unquoted);
    const types = fields.map((f) => table.types.get(f));
    const records = group.map((row) => {
      const record: Record<string, unknown> = {};
      for (let i = 0; i < fields.length; i++) record[keys[i]!] = postgresJsonValue(row[fields[i]!], types[i]);
      return record;
    });
    const list = columns.join(", ");
    const sql =
      `INSERT INTO ${table.sqlName} (${list}) SELECT ${list} FROM json_populate_recordset(NULL::${table.sqlName}, $1::json)` +
      (isChainedBatch(group) ? "" : " ON CONFLICT DO NOTHING");
    return [sql, [JSON.stringify(records)]];
  }
  return (rows) => runAll(client, byFieldSet(rows).map(statementOf));
}

/** Runs the statements of one batch: alone, or in one transaction when there are several. */
async function runAll(client: TransactionalClient, statements: [string, unknown[]][]): Promise<void> {
  if (statements.length === 1) {
    await client.$executeRawUnsafe(statements[0]![0], ...statements[0]![1]);
    return;
  }
  await client.$transaction(async (tx) => {
    for (const [sql, values] of statements) await tx.$executeRawUnsafe(sql, ...values);
  }, TRANSACTION_OPTIONS);
}

/**
 * MySQL/MariaDB: the ids of the batch already stored are looked up (by primary key),
 * then the rest goes in multi-row `INSERT`s under the parameter and packet limits, all
 * in one transaction. Neither `INSERT IGNORE` (it turns other errors, such as
 * truncation, into warnings) nor `ON DUPLICATE KEY UPDATE` (MariaDB then demands the
 * UPDATE privilege on every inserted column, so an insert-only application role, see
 * `audit-events grants`, could not write) is used. Chained rows are not looked up: they
 * are inserted as they are (see {@link BulkInserter}).
 */
function mysqlInserter(client: TransactionalClient, table: ModelTable): BulkInserter {
  const id = table.columns.get("id")!;
  function statementsOf(group: EventRow[]): [string, unknown[]][] {
    const fields = fieldsOf(group[0]!, table);
    const head = `INSERT INTO ${table.sqlName} (${fields.map((f) => table.columns.get(f)!).join(", ")}) VALUES `;
    const tuple = `(${fields.map(() => "?").join(", ")})`;
    const maxRows = Math.max(1, Math.floor(MYSQL_MAX_PARAMETERS / fields.length));
    const statements: [string, unknown[]][] = [];
    let values: unknown[] = [];
    let count = 0;
    let bytes = 0;
    const close = (): void => {
      statements.push([head + Array(count).fill(tuple).join(", "), values]);
      values = [];
      count = 0;
      bytes = 0;
    };
    for (const row of group) {
      const rowValues = fields.map((field) => mysqlValue(row[field], table.types.get(field)));
      const rowBytes = rowValues.reduce<number>((sum, v) => sum + (typeof v === "string" ? Buffer.byteLength(v) : Buffer.isBuffer(v) ? v.length : 16), 0);
      if (count > 0 && (count >= maxRows || bytes + rowBytes > MYSQL_MAX_STATEMENT_BYTES)) close();
      values.push(...rowValues);
      count++;
      bytes += rowBytes;
    }
    if (count > 0) close();
    return statements;
  }
  /** `rows` without those whose id is stored already, or came earlier in `rows`. */
  async function unstored(tx: RawClient, rows: readonly EventRow[]): Promise<EventRow[]> {
    const seen = new Set<string>();
    for (let i = 0; i < rows.length; i += ID_CHUNK) {
      const ids = rows.slice(i, i + ID_CHUNK).map((row) => row.id);
      const found = await tx.$queryRawUnsafe<{ id: unknown }[]>(`SELECT ${id} AS id FROM ${table.sqlName} WHERE ${id} IN (${ids.map(() => "?").join(", ")})`, ...ids);
      for (const row of found) seen.add(String(row.id));
    }
    return rows.filter((row) => !seen.has(row.id) && seen.add(row.id) !== undefined);
  }
  return (rows) =>
    client.$transaction(async (tx) => {
      const fresh = isChainedBatch(rows) ? rows : await unstored(tx, rows);
      for (const [sql, values] of byFieldSet(fresh).flatMap(statementsOf)) await tx.$executeRawUnsafe(sql, ...values);
    }, TRANSACTION_OPTIONS);
}

/**
 * Writes `rows` through Prisma's own `createMany`, leaving out ids already stored (or
 * twice in `rows`) instead of `skipDuplicates`, which on MySQL is `INSERT IGNORE` and
 * would silently cut over-long values. Prisma knows how the schema stores dates and
 * JSON, and fills what only the client knows (`@default(uuid())`, `@updatedAt`).
 */
export async function createManyNew(model: RowDelegate, rows: readonly EventRow[]): Promise<void> {
  const ids = rows.map((row) => row.id);
  const stored = new Set<string>();
  for (let i = 0; i < ids.length; i += ID_CHUNK) {
    const found = await model.findMany({ where: { id: { in: ids.slice(i, i + ID_CHUNK) } }, select: { id: true } });
    for (const { id } of found) stored.add(id);
  }
  const fresh: Record<string, unknown>[] = [];
  for (const row of rows) {
    if (stored.has(row.id)) continue;
    stored.add(row.id);
    fresh.push({ ...row });
  }
  if (fresh.length > 0) await model.createMany({ data: fresh });
}

/**
 * Prisma's `createMany` of `rows`: of those not stored already ({@link createManyNew}), or
 * of all of them when they are chained (see {@link BulkInserter}).
 */
export async function createManyRows(model: RowDelegate, rows: readonly EventRow[]): Promise<void> {
  if (isChainedBatch(rows)) await model.createMany({ data: rows.map((row) => ({ ...row })) });
  else await createManyNew(model, rows);
}

/**
 * SQLite: {@link createManyRows} in one transaction per batch (SQLite writes one
 * transaction at a time, so the look-up of ids already stored and the insert cannot
 * interleave with another writer).
 */
function sqliteInserter(client: TransactionalClient, delegate: string): BulkInserter {
  return async (rows) => {
    await client.$transaction((tx) => createManyRows(tx[delegate] as RowDelegate, rows), TRANSACTION_OPTIONS);
  };
}

/** The bulk insert for `provider` into `table`, the live events model behind `delegate`. */
export function bulkInserter(provider: SqlProvider, client: TransactionalClient, table: ModelTable, delegate: string): BulkInserter {
  switch (provider) {
    case "postgresql":
      return postgresInserter(client, table);
    case "mysql":
      return mysqlInserter(client, table);
    case "sqlite":
      return sqliteInserter(client, delegate);
  }
}
