import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";

import { PrismaBetterSqlite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaMariaDb } from "@prisma/adapter-mariadb";
import { PrismaPg } from "@prisma/adapter-pg";
import type { SqlDriverAdapterFactory } from "@prisma/driver-adapter-utils";
import BetterSqlite3 from "better-sqlite3";
import * as mariadb from "mariadb";
import { Client as PgClient } from "pg";

import type * as MysqlGenerated from "../../generated/mysql/client/client";
import type * as PostgresqlGenerated from "../../generated/postgresql/client/client";
import type * as SqliteGenerated from "../../generated/sqlite/client/client";

/** A database the library supports; each has its own Prisma schema and generated client. */
export type Provider = "postgresql" | "mysql" | "sqlite";

/** Every provider, in the order test suites run them. */
export const providers: Provider[] = ["postgresql", "mysql", "sqlite"];

/** The generated client of each provider (reference models plus examples/prisma/<p>.prisma). */
export interface PrismaClients {
  postgresql: PostgresqlGenerated.PrismaClient;
  mysql: MysqlGenerated.PrismaClient;
  sqlite: SqliteGenerated.PrismaClient;
}

/**
 * The client type of a test database. For one known provider it is that provider's client.
 * For a test looping over `providers` (P is the whole union) a union of three clients would
 * not be callable, so it is the MySQL client: the models are the same on every provider and
 * MySQL's client has the fewest extras (no `createManyAndReturn`/`updateManyAndReturn`, no
 * `mode: "insensitive"` on strings). One difference it hides: JSON `path` filters are a
 * string (`"$.a.b"`) on MySQL and SQLite but a string array on PostgreSQL.
 */
export type TestPrismaClient<P extends Provider = Provider> = [Provider] extends [P]
  ? PrismaClients["mysql"]
  : PrismaClients[P];

/** An isolated, migrated database for one test file. */
export interface TestDatabase<P extends Provider = Provider> {
  readonly provider: P;
  /** Generated client from generated/<provider>/client, on the provider's driver adapter. */
  readonly prisma: TestPrismaClient<P>;
  /** Database name (PostgreSQL, MySQL) or file name (SQLite). */
  readonly name: string;
  /**
   * Connection URL of this database for raw drivers: `postgresql://…/<name>`,
   * `mysql://…/<name>`, or for SQLite `file:<absolute path>`.
   */
  readonly url: string;
  /** Empties every table and restarts auto-increment counters. */
  reset(): Promise<void>;
  /** Disconnects Prisma and drops the database (deletes the SQLite file). */
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /**
   * Base of the database name. Defaults to the calling test file's name. The jest worker id
   * and the process id are appended, so parallel workers and concurrent jest runs against the
   * same servers never share (or drop) each other's databases.
   */
  name?: string;
}

const ROOT = path.resolve(__dirname, "..", "..");
const DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres";
const DEFAULT_MYSQL_URL = "mysql://root@127.0.0.1:3306";
const CONNECT_TIMEOUT_MS = 5_000;

const START_HINTS: Record<Exclude<Provider, "sqlite">, string> = {
  postgresql:
    "Start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`, " +
    "or set AUDIT_TEST_PG_URL to an admin URL of a running server (a role that may CREATE DATABASE).",
  mysql:
    "Start it with `start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd`, " +
    "or set AUDIT_TEST_MYSQL_URL to an admin URL of a running MySQL/MariaDB server (a user that may CREATE DATABASE).",
};

const openNames = new Set<string>();

/**
 * Creates a fresh database for the calling test file, applies the provider's migrations and
 * examples/prisma/<provider>.sql through the raw driver, and connects the generated client.
 *
 * @throws Error naming the service and how to start it when PostgreSQL or MariaDB is unreachable.
 * @example
 * const db = await openDatabase("postgresql");
 * afterEach(() => db.reset());
 * afterAll(() => db.close());
 */
export async function openDatabase<P extends Provider>(
  provider: P,
  opts: OpenDatabaseOptions = {},
): Promise<TestDatabase<P>> {
  const name = claimName(opts.name);
  try {
    const backend = await openBackend(provider, name);
    let prisma: TestPrismaClient<P>;
    try {
      prisma = createClient(provider, backend.adapter) as TestPrismaClient<P>;
      await (prisma as { $connect(): Promise<void> }).$connect();
    } catch (error) {
      await backend.drop();
      throw error;
    }
    let closed = false;
    return {
      provider,
      prisma,
      name,
      url: backend.url,
      reset: () => backend.reset(),
      async close() {
        if (closed) return;
        closed = true;
        try {
          await (prisma as { $disconnect(): Promise<void> }).$disconnect();
        } finally {
          await backend.drop();
          openNames.delete(name);
        }
      },
    };
  } catch (error) {
    openNames.delete(name);
    throw error;
  }
}

/**
 * Another Prisma client on a test database, its driver adapter given `adapterOptions`
 * besides the connection: session settings such as PostgreSQL's
 * `{ options: "-c TimeZone=Europe/Berlin" }`, MariaDB's `{ initSql: "SET time_zone = '+05:30'" }`,
 * or, for SQLite, the adapter's own options (`{ timestampFormat: "unixepoch-ms" }`).
 * `wrapAdapter` may wrap the adapter (to observe what reaches the database, say). The caller disconnects it.
 *
 * @example
 * const berlin = connectClient(db, { options: "-c TimeZone=Europe/Berlin" });
 */
export function connectClient<P extends Provider>(
  db: Pick<TestDatabase<P>, "provider" | "url">,
  adapterOptions: Record<string, unknown> = {},
  wrapAdapter: <F extends SqlDriverAdapterFactory>(adapter: F) => F = (adapter) => adapter,
): TestPrismaClient<P> {
  switch (db.provider) {
    case "postgresql":
      return createClient("postgresql", wrapAdapter(new PrismaPg({ connectionString: db.url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, ...adapterOptions }))) as TestPrismaClient<P>;
    case "mysql":
      return createClient("mysql", wrapAdapter(new PrismaMariaDb({ ...mysqlConfig(db.url), connectTimeout: CONNECT_TIMEOUT_MS, connectionLimit: 5, ...adapterOptions }))) as TestPrismaClient<P>;
    default:
      return createClient("sqlite", wrapAdapter(new PrismaBetterSqlite3({ url: db.url }, adapterOptions))) as TestPrismaClient<P>;
  }
}

/**
 * The SQL files that build a provider's test schema, in the order they must run: every
 * prisma/<provider>/migrations/<name>/migration.sql sorted by folder name (as
 * `prisma migrate deploy` does), then examples/prisma/<provider>.sql unless excluded.
 */
export function migrationFiles(provider: Provider, opts: { examples?: boolean } = {}): string[] {
  const dir = path.join(ROOT, "prisma", provider, "migrations");
  const files = readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort()
    .map((folder) => path.join(dir, folder, "migration.sql"))
    .filter((file) => existsSync(file));
  if (files.length === 0) throw new Error(`No migrations found under ${path.relative(ROOT, dir)}`);
  if (opts.examples !== false) files.push(path.join(ROOT, "examples", "prisma", `${provider}.sql`));
  return files;
}

/**
 * Applies {@link migrationFiles} to an existing, empty database through the raw driver.
 * PostgreSQL runs each file as one script (as Prisma does), MySQL/MariaDB one statement at a
 * time, SQLite with `exec`.
 *
 * @param url PostgreSQL/MySQL connection URL of the target database, or for SQLite a file path
 *   (with or without `file:`).
 * @returns the files applied, in order.
 */
export async function applyMigrations(
  provider: Provider,
  url: string,
  opts: { examples?: boolean } = {},
): Promise<string[]> {
  const files = migrationFiles(provider, opts);
  switch (provider) {
    case "postgresql": {
      const client = new PgClient({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
      await client.connect();
      try {
        await applyPostgres(client, files);
      } finally {
        await client.end();
      }
      break;
    }
    case "mysql": {
      const conn = await mariadb.createConnection({ ...mysqlConfig(url), connectTimeout: CONNECT_TIMEOUT_MS });
      try {
        await applyMysql(conn, files);
      } finally {
        await conn.end();
      }
      break;
    }
    case "sqlite": {
      const db = new BetterSqlite3(url.replace(/^file:/, ""));
      try {
        applySqlite(db, files);
      } finally {
        db.close();
      }
      break;
    }
  }
  return files;
}

/**
 * Splits a SQL script into statements on `;`, ignoring semicolons inside quotes, backticks and
 * comments (`--`, `/* *\/`), and by dialect: MySQL's `#` comments and backslash escapes in
 * strings, PostgreSQL's dollar quotes. Statements that hold only comments are dropped; the
 * trailing `;` is not kept.
 */
export function splitSqlStatements(sql: string, dialect: Provider = "mysql"): string[] {
  const statements: string[] = [];
  let current = "";
  let hasCode = false;
  let i = 0;
  const flush = () => {
    if (hasCode) statements.push(current.trim());
    current = "";
    hasCode = false;
  };
  while (i < sql.length) {
    const ch = sql[i]!;
    const next = sql[i + 1];
    if (ch === "-" && next === "-") {
      const end = sql.indexOf("\n", i);
      i = end === -1 ? sql.length : end;
      continue;
    }
    if (ch === "#" && dialect === "mysql") {
      const end = sql.indexOf("\n", i);
      i = end === -1 ? sql.length : end;
      continue;
    }
    if (ch === "/" && next === "*") {
      const end = sql.indexOf("*/", i + 2);
      i = end === -1 ? sql.length : end + 2;
      current += " ";
      continue;
    }
    if (ch === "'" || ch === '"' || ch === "`") {
      let j = i + 1;
      while (j < sql.length) {
        if (sql[j] === "\\" && dialect === "mysql" && ch !== "`") {
          j += 2;
          continue;
        }
        if (sql[j] === ch) {
          if (sql[j + 1] === ch) {
            j += 2;
            continue;
          }
          break;
        }
        j += 1;
      }
      current += sql.slice(i, j + 1);
      hasCode = true;
      i = j + 1;
      continue;
    }
    if (ch === "$" && dialect === "postgresql") {
      const tag = /^\$(?:[A-Za-z_][A-Za-z0-9_]*)?\$/.exec(sql.slice(i, i + 64))?.[0];
      if (tag) {
        const end = sql.indexOf(tag, i + tag.length);
        const stop = end === -1 ? sql.length : end + tag.length;
        current += sql.slice(i, stop);
        hasCode = true;
        i = stop;
        continue;
      }
    }
    if (ch === ";") {
      flush();
      i += 1;
      continue;
    }
    current += ch;
    if (!/\s/.test(ch)) hasCode = true;
    i += 1;
  }
  flush();
  return statements;
}

interface Backend {
  url: string;
  adapter: PrismaPg | PrismaMariaDb | PrismaBetterSqlite3;
  reset(): Promise<void>;
  drop(): Promise<void>;
}

function openBackend(provider: Provider, name: string): Promise<Backend> {
  switch (provider) {
    case "postgresql":
      return openPostgres(name);
    case "mysql":
      return openMysql(name);
    case "sqlite":
      return openSqlite(name);
  }
}

function createClient(provider: Provider, adapter: Backend["adapter"]): unknown {
  const missing = (error: unknown) =>
    new Error(
      `The ${provider} Prisma client is missing from generated/${provider}/client: run \`npm run db:generate\` ` +
        "(node scripts/generate-clients.mjs) first.",
      { cause: error },
    );
  try {
    switch (provider) {
      case "postgresql": {
        const generated = require("../../generated/postgresql/client/client") as typeof PostgresqlGenerated;
        return new generated.PrismaClient({ adapter: adapter as PrismaPg });
      }
      case "mysql": {
        const generated = require("../../generated/mysql/client/client") as typeof MysqlGenerated;
        return new generated.PrismaClient({ adapter: adapter as PrismaMariaDb });
      }
      case "sqlite": {
        const generated = require("../../generated/sqlite/client/client") as typeof SqliteGenerated;
        return new generated.PrismaClient({ adapter: adapter as PrismaBetterSqlite3 });
      }
    }
  } catch (error) {
    if (error instanceof Error && /Cannot find module/.test(error.message)) throw missing(error);
    throw error;
  }
}

async function openPostgres(name: string): Promise<Backend> {
  const adminUrl = process.env.AUDIT_TEST_PG_URL || DEFAULT_PG_URL;
  const url = withDatabase(adminUrl, name);
  const quoted = pgIdent(name);

  const withAdmin = async (work: (admin: PgClient) => Promise<void>) => {
    const admin = new PgClient({ connectionString: adminUrl, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
    admin.on("error", () => undefined);
    try {
      await admin.connect();
    } catch (error) {
      throw unreachable("PostgreSQL", adminUrl, "postgresql", error);
    }
    try {
      await work(admin);
    } finally {
      await admin.end();
    }
  };
  const dropDatabase = () => withAdmin((admin) => admin.query(`DROP DATABASE IF EXISTS ${quoted} WITH (FORCE)`).then(() => undefined));

  await withAdmin(async (admin) => {
    await admin.query(`DROP DATABASE IF EXISTS ${quoted} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${quoted}`);
  });

  const raw = new PgClient({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  raw.on("error", () => undefined);
  try {
    await raw.connect();
    await applyPostgres(raw, migrationFiles("postgresql"));
  } catch (error) {
    await raw.end().catch(() => undefined);
    await dropDatabase();
    throw error;
  }

  return {
    url,
    adapter: new PrismaPg({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS }),
    // TRUNCATE costs ~25 ms a table however small, so only tables holding rows are truncated;
    // every used sequence is then restarted, so ids start at 1 again after each reset.
    async reset() {
      const { rows: tables } = await raw.query<{ name: string }>(
        "SELECT tablename AS name FROM pg_tables WHERE schemaname = current_schema()",
      );
      if (tables.length > 0) {
        const { rows: filled } = await raw.query<{ name: string }>(
          tables
            .map(({ name: table }) => `SELECT ${pgLiteral(table)} AS name WHERE EXISTS (SELECT 1 FROM ${pgIdent(table)})`)
            .join(" UNION ALL "),
        );
        if (filled.length > 0) {
          await raw.query(`TRUNCATE TABLE ${filled.map((row) => pgIdent(row.name)).join(", ")} CASCADE`);
        }
      }
      await raw.query(
        "SELECT setval(format('%I.%I', schemaname, sequencename), start_value, false) " +
          "FROM pg_sequences WHERE schemaname = current_schema() AND last_value IS NOT NULL",
      );
    },
    async drop() {
      await raw.end().catch(() => undefined);
      await dropDatabase();
    },
  };
}

async function applyPostgres(client: PgClient, files: string[]): Promise<void> {
  for (const file of files) {
    try {
      // One simple-protocol query per file, like `prisma migrate deploy`: PostgreSQL runs the
      // statements of a multi-statement query in one implicit transaction.
      await client.query(readFileSync(file, "utf8"));
    } catch (error) {
      throw migrationError(file, error);
    }
  }
}

async function openMysql(name: string): Promise<Backend> {
  const adminUrl = process.env.AUDIT_TEST_MYSQL_URL || DEFAULT_MYSQL_URL;
  const config = mysqlConfig(adminUrl);
  const quoted = mysqlIdent(name);

  let raw: mariadb.Connection;
  try {
    raw = await mariadb.createConnection({ ...config, database: undefined, connectTimeout: CONNECT_TIMEOUT_MS });
  } catch (error) {
    throw unreachable("MySQL/MariaDB", adminUrl, "mysql", error);
  }
  raw.on("error", () => undefined);
  try {
    await raw.query(`DROP DATABASE IF EXISTS ${quoted}`);
    await raw.query(`CREATE DATABASE ${quoted}`);
    await raw.query(`USE ${quoted}`);
    await applyMysql(raw, migrationFiles("mysql"));
  } catch (error) {
    await raw.query(`DROP DATABASE IF EXISTS ${quoted}`).catch(() => undefined);
    await raw.end().catch(() => undefined);
    throw error;
  }

  return {
    url: withDatabase(adminUrl, name),
    adapter: new PrismaMariaDb({ ...config, database: name, connectTimeout: CONNECT_TIMEOUT_MS, connectionLimit: 5 }),
    // TRUNCATE re-creates the table in InnoDB (~10 ms each, far more on a busy machine), so only
    // tables holding rows are truncated, and those with an auto-increment column (whose counter
    // may have moved though they are empty again): the others are already as TRUNCATE leaves them.
    async reset() {
      const tables: Array<{ name: string; counted: number | bigint }> = await raw.query(
        "SELECT table_name AS name, auto_increment IS NOT NULL AS counted FROM information_schema.tables " +
          "WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'",
      );
      if (tables.length === 0) return;
      const filled: Array<{ name: string }> = await raw.query(
        tables.map(({ name: table }) => `SELECT ? AS name FROM DUAL WHERE EXISTS (SELECT 1 FROM ${mysqlIdent(table)})`).join(" UNION ALL "),
        tables.map((table) => table.name),
      );
      const filledNames = new Set(filled.map((row) => row.name));
      const toTruncate = tables.filter((table) => Number(table.counted) === 1 || filledNames.has(table.name));
      await raw.query("SET FOREIGN_KEY_CHECKS = 0");
      try {
        for (const table of toTruncate) await raw.query(`TRUNCATE TABLE ${mysqlIdent(table.name)}`);
      } finally {
        await raw.query("SET FOREIGN_KEY_CHECKS = 1");
      }
    },
    async drop() {
      try {
        await raw.query(`DROP DATABASE IF EXISTS ${quoted}`);
      } finally {
        await raw.end().catch(() => undefined);
      }
    },
  };
}

async function applyMysql(conn: mariadb.Connection, files: string[]): Promise<void> {
  for (const file of files) {
    for (const statement of splitSqlStatements(readFileSync(file, "utf8"), "mysql")) {
      try {
        await conn.query(statement);
      } catch (error) {
        throw migrationError(file, error, statement);
      }
    }
  }
}

async function openSqlite(name: string): Promise<Backend> {
  const dir = path.join(ROOT, ".tmp", "sqlite");
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.db`);
  const removeFiles = () => {
    for (const suffix of ["", "-journal", "-wal", "-shm"]) rmSync(file + suffix, { force: true });
  };
  removeFiles();

  const raw = new BetterSqlite3(file);
  try {
    applySqlite(raw, migrationFiles("sqlite"));
  } catch (error) {
    raw.close();
    removeFiles();
    throw error;
  }

  return {
    url: `file:${file}`,
    adapter: new PrismaBetterSqlite3({ url: `file:${file}` }),
    async reset() {
      const tables = raw
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .all() as Array<{ name: string }>;
      const hasSequence = raw.prepare("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'").get() !== undefined;
      raw.transaction(() => {
        for (const { name: table } of tables) raw.exec(`DELETE FROM ${pgIdent(table)}`);
        if (hasSequence) raw.exec("DELETE FROM sqlite_sequence");
      })();
    },
    async drop() {
      raw.close();
      removeFiles();
    },
  };
}

function applySqlite(db: BetterSqlite3.Database, files: string[]): void {
  for (const file of files) {
    try {
      db.exec(readFileSync(file, "utf8"));
    } catch (error) {
      throw migrationError(file, error);
    }
  }
}

function claimName(requested: string | undefined): string {
  const base = slug(requested ?? callingTestFile() ?? "audit");
  const suffix = `_w${process.env.JEST_WORKER_ID ?? "0"}_p${process.pid}`;
  for (let n = 1; ; n += 1) {
    const candidate = `audit_${base}${n === 1 ? "" : `_${n}`}${suffix}`;
    if (!openNames.has(candidate)) {
      openNames.add(candidate);
      return candidate;
    }
  }
}

function callingTestFile(): string | undefined {
  const testPath = typeof expect === "undefined" ? undefined : expect.getState().testPath;
  return testPath ? path.basename(testPath).replace(/\.(test|spec)\.[cm]?[jt]sx?$/, "") : undefined;
}

// Lower-case letters, digits and underscores only, short enough that the whole name stays
// under PostgreSQL's 63-byte and MySQL's 64-character identifier limits.
function slug(text: string): string {
  const cleaned = text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "");
  return (cleaned || "db").slice(0, 32);
}

// Double-quoted identifiers serve PostgreSQL and SQLite alike.
function pgIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function pgLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

function mysqlIdent(name: string): string {
  return `\`${name.replace(/`/g, "``")}\``;
}

function withDatabase(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

interface MysqlTarget {
  host: string;
  port: number;
  user: string;
  password?: string;
  database?: string;
}

// Plain fields rather than mariadb.ConnectionConfig: @prisma/adapter-mariadb bundles its own
// mariadb version, whose config type is not assignable from ours.
function mysqlConfig(serverUrl: string): MysqlTarget {
  const url = new URL(serverUrl);
  const database = decodeURIComponent(url.pathname.replace(/^\//, ""));
  return {
    host: url.hostname || "127.0.0.1",
    port: url.port ? Number(url.port) : 3306,
    user: decodeURIComponent(url.username) || "root",
    password: decodeURIComponent(url.password) || undefined,
    database: database || undefined,
  };
}

function redact(serverUrl: string): string {
  try {
    const url = new URL(serverUrl);
    if (url.password) url.password = "***";
    return url.toString();
  } catch {
    return serverUrl;
  }
}

function unreachable(service: string, serverUrl: string, provider: "postgresql" | "mysql", cause: unknown): Error {
  const reason = cause instanceof Error ? cause.message || cause.name : String(cause);
  return new Error(
    `${service} is not reachable at ${redact(serverUrl)} (${reason}). ${START_HINTS[provider]} ` +
      "Integration tests never skip a database.",
    { cause },
  );
}

function migrationError(file: string, cause: unknown, statement?: string): Error {
  const reason = cause instanceof Error ? cause.message : String(cause);
  const where = statement ? `\nStatement:\n${statement}` : "";
  return new Error(`Applying ${path.relative(ROOT, file)} failed: ${reason}${where}`, { cause });
}
