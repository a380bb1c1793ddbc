import { AuditConfigError } from "../errors";
import { nextTurn } from "../event-loop-turn";
import { isoInstant } from "../iso-instant";
import type { ModelTable, SqlProvider } from "./prisma-metadata";
import type { RawClient, TransactionalClient } from "./prisma-client";
import type { UtcSession } from "./prisma-utc-session";
import type { EventRow } from "./store";
import { isChainedBatch } from "./chain-conflict";
import { isFeatureNotSupported } from "./store-failure";

/** MySQL and MariaDB refuse a statement with more bind parameters than this. */
const MYSQL_MAX_PARAMETERS = 65_535;
/** Keeps a MySQL statement well under the smallest common `max_allowed_packet` (4 MiB). */
const MYSQL_MAX_STATEMENT_BYTES = 2 * 1024 * 1024;
/**
 * A PostgreSQL statement's JSON parameter holds records of about this many UTF-16 code
 * units at most (about 160 events of 800 bytes); a batch's statements run in one
 * transaction. Prisma's client handles a statement's parameters synchronously: a batch of
 * 1000 events as one statement (740 Ki units) held the process for 14-26 ms, during which
 * none of its requests, timers or spool acknowledgements ran; in statements of this size,
 * about 10 (measured with a 1 ms timer, loaded machine). Each statement is built only when
 * the one before has run, so a batch is never held whole as JSON, even one whose JSON
 * exceeds V8's longest string (2^29 - 24 code units: 1000 events of 1 MiB content).
 */
const POSTGRES_MAX_JSON_UNITS = 128 * 1024;
/**
 * Statements are built with a turn of the event loop after about this many UTF-16 units
 * of values (a few dozen events): building the JSON of 1000 events in one go held the
 * process for 5-11 ms, during which none of its requests, timers or spool
 * acknowledgements ran.
 */
const TURN_UNITS = 64 * 1024;
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

/** The fields `row` sets (not undefined), sorted: the key of its group in {@link byFieldSet}. */
function fieldSetKey(row: EventRow): string {
  return Object.keys(row).filter((k) => row[k] !== undefined).sort().join("\0");
}

/** Whether `row`'s own keys are `keys`, in that order, none of them undefined: a cheap test of the same field set. */
function hasKeys(row: EventRow, keys: readonly string[]): boolean {
  const own = Object.keys(row);
  if (own.length !== keys.length) return false;
  for (let i = 0; i < own.length; i++) if (own[i] !== keys[i] || row[own[i]!] === undefined) return false;
  return true;
}

/**
 * Splits rows into groups with the same set of fields, so each group is one column list.
 * A row with the keys of the row before it, in the same order (a batch's usual case),
 * joins its group without its sorted key being built.
 */
export function byFieldSet(rows: readonly EventRow[]): EventRow[][] {
  const groups = new Map<string, EventRow[]>();
  let group: EventRow[] | undefined;
  /** The keys of the last row that started a look-up, when none of its values is undefined. */
  let keys: string[] | undefined;
  for (const row of rows) {
    if (keys !== undefined && hasKeys(row, keys)) {
      group!.push(row);
      continue;
    }
    const key = fieldSetKey(row);
    group = groups.get(key);
    if (group === undefined) groups.set(key, (group = []));
    group.push(row);
    const own = Object.keys(row);
    keys = own.every((k) => row[k] !== undefined) ? own : undefined;
  }
  return [...groups.values()];
}

/**
 * The fields `row` sets (those not undefined), all of them columns of `table`.
 *
 * @throws {AuditConfigError} `ERR_AUDIT_CONFIG` naming the fields the model lacks.
 */
export function fieldsOf(row: EventRow, table: ModelTable): string[] {
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
export function postgresJsonValue(value: unknown, prismaType: string | undefined): unknown {
  if (value === undefined) return null;
  if (value instanceof Date) return isoInstant(value);
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Uint8Array) return `\\x${Buffer.from(value).toString("hex")}`;
  if (prismaType !== "Json" && value !== null && typeof value === "object") return decimalText(value);
  return value;
}

/**
 * PostgreSQL: one `INSERT ... SELECT FROM json_populate_recordset(NULL::<table>, $1)`
 * per group (per part of a group when its JSON passes {@link POSTGRES_MAX_JSON_UNITS};
 * the statements of a batch run in one transaction): the rows travel as JSON parameters, and the server converts
 * each value with its column's own type, whatever the columns of the user's model.
 * `ON CONFLICT DO NOTHING` skips ids already stored (with no conflict target, so a
 * composite key such as a partitioned table's `(id, timestamp)` works too); not for
 * chained rows, which it would skip on a `(chainId, seq)` conflict too, silently.
 *
 * A table where PostgreSQL does not support that statement (SQLSTATE 0A000: `ON
 * CONFLICT` on a table with `ON INSERT` rules) gets the batch through Prisma's plain
 * `createMany` instead ({@link createManyRows}, one transaction), which runs the rules.
 * That call goes through `session`: Prisma's pg adapter sends a Date without its zone,
 * which a session outside UTC would store an offset away from its instant.
 */
function postgresInserter(client: TransactionalClient, table: ModelTable, delegate: string, session: UtcSession): BulkInserter {
  const unquoted = (column: string) => column.slice(1, -1).replaceAll('""', '"');
  /**
   * The statements of `group`, each built when the one before was taken: a batch's JSON is
   * never held whole, and the event loop goes round every {@link TURN_UNITS} built.
   */
  async function* statementsOf(group: EventRow[]): AsyncGenerator<[string, unknown[]]> {
    const fields = fieldsOf(group[0]!, table);
    const columns = fields.map((f) => table.columns.get(f)!);
    const keys = columns.map(unquoted);
    const types = fields.map((f) => table.types.get(f));
    const list = columns.join(", ");
    const sql =
      `INSERT INTO ${table.sqlName} (${list}) SELECT ${list} FROM json_populate_recordset(NULL::${table.sqlName}, $1::json)` +
      (isChainedBatch(group) ? "" : " ON CONFLICT DO NOTHING");
    // The group's JSON array, cut into arrays of whole records under the budget.
    let records: string[] = [];
    let units = 0;
    let sinceTurn = 0;
    for (const row of group) {
      if (sinceTurn >= TURN_UNITS) {
        sinceTurn = 0;
        await nextTurn();
      }
      const record: Record<string, unknown> = {};
      for (let i = 0; i < fields.length; i++) record[keys[i]!] = postgresJsonValue(row[fields[i]!], types[i]);
      const json = JSON.stringify(record);
      if (records.length > 0 && units + json.length + 1 > POSTGRES_MAX_JSON_UNITS) {
        yield [sql, [`[${records.join(",")}]`]];
        records = [];
        units = 0;
      }
      records.push(json);
      units += json.length + 1;
      sinceTurn += json.length;
    }
    yield [sql, [`[${records.join(",")}]`]];
  }
  async function* statements(rows: readonly EventRow[]): AsyncGenerator<[string, unknown[]]> {
    for (const group of byFieldSet(rows)) yield* statementsOf(group);
  }
  return async (rows) => {
    try {
      await runAll(client, statements(rows));
    } catch (error) {
      if (!isFeatureNotSupported(error)) throw error;
      await client.$transaction((tx) => session.runIn(tx, (model) => createManyRows(model[delegate] as RowDelegate, rows)), TRANSACTION_OPTIONS);
    }
  };
}

/**
 * Runs the statements of one batch: alone, or in one transaction when there are several.
 * Each is built when the one before has run (the first two before the first runs, to
 * tell which), so a batch takes at most two statements' memory beside it.
 */
async function runAll(client: TransactionalClient, statements: AsyncIterator<[string, unknown[]]>): Promise<void> {
  const take = async (): Promise<[string, unknown[]] | undefined> => {
    const taken = await statements.next();
    return taken.done ? undefined : taken.value;
  };
  const ahead: [string, unknown[]][] = [];
  for (let i = 0; i < 2; i++) {
    const statement = await take();
    if (statement !== undefined) ahead.push(statement);
  }
  if (ahead.length < 2) {
    const only = ahead.pop();
    if (only !== undefined) await client.$executeRawUnsafe(only[0], ...only[1]);
    return;
  }
  await client.$transaction(async (tx) => {
    for (let statement = ahead.shift() ?? (await take()); statement !== undefined; statement = ahead.shift() ?? (await take())) await tx.$executeRawUnsafe(statement[0], ...statement[1]);
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
  /**
   * The statements of `group`, each built when the one before was taken: a batch is never
   * held whole as statements, and the event loop goes round every {@link TURN_UNITS} built.
   */
  async function* statementsOf(group: EventRow[]): AsyncGenerator<[string, unknown[]]> {
    const fields = fieldsOf(group[0]!, table);
    const head = `INSERT INTO ${table.sqlName} (${fields.map((f) => table.columns.get(f)!).join(", ")}) VALUES `;
    const tuple = `(${fields.map(() => "?").join(", ")})`;
    const maxRows = Math.max(1, Math.floor(MYSQL_MAX_PARAMETERS / fields.length));
    let values: unknown[] = [];
    let count = 0;
    let bytes = 0;
    let sinceTurn = 0;
    for (const row of group) {
      if (sinceTurn >= TURN_UNITS) {
        sinceTurn = 0;
        await nextTurn();
      }
      const rowValues = fields.map((field) => mysqlValue(row[field], table.types.get(field)));
      const rowBytes = rowValues.reduce<number>((sum, v) => sum + (typeof v === "string" ? Buffer.byteLength(v) : Buffer.isBuffer(v) ? v.length : 16), 0);
      if (count > 0 && (count >= maxRows || bytes + rowBytes > MYSQL_MAX_STATEMENT_BYTES)) {
        yield [head + Array(count).fill(tuple).join(", "), values];
        values = [];
        count = 0;
        bytes = 0;
      }
      values.push(...rowValues);
      count++;
      bytes += rowBytes;
      sinceTurn += rowBytes;
    }
    if (count > 0) yield [head + Array(count).fill(tuple).join(", "), values];
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
      for (const group of byFieldSet(fresh)) for await (const [sql, values] of statementsOf(group)) await tx.$executeRawUnsafe(sql, ...values);
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

/**
 * The bulk insert for `provider` into `table`, the live events model behind `delegate`;
 * `session` runs the Prisma model calls of a fallback, so their instants stay UTC.
 */
export function bulkInserter(provider: SqlProvider, client: TransactionalClient, table: ModelTable, delegate: string, session: UtcSession): BulkInserter {
  switch (provider) {
    case "postgresql":
      return postgresInserter(client, table, delegate, session);
    case "mysql":
      return mysqlInserter(client, table);
    case "sqlite":
      return sqliteInserter(client, delegate);
  }
}
