/** The databases `audit-events grants` writes statements for. */
export type GrantProvider = "postgresql" | "mysql";

/** What `audit-events grants` is told: the roles, and where the tables are. */
export interface GrantOptions {
  provider: GrantProvider;
  /** The role (PostgreSQL) or user (MySQL/MariaDB) the application connects as. @default "audit_app" */
  appRole?: string;
  /** The role or user that runs `audit-events archive` / `archiveOldEvents()`. @default "audit_archiver" */
  archiverRole?: string;
  /** PostgreSQL: the schema of the tables (default `"public"`); MySQL/MariaDB: their database (required). */
  schema?: string;
  /** MySQL/MariaDB: the host part of both users. @default "%" */
  host?: string;
  /** The live events table. @default "audit_events" */
  eventsTable?: string;
  /** The archive table. @default "archived_audit_events" */
  archiveTable?: string;
  /** The checkpoints table. @default "audit_checkpoints" */
  checkpointsTable?: string;
}

/** A name this command quotes into SQL: letters, digits, `_`, `$` and `-`, not starting with a digit. */
const NAME = /^[A-Za-z_][A-Za-z0-9_$-]{0,62}$/;
/** The host part of a MySQL account: a host name, an address, a pattern with `%` or `_`. */
const HOST = /^[A-Za-z0-9.%_:-]{1,255}$/;

/** Why a name given to `grants` is refused, or undefined when it is fine. */
export function grantNameProblem(option: string, value: string, pattern: "name" | "host" = "name"): string | undefined {
  const ok = pattern === "host" ? HOST.test(value) : NAME.test(value);
  if (ok) return undefined;
  return pattern === "host"
    ? `${option} must be a host name, an address or a pattern of letters, digits, ".", "%", "_", ":" and "-", not ${JSON.stringify(value)}.`
    : `${option} must be 1 to 63 letters, digits, "_", "$" or "-", not starting with a digit, not ${JSON.stringify(value)}.`;
}

/**
 * The SQL that makes the database itself the first line of tamper resistance: the
 * application's role may add events and read them, never change or remove one; only
 * the archiver's role may delete from the live table, and only to move events into the
 * archive. Statements end with `;`, one a line, comments (`--`) explaining each group.
 *
 * What each role needs, and why:
 * - application: INSERT and SELECT on the events table (SELECT for reads, and because
 *   the bulk insert skips ids already stored, so a replayed spool never duplicates) and
 *   on the checkpoints table (it signs the heads of its chains); SELECT on the archive
 *   (reads with `source: "all"`). No UPDATE, DELETE or TRUNCATE anywhere.
 * - archiver: SELECT and DELETE on the events table (it claims rows, copies, deletes);
 *   on PostgreSQL also UPDATE of the `id` column alone, because `SELECT ... FOR UPDATE`
 *   (which keeps two archivers off the same rows) requires the UPDATE privilege on some
 *   column; INSERT and SELECT on the archive. No TRUNCATE.
 *
 * Every privilege on the three tables is revoked from both roles (and on PostgreSQL from
 * PUBLIC) first, so running it again, or over older grants, leaves exactly these; the
 * roles' privileges on other tables (the application's own) are left as they are.
 * Privileges on a whole MySQL database or server apply to the audit tables whatever a
 * table-level REVOKE says: the script's comments say so and how to check.
 *
 * @example
 * ```ts
 * grantStatements({ provider: "postgresql", appRole: "shop_app" }).join("\n");
 * ```
 */
export function grantStatements(options: GrantOptions): string[] {
  const app = options.appRole ?? "audit_app";
  const archiver = options.archiverRole ?? "audit_archiver";
  const events = options.eventsTable ?? "audit_events";
  const archive = options.archiveTable ?? "archived_audit_events";
  const checkpoints = options.checkpointsTable ?? "audit_checkpoints";
  return options.provider === "postgresql"
    ? postgresStatements(app, archiver, options.schema ?? "public", events, archive, checkpoints)
    : mysqlStatements(app, archiver, options.schema!, options.host ?? "%", events, archive, checkpoints);
}

function postgresStatements(app: string, archiver: string, schema: string, events: string, archive: string, checkpoints: string): string[] {
  const id = (name: string) => `"${name}"`;
  const table = (name: string) => `${id(schema)}.${id(name)}`;
  const all = [events, archive, checkpoints].map(table).join(", ");
  return [
    "-- audit-events: database roles for PostgreSQL. Run as the owner of the audit tables (the role",
    "-- that applied the migrations). Create the roles first if they do not exist, e.g.:",
    `--   CREATE ROLE ${id(app)} LOGIN PASSWORD '...';`,
    `--   CREATE ROLE ${id(archiver)} LOGIN PASSWORD '...';`,
    "-- Neither role may own the tables: an owner may do anything to them, grants or not.",
    "-- Nor may either be a superuser, or a member of a role (a group) that may change the tables:",
    "-- a role inherits its groups' privileges, and a group given e.g.",
    `--   GRANT ALL ON ALL TABLES IN SCHEMA ${id(schema)} TO app_writers;`,
    "-- keeps them on the audit tables whatever is revoked here from the role itself. Revoke them",
    "-- from the group, or take the role out of it (REVOKE app_writers FROM ...). Check with",
    `--   SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid WHERE m.member = '${id(app)}'::regrole;`,
    "-- The last statement checks both roles and fails, naming what is left, when one can still",
    "-- UPDATE, DELETE or TRUNCATE an audit table it must not (through a group, ownership, or superuser).",
    "",
    "-- Start from nothing: no privilege on the audit tables for anyone but their owner.",
    `REVOKE ALL ON TABLE ${all} FROM PUBLIC;`,
    `REVOKE ALL ON TABLE ${all} FROM ${id(app)};`,
    `REVOKE ALL ON TABLE ${all} FROM ${id(archiver)};`,
    "",
    "-- The application: adds and reads events, signs checkpoints; never updates, deletes or truncates.",
    `GRANT USAGE ON SCHEMA ${id(schema)} TO ${id(app)};`,
    `GRANT SELECT, INSERT ON TABLE ${table(events)} TO ${id(app)};`,
    `GRANT SELECT, INSERT ON TABLE ${table(checkpoints)} TO ${id(app)};`,
    `GRANT SELECT ON TABLE ${table(archive)} TO ${id(app)};`,
    "",
    "-- The archiver: moves old events into the archive. SELECT ... FOR UPDATE, which keeps two",
    "-- archivers off the same rows, needs UPDATE on one column: id alone (a changed id fails verify).",
    `GRANT USAGE ON SCHEMA ${id(schema)} TO ${id(archiver)};`,
    `GRANT SELECT, DELETE ON TABLE ${table(events)} TO ${id(archiver)};`,
    `GRANT UPDATE (${id("id")}) ON TABLE ${table(events)} TO ${id(archiver)};`,
    `GRANT SELECT, INSERT ON TABLE ${table(archive)} TO ${id(archiver)};`,
    `GRANT SELECT ON TABLE ${table(checkpoints)} TO ${id(archiver)};`,
    "",
    "-- Check: what either role can still do that it must not, by any route (has_table_privilege",
    "-- counts the privileges of every role it is a member of), fails the script loudly.",
    postgresCheck([
      [app, [events, archive, checkpoints], ["UPDATE", "DELETE", "TRUNCATE"]],
      [archiver, [events], ["UPDATE", "TRUNCATE"]],
      [archiver, [archive, checkpoints], ["UPDATE", "DELETE", "TRUNCATE"]],
    ], table),
  ];
}

/** One `DO` statement (on one line) that raises when a role holds a privilege it must not on a table: [role, tables, privileges]. */
function postgresCheck(forbidden: Array<[string, string[], string[]]>, table: (name: string) => string): string {
  const literal = (text: string) => `'${text.replace(/'/g, "''")}'`;
  const rows = forbidden.flatMap(([role, tables, privileges]) => tables.flatMap((name) => privileges.map((privilege) => `(${literal(role)}, ${literal(table(name))}, ${literal(privilege)})`)));
  return [
    "DO $audit_events_check$ DECLARE found text; BEGIN",
    `SELECT string_agg(format('%I can %s %s', r, p, t), '; ') INTO found FROM (VALUES ${rows.join(", ")}) AS f(r, t, p) WHERE has_table_privilege(r, t, p);`,
    "IF found IS NOT NULL THEN RAISE EXCEPTION 'audit-events grants: % (through a role it is a member of, ownership of the table, or superuser): revoke it from that role, or take the role out of it, then run this script again', found; END IF;",
    "END $audit_events_check$;",
  ].join(" ");
}

function mysqlStatements(app: string, archiver: string, database: string, host: string, events: string, archive: string, checkpoints: string): string[] {
  const id = (name: string) => `\`${name}\``;
  const table = (name: string) => `${id(database)}.${id(name)}`;
  const user = (name: string) => `'${name}'@'${host}'`;
  // MySQL/MariaDB refuse to revoke a table privilege never granted, and have no REVOKE ... ON
  // a table for the grant option together: one privilege is granted first, so both REVOKEs always have one to remove.
  const revokeOn = (name: string, role: string) => [
    `GRANT SELECT ON ${table(name)} TO ${user(role)} WITH GRANT OPTION;`,
    `REVOKE GRANT OPTION ON ${table(name)} FROM ${user(role)};`,
    `REVOKE ALL PRIVILEGES ON ${table(name)} FROM ${user(role)};`,
  ];
  return [
    "-- audit-events: database users for MySQL/MariaDB. Run as an administrator. Create the users",
    "-- first if they do not exist, e.g.:",
    `--   CREATE USER ${user(app)} IDENTIFIED BY '...';`,
    `--   CREATE USER ${user(archiver)} IDENTIFIED BY '...';`,
    "-- Privileges on the whole database or server (GRANT ALL ON db.*, ON *.*) apply to the audit",
    "-- tables too, whatever is revoked here: give the application its own tables one by one",
    `-- (GRANT SELECT, INSERT, UPDATE, DELETE ON ${table("orders")} TO ${user(app)}). Check with`,
    `--   SHOW GRANTS FOR ${user(app)};   -- no line ON ${id(database)}.* or ON *.* beyond USAGE`,
    "",
    "-- Start from nothing on the audit tables (privileges on other tables are left as they are):",
    "-- every table and column privilege, and the grant option, revoked from both users.",
    ...[app, archiver].flatMap((role) => [events, archive, checkpoints].flatMap((name) => revokeOn(name, role))),
    "",
    "-- The application: adds and reads events, signs checkpoints; never updates, deletes or truncates.",
    `GRANT SELECT, INSERT ON ${table(events)} TO ${user(app)};`,
    `GRANT SELECT, INSERT ON ${table(checkpoints)} TO ${user(app)};`,
    `GRANT SELECT ON ${table(archive)} TO ${user(app)};`,
    "",
    "-- The archiver: moves old events into the archive.",
    `GRANT SELECT, DELETE ON ${table(events)} TO ${user(archiver)};`,
    `GRANT SELECT, INSERT ON ${table(archive)} TO ${user(archiver)};`,
    `GRANT SELECT ON ${table(checkpoints)} TO ${user(archiver)};`,
  ];
}
