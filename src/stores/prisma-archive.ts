import { AuditConfigError } from "../errors";
import { CHAIN_FIELDS, EVENT_MODEL_FIELDS } from "../model/event-record";
import { eventModelMigration, integrityMigration } from "./prisma-event-model";
import type { RawClient, TransactionalClient } from "./prisma-client";
import type { ModelTable, SqlProvider } from "./prisma-metadata";
import { createManyNew, type RowDelegate } from "./prisma-bulk-insert";
import { epochMilliseconds } from "./prisma-utc-session";
import { checkOut, type PgPoolLike } from "./pg-pool";
import type { ArchiveBatchResult, ArchivePosition, EventRow } from "./store";

/**
 * How long a MySQL or SQLite batch's interactive transaction may run. Prisma's default
 * (5 s) is less than a batch of the largest size takes on a busy server (measured: 66 000
 * rows in 6.7 s on MariaDB under load), and a batch it cuts short fails rather than
 * retries. The work is bounded by the batch size anyway.
 */
const BATCH_TRANSACTION_TIMEOUT_MS = 120_000;

/**
 * How long a MySQL or SQLite batch may wait for a connection of the client's pool before
 * its transaction starts. Prisma's default (2 s) fails a batch whose chains, with
 * `concurrency` above the pool's size or beside a busy application, queue for one.
 */
const BATCH_TRANSACTION_MAX_WAIT_MS = 30_000;

/** What one batch needs to know about the two tables. */
export interface ArchivePlan {
  provider: SqlProvider;
  live: ModelTable;
  archive: ModelTable;
  /** Quoted columns copied from live to archive: every live field the archive also has. */
  copied: string[];
  /** The archive's quoted `archivedAt` column. */
  archivedAt: string;
  id: string;
  timestamp: string;
  /** PostgreSQL only: commit each batch with `synchronous_commit = off`. */
  asyncCommit: boolean;
}

/**
 * Pairs the live and archive tables. Columns are matched by field name, so a
 * swapped-in pair of models with extra columns keeps them; the archive must have
 * every core field and `archivedAt`.
 *
 * @throws {AuditConfigError} naming the missing field, or `asyncArchiveCommit` on a database other than PostgreSQL.
 */
export function archivePlan(provider: SqlProvider, live: ModelTable, archive: ModelTable, asyncCommit = false): ArchivePlan {
  if (asyncCommit && provider !== "postgresql") {
    throw new AuditConfigError(
      `prismaStore(): asyncArchiveCommit is for PostgreSQL only (this client is ${provider}, which cannot relax durability for one transaction); remove the option.`,
    );
  }
  for (const field of ["id", "timestamp"]) {
    if (!live.columns.has(field)) throw new AuditConfigError(`prismaStore(): the model ${live.model} has no "${field}" field.`);
  }
  const archivedAt = archive.columns.get("archivedAt");
  if (archivedAt === undefined) {
    throw new AuditConfigError(`prismaStore(): the archive model ${archive.model} needs an "archivedAt DateTime" field.`);
  }
  const missing = [...live.columns.keys()].filter((f) => !archive.columns.has(f));
  if (missing.length > 0) {
    const lacks = (fields: readonly string[]) => missing.some((f) => fields.includes(f));
    const migration =
      (lacks(EVENT_MODEL_FIELDS) ? ` The migration ${eventModelMigration(provider)} adds the event model's fields to both tables.` : "") +
      (lacks(CHAIN_FIELDS) ? ` The migration ${integrityMigration(provider)} adds the hash chain's fields to both tables.` : "");
    throw new AuditConfigError(
      `prismaStore(): the archive model ${archive.model} lacks the field(s) ${missing.join(", ")} of ${live.model}; archiving would lose them. Add them to ${archive.model}.${migration}`,
    );
  }
  const fields = [...live.columns.keys()];
  return {
    provider,
    live,
    archive,
    copied: fields.map((f) => archive.columns.get(f)!),
    archivedAt,
    id: live.columns.get("id")!,
    timestamp: live.columns.get("timestamp")!,
    asyncCommit,
  };
}

function liveColumns(plan: ArchivePlan, prefix = ""): string {
  return [...plan.live.columns.values()].map((c) => prefix + c).join(", ");
}

/** The one row the PostgreSQL batch statement returns. */
interface PgBatchRow {
  moved: number;
  ts_ms: number | null;
  id: string | null;
}

/**
 * Runs the PostgreSQL batch statement through `pgPool`, on a connection of its own: the row
 * comes back without Prisma's raw-query layer (half the Node CPU a batch, bench/README.md).
 * The statement stays unnamed, so the server plans it for each batch's own values: a named
 * one would settle, after five runs, on a generic plan made for the tables as they were
 * then (on a small live table, a sequential scan and sort, measured), and keep it on that
 * connection as the tables grow. A connection whose statement failed is closed rather
 * than reused.
 */
async function runOnPool(pool: PgPoolLike, text: string, values: unknown[]): Promise<PgBatchRow[]> {
  const connection = await checkOut(pool);
  try {
    const { rows } = await connection.query<PgBatchRow>({ text, values });
    connection.release();
    return rows;
  } catch (error) {
    connection.release(true);
    throw error;
  }
}

/**
 * PostgreSQL: one statement. Rows are claimed with `FOR UPDATE SKIP LOCKED`, so a
 * second archiver takes other rows and a writer is never blocked; the delete and
 * the copy commit together, and only deleted rows are copied. The claimed rows are
 * deleted by `ctid`: they are locked, so their ctid cannot change before the delete,
 * and it spares a primary-key lookup per row. With `after`, the index scan starts
 * past the rows earlier batches deleted instead of walking their dead entries again.
 * With `asyncCommit`, `set_config(..., true)` turns `synchronous_commit` off for this
 * statement's own transaction only: its commit does not wait for the WAL flush.
 * Instants go in as ISO 8601 text with its `Z` and come back as epoch milliseconds, so
 * the session's TimeZone moves none of them (see `UtcSession`). With `pool`, the same
 * statement runs through it (see {@link runOnPool}), otherwise through Prisma.
 */
async function archiveBatchPostgres(
  client: RawClient,
  pool: PgPoolLike | undefined,
  plan: ArchivePlan,
  before: Date,
  limit: number,
  after: ArchivePosition | undefined,
  archivedAt: Date,
): Promise<ArchiveBatchResult> {
  const { live, archive, id, timestamp } = plan;
  const seek = after === undefined ? "" : `AND (${timestamp}, ${id}) > ($4::timestamptz, $5)`;
  const sql = `
WITH batch AS (
  SELECT ctid AS tid, ${timestamp} AS ts, ${id} AS id FROM ${live.sqlName}
  WHERE ${timestamp} < $1::timestamptz ${seek}
  ORDER BY ${timestamp}, ${id} LIMIT $2 FOR UPDATE SKIP LOCKED
), moved AS (
  DELETE FROM ${live.sqlName} WHERE ctid = ANY (ARRAY(SELECT tid FROM batch)) RETURNING ${liveColumns(plan)}
), copied AS (
  INSERT INTO ${archive.sqlName} (${plan.copied.join(", ")}, ${plan.archivedAt})
  SELECT ${liveColumns(plan)}, $3::timestamptz FROM moved
  ON CONFLICT (${archive.columns.get("id")}) DO NOTHING
)
SELECT m.moved, ${epochMilliseconds("l.ts")} AS ts_ms, l.id::text AS id
FROM (SELECT count(*)::int AS moved FROM moved) AS m
LEFT JOIN (SELECT ts, id FROM batch ORDER BY ts DESC, id DESC LIMIT 1) AS l ON true${
    plan.asyncCommit ? "\nCROSS JOIN (SELECT set_config('synchronous_commit', 'off', true)) AS commit_mode" : ""
  }`;
  const values: unknown[] = [before.toISOString(), limit, archivedAt.toISOString()];
  if (after !== undefined) values.push(after.timestamp.toISOString(), after.id);
  const rows = pool === undefined ? await client.$queryRawUnsafe<PgBatchRow[]>(sql, ...values) : await runOnPool(pool, sql, values);
  const row = rows[0]!;
  return { moved: Number(row.moved), last: row.ts_ms === null ? null : { timestamp: new Date(Number(row.ts_ms)), id: row.id! } };
}

/** MySQL's protocol allows 65 535 parameters a statement; large batches go in chunks. */
const MYSQL_IDS_PER_STATEMENT = 10_000;

function placeholders(count: number): string {
  return Array.from({ length: count }, () => "?").join(", ");
}

/**
 * MySQL/MariaDB: claim with `FOR UPDATE SKIP LOCKED` (MySQL 8, MariaDB 10.6), copy
 * the claimed rows the archive does not hold yet, then delete exactly the claimed
 * rows, in one READ COMMITTED transaction. Both statements reach the live table
 * through its primary key only: on a small table the optimizer prefers a scan, which
 * would lock (and deadlock on) rows another archiver claimed. An id already archived (a replayed duplicate)
 * keeps its archived row and still leaves the live table: it is archived either way.
 */
async function archiveBatchMysql(
  client: TransactionalClient,
  plan: ArchivePlan,
  before: Date,
  limit: number,
  after: ArchivePosition | undefined,
  archivedAt: Date,
): Promise<ArchiveBatchResult> {
  const { live, archive, id, timestamp } = plan;
  const archiveId = archive.columns.get("id")!;
  const seek = after === undefined ? "" : `AND (${timestamp} > ? OR (${timestamp} = ? AND ${id} > ?))`;
  const seekValues = after === undefined ? [] : [after.timestamp, after.timestamp, after.id];
  return client.$transaction(
    async (tx) => {
      const claimed = await tx.$queryRawUnsafe<{ id: string; ts: Date }[]>(
        `SELECT ${id} AS id, ${timestamp} AS ts FROM ${live.sqlName} WHERE ${timestamp} < ? ${seek} ORDER BY ${timestamp}, ${id} LIMIT ? FOR UPDATE SKIP LOCKED`,
        before,
        ...seekValues,
        limit,
      );
      let moved = 0;
      for (let start = 0; start < claimed.length; start += MYSQL_IDS_PER_STATEMENT) {
        const ids = claimed.slice(start, start + MYSQL_IDS_PER_STATEMENT).map((row) => row.id);
        await tx.$executeRawUnsafe(
          `INSERT INTO ${archive.sqlName} (${plan.copied.join(", ")}, ${plan.archivedAt}) SELECT ${liveColumns(plan, "l.")}, ? FROM ${live.sqlName} AS l FORCE INDEX (PRIMARY) WHERE l.${id} IN (${placeholders(ids.length)}) AND NOT EXISTS (SELECT 1 FROM ${archive.sqlName} AS a WHERE a.${archiveId} = l.${id})`,
          archivedAt,
          ...ids,
        );
        moved += await tx.$executeRawUnsafe(`DELETE l FROM ${live.sqlName} AS l FORCE INDEX (PRIMARY) WHERE l.${id} IN (${placeholders(ids.length)})`, ...ids);
      }
      const last = claimed.at(-1);
      return { moved, last: last === undefined ? null : { timestamp: new Date(last.ts), id: last.id } };
    },
    { isolationLevel: "ReadCommitted", timeout: BATCH_TRANSACTION_TIMEOUT_MS, maxWait: BATCH_TRANSACTION_MAX_WAIT_MS },
  );
}

/** The live model's delegate calls the SQLite path uses. */
interface LiveDelegate {
  findMany(args: unknown): Promise<EventRow[]>;
  deleteMany(args: unknown): Promise<{ count: number }>;
}

/**
 * SQLite: one writer at a time, so no claiming is needed; the rows are read and
 * written through the delegates, which store dates in the adapter's own format.
 */
async function archiveBatchSqlite(
  client: TransactionalClient,
  plan: ArchivePlan,
  delegates: { live: string; archive: string },
  before: Date,
  limit: number,
  after: ArchivePosition | undefined,
  archivedAt: Date,
): Promise<ArchiveBatchResult> {
  const newer =
    after === undefined ? {} : { OR: [{ timestamp: { gt: after.timestamp } }, { timestamp: after.timestamp, id: { gt: after.id } }] };
  return client.$transaction(async (tx) => {
    // Take the write lock first: a transaction that reads before it writes cannot wait
    // for another process's lock (SQLite answers "database is locked" at once).
    await tx.$executeRawUnsafe(`DELETE FROM ${plan.live.sqlName} WHERE 0`);
    const live = tx[delegates.live] as LiveDelegate;
    const archive = tx[delegates.archive] as RowDelegate;
    const rows = await live.findMany({ where: { timestamp: { lt: before }, ...newer }, orderBy: [{ timestamp: "asc" }, { id: "asc" }], take: limit });
    const last = rows.at(-1);
    if (last === undefined) return { moved: 0, last: null };
    // Ids the archive already holds (replayed duplicates) keep their archived copy.
    await createManyNew(archive, rows.map((row) => ({ ...row, archivedAt })));
    const moved = (await live.deleteMany({ where: { id: { in: rows.map((row) => row.id) } } })).count;
    return { moved, last: { timestamp: last.timestamp, id: last.id } };
  }, { timeout: BATCH_TRANSACTION_TIMEOUT_MS, maxWait: BATCH_TRANSACTION_MAX_WAIT_MS });
}

/**
 * Moves up to `limit` events older than `before` (and after `after`, when given)
 * from the live to the archive table in one transaction, oldest first, and says how
 * many left the live table and the key of the last one taken. Each of them is in the
 * archive when this resolves; none is deleted otherwise. On PostgreSQL, `pool` (the
 * store's `pgPool`, when given) runs the batch instead of Prisma.
 */
export function archiveBatch(
  client: TransactionalClient,
  plan: ArchivePlan,
  delegates: { live: string; archive: string },
  before: Date,
  limit: number,
  after: ArchivePosition | undefined,
  pool?: PgPoolLike,
): Promise<ArchiveBatchResult> {
  const archivedAt = new Date();
  switch (plan.provider) {
    case "postgresql":
      return archiveBatchPostgres(client, pool, plan, before, limit, after, archivedAt);
    case "mysql":
      return archiveBatchMysql(client, plan, before, limit, after, archivedAt);
    case "sqlite":
      return archiveBatchSqlite(client, plan, delegates, before, limit, after, archivedAt);
  }
}
