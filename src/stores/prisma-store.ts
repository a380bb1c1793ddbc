import { getAuditConfig } from "../config/configure";
import { suggestion } from "../config/suggestion";
import { AuditConfigError, AuditError, AuditStoreError } from "../errors";
import { EVENT_FIELDS, type ArchivedAuditEventRecord, type AuditEventRecord } from "../model/event-record";
import { requireChainFields, requireFilteredFields, TO_RECORD_FALLBACK_FIELDS, unstoredFields, warnMissingEventFields, withoutFields } from "./prisma-event-model";
import { archiveBatch, archivePlan, type ArchivePlan } from "./prisma-archive";
import type { ModelClient, TransactionalClient } from "./prisma-client";
import { bulkInserter, createManyRows, type BulkInserter } from "./prisma-bulk-insert";
import { isChainedBatch, storedReplays, type StoredPosition } from "./chain-conflict";
import { providerOf, tableOf, type ModelTable, type SqlProvider } from "./prisma-metadata";
import { utcSession } from "./prisma-utc-session";
import { isRefusedData } from "./store-failure";
import { countMatching, queryJsonPage, queryPage, summarizeMatching, type QueryTables } from "./prisma-query";
import { storedInstant, storedRecord } from "./stored-record";
import { countUnsignedEvents, readChainPage, readCheckpointPage, requireChainTables, sqliteInstantForm, type ChainTables } from "./prisma-chain-read";
import { readChainText } from "./pg-chain-copy";
import { pgCopyInserter } from "./pg-copy-insert";
import { requirePgPool, type PgPoolLike } from "./pg-pool";
import type { ChainPageRequest, ChainRow, ChainStreamRequest, CheckpointPageRequest, UnsignedEvents, UnsignedRequest } from "../model/chain-read";
import type { EventFilter, EventPageRequest, EventSummary, JsonEventPage } from "../model/event-filter";
import type { AuditCheckpointRecord, CheckpointQuery } from "../model/checkpoint";
import type { ArchiveBatchResult, ArchivePosition, AuditStore, EventOrigin, EventRow, InsertOptions } from "./store";
import { receivedValue } from "../received-value";

/** The part of a Prisma model delegate (`prisma.auditEvent`) the store uses. */
export interface PrismaDelegateLike {
  create(args: { data: Record<string, unknown>; select: { id: true } }): Promise<unknown>;
  createMany(args: { data: Record<string, unknown>[] }): Promise<unknown>;
  findMany(args: { where: { id: { in: string[] } }; select: { id: true } }): Promise<{ id: string }[]>;
  findUnique(args: { where: { id: string } }): Promise<Record<string, unknown> | null>;
  count(args: { where: { timestamp: { lt: Date } } }): Promise<number>;
}

/**
 * Any Prisma client, extended or not, typed by shape so the library never imports
 * the application's generated client.
 */
export type PrismaClientLike = object;

/** Options of {@link prismaStore}. */
export interface PrismaStoreOptions {
  /**
   * The delegate name of the live events model, for a model of your own.
   * @default "auditEvent"
   */
  model?: string;
  /**
   * The delegate name of the archive model.
   * @default "archivedAuditEvent"
   */
  archiveModel?: string;
  /**
   * The delegate name of the checkpoint model (table `audit_checkpoints`), where
   * `integrity` signs the heads of the hash chains.
   * @default "auditCheckpoint"
   */
  checkpointModel?: string;
  /**
   * Fills the extra columns of your own model: returns them for each event. It may also
   * return `action`, `tenantId` or `requestId`, as it did for a column of your own
   * before audit-events had these fields: its value is stored only when the event's own
   * is null (the event's own wins). Every other field audit-events fills is refused.
   * @example (event, context) => ({ region: context.extraData.region })
   */
  // Method syntax on purpose: a callback whose parameter is annotated `AuditContext`
  // (what the store is handed at run time) still type-checks.
  toRecord?(event: AuditEventRecord, context: EventOrigin): Record<string, unknown>;
  /**
   * PostgreSQL only: commit each archival batch without waiting for its WAL flush
   * (`synchronous_commit = off` for that transaction alone; everything else the
   * client does keeps the server's setting). Each batch saves the wait for one WAL
   * flush, a few milliseconds on a local disk (measured in bench/README.md), at a
   * price in durability: if the database server crashes (not the application), the
   * batches committed in its last moments (up to three times `wal_writer_delay`,
   * 600 ms by default) are undone at recovery. A batch is undone whole, its copy with
   * its delete, so no event is lost or doubled: its events are live again and the
   * next run moves them. But the `archived` count of the run that moved them then
   * overstates what survived. Leave it off when that count must hold even across a
   * server crash.
   * @default false
   * @example prismaStore(prisma, { asyncArchiveCommit: true })
   */
  asyncArchiveCommit?: boolean;
  /**
   * PostgreSQL only: the node-postgres `Pool` your Prisma client's `PrismaPg` adapter is
   * built on (or another pool on the same database). The store then writes and reads through
   * `pg` directly where Prisma's raw queries are the bottleneck. The buffered writer's
   * batches (`writeRows`) go as `COPY ... FROM STDIN`, one per set of fields, all of a
   * batch in one transaction, about the rate of raw COPY (`npm run bench:writer`); a COPY
   * that fails leaves nothing and the batch goes through Prisma, whose outcome (ids
   * skipped, rows refused, outage) it then is. Before the pool first writes, one look
   * checks that it reaches the server, database and table Prisma writes, and that the
   * table has no `ON INSERT` rule (COPY runs none); if not, the pool is never used for
   * writes and the logger is warned once, naming both. `verifyAuditTrail()` reads the
   * whole trail with one `COPY ... TO STDOUT` (one snapshot) and hashes it in threads while
   * it reads: about 1.3x the rate of pages through Prisma on a 2-core machine, more with
   * more cores free (`npm run bench:verify`). Uses `pg-copy-streams` (a dependency, loaded
   * only with a pool). The store borrows one connection per read or batch.
   * Archival (`archiveOldEvents()`) runs each batch's one statement on a connection of it
   * too, the same statement as through Prisma, with half the Node CPU a batch.
   * @default none: every read goes through Prisma
   * @example
   * ```ts
   * const pool = new Pool({ connectionString: process.env.DATABASE_URL });
   * const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
   * configureAudit({ store: prismaStore(prisma, { pgPool: pool }) });
   * ```
   */
  pgPool?: PgPoolLike;
}

/** A Prisma store: an {@link AuditStore} plus the delegate names it writes to. */
export interface PrismaStore extends AuditStore {
  readonly model: string;
  readonly archiveModel: string;
  readonly checkpointModel: string;
}

/** The part of the checkpoint model's delegate (`prisma.auditCheckpoint`) the store uses. */
interface CheckpointDelegate {
  create(args: { data: Record<string, unknown> }): Promise<unknown>;
  findMany(args: { where: Record<string, unknown>; orderBy: Record<string, "asc">[] }): Promise<Record<string, unknown>[]>;
}

/** Ids are looked up in chunks of this, well under every database's parameter limit. */
const STORED_ID_CHUNK = 500;

/** The look-up of the events holding some ids or chain positions (see `storedPositions`). */
interface PositionReader {
  findMany(args: { where: { OR: Record<string, unknown>[] }; select: Record<string, true> }): Promise<{ id: string; chainId: string | null; seq: bigint | number | null; hash: string | null }[]>;
}

const RESERVED_FIELDS: ReadonlySet<string> = new Set(EVENT_FIELDS);

/** What a store learns of its client's data model: the database, the live table, and the archive table if the client has one. */
interface KnownTables {
  provider: SqlProvider;
  live: ModelTable;
  archive: ModelTable | null;
}

function delegateOf(client: unknown, model: string, what: string): PrismaDelegateLike {
  const delegate = (client as Record<string, unknown> | null)?.[model] as Partial<PrismaDelegateLike> | undefined;
  if (typeof delegate?.create !== "function" || typeof delegate.findUnique !== "function") {
    throw new AuditConfigError(
      `prismaStore(): ${what} has no model delegate "${model}". Add the AuditEvent model from node_modules/audit-events/prisma/<provider>/schema.prisma to your schema and run \`npx prisma generate\`, or name your own model with prismaStore(prisma, { model: "yourAuditModel" }).`,
    );
  }
  return delegate as PrismaDelegateLike;
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/** The client's database, or null for a stand-in without Prisma's metadata (its calls need no session care). */
function knownProvider(client: unknown): SqlProvider | null {
  try {
    return providerOf(client);
  } catch {
    return null;
  }
}

/**
 * The cause of a failed Prisma call, on one line. Prisma's messages start with the call
 * site and a code frame; the cause is the last paragraph, which may span lines (the
 * mariadb driver's pool timeout gives its pool's state on a second one). A driver's own
 * reason behind it, which Prisma's message leaves out (the server's "Access denied"
 * behind a mariadb pool timeout), follows in parentheses.
 */
function causeLine(error: unknown): string {
  const paragraphs = String((error as Error)?.message ?? error).split(/\n\s*\n/).map((text) => text.split("\n").map((line) => line.trim()).filter(Boolean).join(" "));
  const cause = paragraphs.filter(Boolean).at(-1) ?? "unknown error";
  const driverReason = (error as { meta?: { driverAdapterError?: { cause?: { cause?: unknown } } } } | null)?.meta?.driverAdapterError?.cause?.cause;
  return typeof driverReason === "string" && driverReason.length > 0 && !cause.includes(driverReason) ? `${cause} (${driverReason.replace(/\s+/g, " ")})` : cause;
}

interface DriverErrorShape {
  code?: unknown;
  cause?: unknown;
  meta?: { driverAdapterError?: { cause?: { kind?: unknown } } };
}

/**
 * Whether the database says a table or a column is missing: Prisma's P2021/P2022 from
 * a model query, or, from a raw query (P2010), the kind Prisma's driver adapters give
 * PostgreSQL's 42P01/42703, MySQL's 1146/1054 and SQLite's "no such table/column".
 */
function isMissingSchema(error: unknown): boolean {
  for (let current = error as DriverErrorShape | undefined, depth = 0; current && depth < 5; current = current.cause as DriverErrorShape | undefined, depth++) {
    if (current.code === "P2021" || current.code === "P2022") return true;
    // node-postgres's own codes, from a read through `pgPool`: undefined_table, undefined_column.
    if (current.code === "42P01" || current.code === "42703") return true;
    const kind = current.meta?.driverAdapterError?.cause?.kind;
    if (kind === "TableDoesNotExist" || kind === "ColumnNotFound") return true;
  }
  return false;
}

/** The folder of the migrations a client's database needs. */
function migrationsOf(prisma: unknown): string {
  let provider = "<provider>";
  try {
    provider = providerOf(prisma);
  } catch {
    // A client without metadata cannot say its database; the message names the pattern.
  }
  return `node_modules/audit-events/prisma/${provider}/migrations`;
}

/**
 * The error of a failed store call. A missing table or column is a deployment's
 * configuration, not an outage: it is an {@link AuditConfigError} naming the
 * migrations, whatever the call was, so retrying is never the advice.
 */
function storeError(error: unknown, prisma: unknown, model: string, count: number, doing = `write ${count} event(s)`): AuditError {
  const message = causeLine(error);
  if (isMissingSchema(error)) {
    return new AuditConfigError(
      `prisma(${model}): the audit table or one of its columns is missing from the database (${message}). Copy the migrations of ${migrationsOf(prisma)} that it lacks into prisma/migrations and apply them with \`npx prisma migrate deploy\`.`,
      "ERR_AUDIT_STORE_SCHEMA",
      { cause: error },
    );
  }
  if (errorCode(error) === "P2002") return new AuditStoreError(`prisma(${model}): an event with this id is stored already.`, { cause: error, code: "ERR_AUDIT_DUPLICATE_ID" });
  return new AuditStoreError(`prisma(${model}): could not ${doing}: ${message}`, { cause: error });
}

/** The errors JavaScript itself throws for a wrong value or a wrong use: a fault of the code, never the database's answer. */
const FAULT_NAMES: ReadonlySet<string> = new Set(["TypeError", "RangeError", "SyntaxError", "ReferenceError"]);

/**
 * Whether a read failed in the library's own handling of what the database answered (a
 * value it cannot turn into the model's type or serialize, "Do not know how to serialize a
 * BigInt"), not in the database or its driver: a TypeError, RangeError, SyntaxError or
 * ReferenceError without a code, as the language throws it. Reported as a store failure,
 * it read as an outage, and the command line told the user to check that the database is
 * running.
 */
function isOwnFault(error: unknown): error is Error {
  const shape = error as { name?: unknown; code?: unknown } | null;
  return Object.prototype.toString.call(error) === "[object Error]" && typeof shape?.name === "string" && FAULT_NAMES.has(shape.name) && shape.code === undefined;
}

/** The error of a failed read: {@link storeError}'s, but a fault of the library's own ({@link isOwnFault}) as it was thrown. */
function readError(error: unknown, prisma: unknown, model: string, doing: string): Error {
  return isOwnFault(error) ? error : storeError(error, prisma, model, 0, doing);
}

/** What each option of {@link prismaStore} must be, for the message that refuses another value. */
const PRISMA_STORE_OPTIONS: Readonly<Record<keyof PrismaStoreOptions, string>> = {
  model: 'a delegate name such as "auditEvent"',
  archiveModel: 'a delegate name such as "archivedAuditEvent"',
  checkpointModel: 'a delegate name such as "auditCheckpoint"',
  toRecord: "a function (event, context) => ({ ...extraColumns })",
  asyncArchiveCommit: "true or false",
  pgPool: 'a node-postgres Pool (new Pool() of "pg")',
};

/**
 * Checks the options of {@link prismaStore} as `configureAudit()` checks its own:
 * every key known, every value of its type.
 *
 * @throws {AuditConfigError} naming the option and the fix.
 */
function validateStoreOptions(options: unknown): PrismaStoreOptions {
  if (options === undefined) return {};
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new AuditConfigError(`prismaStore(prisma, options): options must be an object such as { model: "auditEvent" }, or left out.`);
  }
  const known = Object.keys(PRISMA_STORE_OPTIONS);
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw new AuditConfigError(`prismaStore(): unknown option "${key}".${suggestion(key, known)} Options are ${known.join(", ")}.`);
  }
  const given = options as PrismaStoreOptions;
  for (const key of ["model", "archiveModel", "checkpointModel"] as const) {
    const value: unknown = given[key];
    if (value !== undefined && (typeof value !== "string" || value.length === 0)) {
      throw new AuditConfigError(`prismaStore(): ${key} must be ${PRISMA_STORE_OPTIONS[key]}, the name of the model with a lower-case first letter, not ${typeof value === "string" ? "an empty string" : typeof value}.`);
    }
  }
  if (given.toRecord !== undefined && typeof given.toRecord !== "function") {
    throw new AuditConfigError(`prismaStore(): toRecord must be ${PRISMA_STORE_OPTIONS.toRecord}.`);
  }
  if (given.asyncArchiveCommit !== undefined && typeof given.asyncArchiveCommit !== "boolean") {
    throw new AuditConfigError(`prismaStore(): asyncArchiveCommit must be true or false (got ${String(given.asyncArchiveCommit)}), for example { asyncArchiveCommit: true }.`);
  }
  return given;
}

/** Whether `value` can go into a field of Prisma type `type`, as Prisma itself would accept it. */
function fitsType(value: unknown, type: string): boolean {
  if (value === null || value === undefined || type === "Json") return true;
  switch (type) {
    case "String":
      return typeof value === "string";
    case "Int":
    case "Float":
      return typeof value === "number";
    case "BigInt":
      return typeof value === "bigint" || Number.isSafeInteger(value);
    case "Decimal":
      return typeof value === "number" || typeof value === "string" || typeof (value as { toFixed?: unknown }).toFixed === "function";
    case "Boolean":
      return typeof value === "boolean";
    case "DateTime":
      return value instanceof Date && !Number.isNaN(value.getTime());
    case "Bytes":
      return value instanceof Uint8Array;
    default:
      return true;
  }
}

function checkExtraValue(model: string, key: string, value: unknown, types: Map<string, string> | null): void {
  if (types === null) return;
  const type = types.get(key);
  if (type === undefined) {
    throw new AuditError("ERR_AUDIT_CONFIG", `prismaStore(): toRecord returned "${key}", which the model ${model} has no field for; return only fields of ${model}.`);
  }
  if (!fitsType(value, type)) {
    throw new AuditError("ERR_AUDIT_CONFIG", `prismaStore(): toRecord returned ${key} = ${typeof value === "object" ? Object.prototype.toString.call(value) : typeof value}, but ${model}.${key} is a ${type}.`);
  }
}

/**
 * Creates a store that writes events through your Prisma client, into the
 * `AuditEvent` model (table `audit_events`) or a model of your own with extra
 * columns. Works on PostgreSQL, MySQL/MariaDB and SQLite, inside your transactions
 * (`createEvent(obj, content, { tx })`).
 *
 * Instants are stored and read in UTC whatever the zone of the server, the session or
 * the process. On PostgreSQL the session's TimeZone is checked at the store's first
 * call; outside UTC, where Prisma's pg adapter would shift every DateTime
 * (prisma/orm#26786), the store's own Prisma calls run with `SET LOCAL TimeZone = 'UTC'`
 * and the configured `logger` is warned once, naming the connection option that
 * spares it (`options: "-c TimeZone=UTC"`).
 *
 * @example
 * ```ts
 * configureAudit({ store: prismaStore(prisma) });
 * // your own model with a tenantId column:
 * prismaStore(prisma, { model: "tenantAuditEvent", toRecord: (e, ctx) => ({ tenantId: ctx.extraData.tenantId }) });
 * ```
 * @throws {AuditConfigError} `ERR_AUDIT_CONFIG` for an unknown option (with the name
 * it was probably meant to be), a value of the wrong type, no client (undefined, a
 * string), or a client without the model delegate. Its calls throw `ERR_AUDIT_STORE_SCHEMA` (an `AuditConfigError`)
 * when the database lacks the audit tables or a column: apply the migrations.
 */
export function prismaStore(prisma: PrismaClientLike, options: PrismaStoreOptions = {}): PrismaStore {
  if (typeof prisma !== "object" || prisma === null) {
    throw new AuditConfigError(`prismaStore() expects your Prisma client as its first argument, such as prismaStore(prisma) with const prisma = new PrismaClient({ adapter }), got ${receivedValue(prisma)}.`);
  }
  const { model = "auditEvent", archiveModel = "archivedAuditEvent", checkpointModel = "auditCheckpoint", toRecord, asyncArchiveCommit = false, pgPool } = validateStoreOptions(options);
  const pool = pgPool === undefined ? undefined : requirePgPool(pgPool, knownProvider(prisma));
  delegateOf(prisma, model, "the Prisma client");
  const session = utcSession(prisma as TransactionalClient, knownProvider(prisma), (message) => getAuditConfig().logger.warn(message));
  let known: KnownTables | null | undefined;
  /**
   * The client's database and the two models' tables, read once, on first use (a stand-in
   * client without Prisma's metadata has none: null). Models without the event-model
   * fields are warned about then, once.
   */
  function metadata(): KnownTables | null {
    if (known !== undefined) return known;
    try {
      const provider = providerOf(prisma);
      let archive: ModelTable | null = null;
      try {
        archive = tableOf(prisma, archiveModel, provider);
      } catch {
        // A store that never archives may have no archive model; archival says so when it is asked.
      }
      known = { provider, live: tableOf(prisma, model, provider), archive };
    } catch {
      known = null;
      return known;
    }
    warnMissingEventFields(known.provider, known.archive === null ? [known.live] : [known.live, known.archive], (message) => getAuditConfig().logger.warn(message));
    return known;
  }
  /** The client's database and both tables, or the error that says which the client lacks. */
  function tables(): QueryTables {
    const found = metadata();
    const provider = found?.provider ?? providerOf(prisma);
    return { provider, live: found?.live ?? tableOf(prisma, model, provider), archive: found?.archive ?? tableOf(prisma, archiveModel, provider) };
  }

  let plan: ArchivePlan | undefined;
  /** Table metadata is read on first archival, so stores that never archive need none. */
  function archiveTables(): ArchivePlan {
    if (plan === undefined) {
      const { provider, live, archive } = tables();
      plan = archivePlan(provider, live, archive, asyncArchiveCommit);
    }
    return plan;
  }

  let inserter: BulkInserter | undefined;
  /** Built on first use, like the archive plan. */
  function bulkInsert(): BulkInserter {
    if (inserter === undefined) {
      const provider = providerOf(prisma);
      const table = metadata()?.live ?? tableOf(prisma, model, provider);
      const viaPrisma = bulkInserter(provider, prisma as TransactionalClient, table, model, session);
      inserter = pool === undefined ? viaPrisma : pgCopyInserter(pool, prisma as TransactionalClient, table, viaPrisma, (message) => getAuditConfig().logger.warn(message));
    }
    return inserter;
  }

  /** Runs a read; a filter on an event-model field that a table it reads lacks is refused first, never ignored. */
  async function read<T>(doing: string, filter: EventFilter, run: (tables: QueryTables) => Promise<T>): Promise<T> {
    const resolved = tables();
    const { provider, live, archive } = resolved;
    requireFilteredFields(provider, filter.source === "live" ? [live] : filter.source === "archive" ? [archive] : [live, archive], filter);
    try {
      return await run(resolved);
    } catch (error) {
      throw readError(error, prisma, model, doing);
    }
  }

  let chainTables: ChainTables | undefined;
  /** Runs a read of the hash chains (verify, checkpoint export) on the event tables and `AuditCheckpoint`'s, resolved once. */
  async function readChains<T>(doing: string, run: (tables: ChainTables) => Promise<T>): Promise<T> {
    if (chainTables === undefined) {
      const { provider, live, archive } = tables();
      const resolved: ChainTables = { provider, live, archive, checkpoints: tableOf(prisma, checkpointModel, provider) };
      requireChainTables(resolved);
      if (provider === "sqlite") {
        try {
          resolved.sqliteInstants = await sqliteInstantForm(prisma as TransactionalClient);
        } catch (error) {
          throw error instanceof AuditConfigError ? error : storeError(error, prisma, model, 0, doing);
        }
      }
      chainTables = resolved;
    }
    const found = chainTables;
    try {
      return await run(found);
    } catch (error) {
      throw readError(error, prisma, model, doing);
    }
  }

  /** The chain sequence as text through `pgPool` (see `readChainText`), its failures as the store's. */
  async function* readChainsAsText(request: ChainStreamRequest, pool: PgPoolLike): AsyncGenerator<Uint8Array> {
    const found = await readChains("read the hash chains", async (tables) => tables);
    try {
      yield* readChainText(pool, found, request);
    } catch (error) {
      throw readError(error, prisma, model, "read the hash chains");
    }
  }

  let unstored: readonly string[] | undefined;
  /**
   * A row as the live model can take it: without the optional fields the model lacks.
   * A chained row is never stripped of its chain: that would store it unsigned.
   *
   * @throws {AuditConfigError} `ERR_AUDIT_STORE_SCHEMA` for a chained row and a model without the chain columns.
   */
  function storable<T extends object>(row: T): T {
    unstored ??= (() => {
      const table = metadata()?.live;
      return table === undefined ? [] : unstoredFields(table);
    })();
    if (unstored.length > 0 && (row as Partial<AuditEventRecord>).chainId != null) requireIntegrity();
    return withoutFields(row, unstored);
  }

  /** Whether the client has the checkpoint model, as its table (null when it has none). */
  function checkpointTable(provider: SqlProvider): ModelTable | null {
    try {
      return tableOf(prisma, checkpointModel, provider);
    } catch {
      return null;
    }
  }

  /** See {@link AuditStore.requireIntegrity}: a client without Prisma's metadata cannot tell, and its first write says. */
  function requireIntegrity(): void {
    const found = metadata();
    if (found === null) return;
    const tables = found.archive === null ? [found.live] : [found.live, found.archive];
    requireChainFields(found.provider, tables, checkpointTable(found.provider), checkpointModel);
  }

  function checkpointDelegate(client: unknown): CheckpointDelegate {
    const delegate = (client as Record<string, Partial<CheckpointDelegate> | undefined>)[checkpointModel];
    if (typeof delegate?.create !== "function" || typeof delegate.findMany !== "function") {
      requireIntegrity();
      throw new AuditConfigError(
        `prismaStore(): the Prisma client has no checkpoint model delegate "${checkpointModel}". Add the AuditCheckpoint model of node_modules/audit-events/prisma/<provider>/schema.prisma (migration 20261202000000_audit_events_integrity) and run \`npx prisma generate\`, or name yours with prismaStore(prisma, { checkpointModel }).`,
        "ERR_AUDIT_STORE_SCHEMA",
      );
    }
    return delegate as CheckpointDelegate;
  }

  function rowOf(event: AuditEventRecord, context: EventOrigin): EventRow {
    if (toRecord === undefined) return { ...event };
    const extra = toRecord(event, context);
    if (typeof extra !== "object" || extra === null) {
      throw new AuditError("ERR_AUDIT_CONFIG", "prismaStore(): toRecord must return an object of extra columns, such as { region: \"eu\" }.");
    }
    const types = metadata()?.live.types ?? null;
    const row: Record<string, unknown> = { ...extra, ...event };
    for (const [key, value] of Object.entries(extra)) {
      if (RESERVED_FIELDS.has(key) && !TO_RECORD_FALLBACK_FIELDS.has(key)) {
        throw new AuditError(
          "ERR_AUDIT_CONFIG",
          `prismaStore(): toRecord returned "${key}", which audit-events fills itself; return only your extra columns (and, where the event has none, ${[...TO_RECORD_FALLBACK_FIELDS].join(", ")}).`,
        );
      }
      checkExtraValue(model, key, value, types);
      // A column the application filled before the library had the field: its value stands in for the event's null.
      if (TO_RECORD_FALLBACK_FIELDS.has(key) && row[key] === null && value !== undefined) row[key] = value;
    }
    return row as EventRow;
  }

  /**
   * The live events that hold one of the ids or chain positions of the chained `rows`, for
   * {@link storedReplays}; read outside any transaction, after the write failed.
   */
  async function storedPositions(rows: readonly EventRow[]): Promise<StoredPosition[]> {
    const found: StoredPosition[] = [];
    try {
      for (let i = 0; i < rows.length; i += STORED_ID_CHUNK) {
        const chunk = rows.slice(i, i + STORED_ID_CHUNK);
        const positions = chunk.map((row) => ({ chainId: row.chainId, seq: BigInt(row.seq!) }));
        const where = { OR: [{ id: { in: chunk.map((row) => row.id) } }, ...positions] };
        const select = { id: true, chainId: true, seq: true, hash: true } as const;
        const rowsFound = await session.run((client) => (delegateOf(client, model, "the Prisma client") as unknown as PositionReader).findMany({ where, select }));
        for (const row of rowsFound) found.push({ id: row.id, chainId: row.chainId, seq: row.seq === null ? null : Number(row.seq), hash: row.hash });
      }
    } catch (error) {
      throw storeError(error, prisma, model, rows.length, `look up the chain positions of ${rows.length} event(s)`);
    }
    return found;
  }

  return {
    name: `prisma(${model})`,
    model,
    archiveModel,
    checkpointModel,
    async insert(events: readonly AuditEventRecord[], { tx, context, prepared }: InsertOptions): Promise<void> {
      if (events.length === 0) return;
      const which = tx === undefined ? "the Prisma client" : "the transaction client";
      delegateOf(tx ?? prisma, model, which);
      const rows = events.map((event) => storable(prepared === true ? (event as EventRow) : rowOf(event, context)));
      const write = async (client: ModelClient): Promise<void> => {
        const delegate = delegateOf(client, model, which);
        if (rows.length === 1) await delegate.create({ data: rows[0]!, select: { id: true } });
        else await delegate.createMany({ data: rows });
      };
      try {
        await (tx === undefined ? session.run(write) : session.runIn(tx as ModelClient, write));
      } catch (error) {
        // A sync lane's position held by another event must end the lane's chain, not read as a duplicate id. (A
        // transaction's chain is its own: its id is unknown outside the transaction until it commits.)
        if (tx === undefined && errorCode(error) === "P2002" && isChainedBatch(rows)) storedReplays(`prisma(${model})`, rows, await storedPositions(rows));
        throw storeError(error, prisma, model, rows.length);
      }
    },
    toRow: rowOf,
    requireIntegrity,
    async insertCheckpoint(checkpoint: AuditCheckpointRecord, options: { tx?: unknown } = {}): Promise<void> {
      const { tx } = options;
      const data = { ...checkpoint, seq: BigInt(checkpoint.seq) };
      const write = async (client: ModelClient): Promise<void> => {
        await checkpointDelegate(client).create({ data });
      };
      try {
        await (tx === undefined ? session.run(write) : session.runIn(tx as ModelClient, write));
      } catch (error) {
        throw error instanceof AuditConfigError ? error : storeError(error, prisma, checkpointModel, 0, `write the checkpoint of chain ${checkpoint.chainId} at seq ${checkpoint.seq}`);
      }
    },
    async readCheckpoints(query: CheckpointQuery = {}): Promise<AuditCheckpointRecord[]> {
      const where: Record<string, unknown> = {};
      if (query.chainId !== undefined) where.chainId = query.chainId;
      if (query.since !== undefined || query.until !== undefined) where.createdAt = { ...(query.since && { gte: query.since }), ...(query.until && { lt: query.until }) };
      try {
        const rows = await session.run((client) =>
          checkpointDelegate(client).findMany({ where, orderBy: [{ createdAt: "asc" }, { chainId: "asc" }, { seq: "asc" }] }),
        );
        return rows.map((row) => ({
          chainId: row.chainId as string,
          seq: Number(row.seq),
          hash: row.hash as string,
          keyId: row.keyId as string,
          signature: row.signature as string,
          createdAt: row.createdAt as Date,
        }));
      } catch (error) {
        throw error instanceof AuditConfigError ? error : storeError(error, prisma, checkpointModel, 0, "read checkpoints");
      }
    },
    async storedIds(ids: readonly string[]): Promise<Set<string>> {
      const stored = new Set<string>();
      const models = [model, ...(metadata()?.archive === null ? [] : [archiveModel])];
      try {
        for (let i = 0; i < ids.length; i += STORED_ID_CHUNK) {
          const chunk = ids.slice(i, i + STORED_ID_CHUNK);
          for (const name of models) {
            const found = await session.run((client) => delegateOf(client, name, "the Prisma client").findMany({ where: { id: { in: chunk } }, select: { id: true } }));
            for (const { id } of found) stored.add(id);
          }
        }
      } catch (error) {
        throw storeError(error, prisma, model, ids.length, `look up ${ids.length} event id(s)`);
      }
      return stored;
    },
    async writeRows(given: readonly EventRow[]): Promise<void> {
      if (given.length === 0) return;
      const insert = bulkInsert();
      // Rows made before the model was known, or by another process (a spool), may hold fields the model lacks.
      let rows = given.map(storable);
      for (;;) {
        try {
          await insert(rows);
          return;
        } catch (error) {
          if (!isRefusedData(error)) throw error instanceof AuditError ? error : storeError(error, prisma, model, rows.length);
          if (isChainedBatch(rows)) {
            // A chained batch is inserted whole: tell a replay of rows stored already (left out) from a clash (thrown).
            const replays = storedReplays(`prisma(${model})`, rows, await storedPositions(rows));
            if (replays.size > 0) {
              rows = rows.filter((row) => !replays.has(row.id));
              if (rows.length === 0) return;
              continue;
            }
          }
          // Refused for what a row holds: Prisma's own createMany fills what only the
          // client knows (@default(uuid()), @updatedAt) and says which value is wrong.
          try {
            await session.run((client) => createManyRows(delegateOf(client, model, "the Prisma client"), rows));
            return;
          } catch (fallback) {
            throw storeError(fallback, prisma, model, rows.length);
          }
        }
      }
    },
    async getEvent(id: string): Promise<AuditEventRecord | null> {
      try {
        const row = await session.run((client) => delegateOf(client, model, "the Prisma client").findUnique({ where: { id } }));
        return row === null ? null : storedRecord(row);
      } catch (error) {
        throw readError(error, prisma, model, "read an event");
      }
    },
    async getArchivedEvent(id: string): Promise<ArchivedAuditEventRecord | null> {
      // A store that never archives may have no archive model: it holds no archived event
      // (GET /events/:id of an unknown id answers 404, not the archive model's absence).
      if (metadata()?.archive === null) return null;
      try {
        const row = await session.run((client) => delegateOf(client, archiveModel, "the Prisma client").findUnique({ where: { id } }));
        return row === null ? null : { ...storedRecord(row), archivedAt: storedInstant(row.archivedAt) };
      } catch (error) {
        throw readError(error, prisma, archiveModel, "read an archived event");
      }
    },
    async archiveBatch(before: Date, limit: number, after?: ArchivePosition): Promise<ArchiveBatchResult> {
      const tables = archiveTables();
      try {
        return await archiveBatch(prisma as TransactionalClient, tables, { live: model, archive: archiveModel }, before, limit, after, pool);
      } catch (error) {
        throw storeError(error, prisma, model, limit, `archive a batch of up to ${limit} event(s)`);
      }
    },
    async countLiveBefore(before: Date): Promise<number> {
      try {
        return await session.run((client) => delegateOf(client, model, "the Prisma client").count({ where: { timestamp: { lt: before } } }));
      } catch (error) {
        throw storeError(error, prisma, model, 0, "count events");
      }
    },
    queryEvents: (filter: EventFilter, page: EventPageRequest): Promise<AuditEventRecord[]> =>
      read("read events", filter, (tables) => queryPage(prisma as TransactionalClient, tables, filter, page)),
    queryEventsAsJson: (filter: EventFilter, page: EventPageRequest): Promise<JsonEventPage> =>
      read("read events", filter, (tables) => queryJsonPage(prisma as TransactionalClient, tables, filter, page)),
    countEvents: (filter: EventFilter): Promise<number> => read("count events", filter, (tables) => countMatching(prisma as TransactionalClient, tables, filter)),
    summarizeEvents: (filter: EventFilter): Promise<EventSummary> =>
      read("summarize events", filter, (tables) => summarizeMatching(prisma as TransactionalClient, tables, filter)),
    readChainPage: (request: ChainPageRequest): Promise<ChainRow[]> => readChains("read the hash chains", (found) => readChainPage(prisma as TransactionalClient, found, request)),
    ...(pool === undefined
      ? {}
      : {
          readChainText: (request: ChainStreamRequest): AsyncIterable<Uint8Array> => readChainsAsText(request, pool),
        }),
    readCheckpointPage: (request: CheckpointPageRequest): Promise<AuditCheckpointRecord[]> => readChains("read checkpoints", (found) => readCheckpointPage(prisma as TransactionalClient, found, request)),
    countUnsigned: (request: UnsignedRequest): Promise<UnsignedEvents> => readChains("count unsigned events", (found) => countUnsignedEvents(prisma as TransactionalClient, found, request)),
  };
}
