import { Client as PgClient } from "pg";
import * as mariadb from "mariadb";

import { AuditContext, archiveOldEvents, closeAudit, configureAudit, findEvents, flushAudit, prismaStore, type AuditEventRecord } from "../../src";
import { runCli } from "../../src/cli/main";
import { reportError } from "../../src/cli/report-error";
import { grantStatements } from "../../src/cli/grant-statements";
import { connectClient, openDatabase, type TestDatabase } from "../support/databases";
import { manyEvents } from "../support/read-fixtures";

type Provider = "postgresql" | "mysql";

const APP = `ae_app_${process.pid}`;
const ARCHIVER = `ae_archiver_${process.pid}`;
const PASSWORD = "grants-test-password";
/** A table of the application's own, beside the audit tables. */
const OWN_TABLE = "shop_orders";
const DAY = 86_400_000;

/** The statements of a script as `grants` prints it: comments and blank lines dropped. */
function statementsOf(script: string): string[] {
  return script
    .split("\n")
    .filter((line) => line.trim().length > 0 && !line.startsWith("--"))
    .map((line) => line.replace(/;$/, ""));
}

/** Runs `audit-events grants <args>` in this process and gives back what it printed. */
async function grants(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const io = { stdout: { write: (t: string) => ((stdout += t), true) }, stderr: { write: (t: string) => ((stderr += t), true) }, cwd: process.cwd() };
  const code = await runCli(args, io as never);
  return { code, stdout, stderr };
}

/** What the CLI prints for `error`, as it ends a command that threw it. */
function reported(error: unknown): string {
  let text = "";
  reportError(error, { write: (chunk: string) => ((text += chunk), true) } as unknown as NodeJS.WritableStream, false);
  return text;
}

const OUTAGE_HINT = "Check that the database is running";

/** A raw connection as one of the roles, for the statements the store never runs. */
interface RawSession {
  run(sql: string): Promise<unknown>;
  close(): Promise<void>;
}

interface Server {
  /** The URL of `db` for `role`. */
  urlAs(db: TestDatabase, role: string): string;
  quote(name: string): string;
  /** The role or user as a GRANT names it. */
  account(role: string): string;
  admin(db: TestDatabase): Promise<RawSession>;
  createRoles(db: TestDatabase): Promise<void>;
  dropRoles(): Promise<void>;
  session(db: TestDatabase, role: string): Promise<RawSession>;
  denied: RegExp;
}

const servers: Record<Provider, Server> = {
  postgresql: {
    urlAs: (db, role) => {
      const url = new URL(db.url);
      url.username = role;
      url.password = PASSWORD;
      return url.toString();
    },
    quote: (name) => `"${name}"`,
    account: (role) => `"${role}"`,
    admin: (db) => pgSession(db.url),
    async createRoles(db) {
      const admin = await pgSession(db.url);
      for (const role of [APP, ARCHIVER]) await admin.run(`DO $$ BEGIN CREATE ROLE "${role}" LOGIN PASSWORD '${PASSWORD}'; EXCEPTION WHEN duplicate_object THEN NULL; END $$`);
      await admin.close();
    },
    async dropRoles() {
      const admin = await pgSession("postgresql://postgres@127.0.0.1:5432/postgres");
      for (const role of [APP, ARCHIVER]) await admin.run(`DROP ROLE IF EXISTS "${role}"`);
      await admin.close();
    },
    session: (db, role) => pgSession(servers.postgresql.urlAs(db, role)),
    denied: /permission denied/,
  },
  mysql: {
    urlAs: (db, role) => {
      const url = new URL(db.url);
      url.username = role;
      url.password = PASSWORD;
      return url.toString();
    },
    quote: (name) => `\`${name}\``,
    account: (role) => `'${role}'@'%'`,
    admin: (db) => mariaSession(db.url),
    async createRoles(db) {
      const admin = await mariaSession(db.url);
      for (const role of [APP, ARCHIVER]) await admin.run(`CREATE USER IF NOT EXISTS '${role}'@'%' IDENTIFIED BY '${PASSWORD}'`);
      await admin.close();
    },
    async dropRoles() {
      const admin = await mariaSession("mysql://root@127.0.0.1:3306");
      for (const role of [APP, ARCHIVER]) await admin.run(`DROP USER IF EXISTS '${role}'@'%'`);
      await admin.close();
    },
    session: (db, role) => mariaSession(servers.mysql.urlAs(db, role)),
    denied: /command denied/,
  },
};

async function pgSession(url: string): Promise<RawSession> {
  const client = new PgClient({ connectionString: url });
  await client.connect();
  return { run: (sql) => client.query(sql), close: () => client.end() };
}

async function mariaSession(url: string): Promise<RawSession> {
  const parsed = new URL(url);
  const connection = await mariadb.createConnection({
    host: parsed.hostname,
    port: Number(parsed.port || 3306),
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    database: parsed.pathname.slice(1) || undefined,
  });
  return { run: (sql) => connection.query(sql), close: () => connection.end() };
}

describe("audit-events grants", () => {
  it("refuses what it cannot quote safely, a MySQL database left out, and one role for both", async () => {
    for (const [args, message] of [
      [["--provider", "mysql"], /--schema names the database/],
      [["--provider", "postgresql", "--app-role", "app; DROP TABLE x"], /--app-role must be 1 to 63 letters/],
      [["--provider", "mysql", "--schema", "shop", "--host", "a'b"], /--host must be a host name/],
      [["--provider", "postgresql", "--app-role", "same", "--archiver-role", "same"], /must differ/],
    ] as const) {
      const run = await grants(["grants", ...args]);
      expect({ code: run.code, stdout: run.stdout }).toEqual({ code: 2, stdout: "" });
      expect(run.stderr).toMatch(message);
    }
    expect((await grants(["grants", "--provider", "oracle"])).code).toBe(2);
  });

  it("prints nothing that grants UPDATE, DELETE or TRUNCATE to the application's role", async () => {
    for (const provider of ["postgresql", "mysql"] as const) {
      const printed = statementsOf(grantStatements({ provider, schema: "shop", appRole: "shop_app" }).join("\n"));
      const toApp = printed.filter((s) => s.startsWith("GRANT") && /shop_app/.test(s));
      expect(toApp.length).toBeGreaterThanOrEqual(3);
      for (const statement of toApp) expect(statement).not.toMatch(/UPDATE|DELETE|TRUNCATE|ALL/);
    }
  });
});

describe.each(["postgresql", "mysql"] as const)("the roles of audit-events grants on %s", (provider) => {
  const server = servers[provider];
  let db: TestDatabase;
  const old: AuditEventRecord[] = manyEvents(30, 5).map((event, i) => ({ ...event, timestamp: new Date(Date.now() - (200 + i) * DAY) }));

  beforeAll(async () => {
    db = (await openDatabase(provider, { name: `grants_${provider}` })) as TestDatabase;
    await prismaStore(db.prisma).insert(old, { context: new AuditContext() });
    await server.createRoles(db);
    const q = server.quote;
    const admin = await server.admin(db);
    // The application's own table, granted table by table as the script's comments ask; and an
    // older grant on the audit events that the script must take back.
    await admin.run(`CREATE TABLE ${q(OWN_TABLE)} (${q("id")} INT PRIMARY KEY, ${q("note")} VARCHAR(20))`);
    await admin.run(`GRANT SELECT, INSERT, UPDATE, DELETE ON ${q(OWN_TABLE)} TO ${server.account(APP)}`);
    await admin.run(`GRANT UPDATE, DELETE ON ${q("audit_events")} TO ${server.account(APP)}`);
    const args = ["grants", "--provider", provider, "--app-role", APP, "--archiver-role", ARCHIVER, ...(provider === "mysql" ? ["--schema", db.name] : [])];
    const printed = await grants(args);
    expect(printed.code).toBe(0);
    // Twice: a second run over its own grants leaves the same.
    for (const run of [1, 2]) for (const statement of statementsOf(printed.stdout)) await admin.run(statement).catch((error: Error) => Promise.reject(new Error(`run ${run}: ${statement}: ${error.message}`)));
    await admin.close();
  }, 60_000);
  afterAll(async () => {
    await closeAudit().catch(() => undefined);
    await db?.close();
    await server.dropRoles();
  });

  it("lets the application's role write events (sync and buffered, replays skipped) and read them, through Prisma", async () => {
    const prisma = connectClient({ provider, url: server.urlAs(db, APP) });
    try {
      const store = prismaStore(prisma);
      configureAudit({ store });
      const context = new AuditContext({ extraData: { role: "app" } });
      const sync = await context.createEvent({ contentType: "Order", objectId: "sync" }, { action: "order.refund" });
      configureAudit({ store, writeMode: "buffered" });
      const buffered = await Promise.all([1, 2, 3].map((n) => context.createEvent({ contentType: "Order", objectId: `buffered-${n}` })));
      await flushAudit();
      // A spool replaying rows the store holds already: skipped, which needs SELECT.
      await store.writeRows([sync, ...buffered].map((record) => store.toRow(record, context)));
      const { events } = await findEvents({ store, contentType: "Order", limit: 500 });
      const mine = events.filter((e) => e.content.role === "app");
      expect(mine.map((e) => e.objectId).sort()).toEqual(["buffered-1", "buffered-2", "buffered-3", "sync"]);
      await expect((prisma as unknown as { auditEvent: { updateMany(a: object): Promise<unknown> } }).auditEvent.updateMany({ where: { id: sync.id }, data: { userId: "mallory" } })).rejects.toThrow(server.denied);
    } finally {
      await closeAudit();
      await prisma.$disconnect();
    }
  });

  it("leaves the application's privileges on its own tables as they were", async () => {
    const session = await server.session(db, APP);
    const q = server.quote;
    try {
      await session.run(`INSERT INTO ${q(OWN_TABLE)} (${q("id")}, ${q("note")}) VALUES (1, 'new')`);
      await session.run(`UPDATE ${q(OWN_TABLE)} SET ${q("note")} = 'changed' WHERE ${q("id")} = 1`);
      const rows = (await session.run(`SELECT ${q("note")} FROM ${q(OWN_TABLE)}`)) as { rows?: { note: string }[] } | { note: string }[];
      expect(Array.isArray(rows) ? rows.map((r) => r.note) : rows.rows!.map((r) => r.note)).toEqual(["changed"]);
      await session.run(`DELETE FROM ${q(OWN_TABLE)}`);
    } finally {
      await session.close();
    }
  });

  it("keeps the application's role from changing, deleting or truncating events", async () => {
    const session = await server.session(db, APP);
    const q = server.quote;
    try {
      const refused = [
        `UPDATE ${q("audit_events")} SET ${q("userId")} = 'mallory'`,
        `UPDATE ${q("audit_events")} SET ${q("id")} = ${q("id")}`,
        `DELETE FROM ${q("audit_events")}`,
        `TRUNCATE TABLE ${q("audit_events")}`,
        `DELETE FROM ${q("archived_audit_events")}`,
        `UPDATE ${q("audit_checkpoints")} SET ${q("signature")} = 'x'`,
        `DELETE FROM ${q("audit_checkpoints")}`,
      ];
      for (const sql of refused) await expect(session.run(sql)).rejects.toThrow(server.denied);
      await session.run(`INSERT INTO ${q("audit_checkpoints")} (${q("chainId")}, ${q("seq")}, ${q("hash")}, ${q("keyId")}, ${q("signature")}, ${q("createdAt")}) VALUES ('c', 1, '${"a".repeat(64)}', 'k', '${"b".repeat(64)}', '2026-12-01 00:00:00')`);
    } finally {
      await session.close();
    }
    const admin = await server.admin(db);
    const rows = (await admin.run(`SELECT count(*) AS n FROM ${q("audit_events")} WHERE ${q("userId")} = 'mallory'`)) as { rows?: { n: string }[] } | { n: bigint }[];
    await admin.close();
    expect(Number(Array.isArray(rows) ? rows[0]!.n : rows.rows![0]!.n)).toBe(0);
  });

  it("tells the CLI's user that the database refused the role, not to check that it runs, when the application's role archives", async () => {
    const prisma = connectClient({ provider, url: server.urlAs(db, APP) });
    try {
      const failure: unknown = await archiveOldEvents({ olderThanDays: 100, batchSize: 7, store: prismaStore(prisma) }).then(
        () => new Error("archival as the application's role succeeded"),
        (error: unknown) => error,
      );
      const text = reported(failure);
      expect(text).toContain("archival failed after moving 0 event(s)");
      expect(text).toMatch(server.denied);
      expect(text).toContain("The database refused the role your config file connects as");
      expect(text).not.toContain(OUTAGE_HINT);
    } finally {
      await prisma.$disconnect();
    }
  });

  it("lets the archiver's role archive old events, and nothing more", async () => {
    const prisma = connectClient({ provider, url: server.urlAs(db, ARCHIVER) });
    try {
      const result = await archiveOldEvents({ olderThanDays: 100, batchSize: 7, store: prismaStore(prisma) });
      expect(result.archived).toBe(old.length);
      const { events } = await findEvents({ store: prismaStore(prisma), source: "archive", limit: 500 });
      expect(events.map((e) => e.id).sort()).toEqual(old.map((e) => e.id).sort());
    } finally {
      await prisma.$disconnect();
    }
    const session = await server.session(db, ARCHIVER);
    const q = server.quote;
    try {
      for (const sql of [`UPDATE ${q("audit_events")} SET ${q("userId")} = 'mallory'`, `TRUNCATE TABLE ${q("audit_events")}`, `UPDATE ${q("archived_audit_events")} SET ${q("userId")} = 'mallory'`, `DELETE FROM ${q("archived_audit_events")}`]) {
        await expect(session.run(sql)).rejects.toThrow(server.denied);
      }
    } finally {
      await session.close();
    }
  });
});

describe("a login MariaDB refuses", () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = (await openDatabase("mysql", { name: "grants_login" })) as TestDatabase;
    await servers.mysql.createRoles(db);
  }, 60_000);
  afterAll(async () => {
    await db?.close();
    await servers.mysql.dropRoles();
  });

  it("is reported with the server's reason, which the driver's pool timeout hides, and the login hint", async () => {
    const url = new URL(servers.mysql.urlAs(db, APP));
    url.password = "not-the-password";
    const prisma = connectClient({ provider: "mysql", url: url.toString() }, { acquireTimeout: 1_000 });
    try {
      const failure: unknown = await findEvents({ store: prismaStore(prisma) }).then(
        () => new Error("a read with a wrong password succeeded"),
        (error: unknown) => error,
      );
      const text = reported(failure);
      expect(text).toMatch(/could not read events: .*Access denied for user/);
      expect(text).toContain("The database refused the login: check the user and password");
      expect(text).not.toContain(OUTAGE_HINT);
    } finally {
      await prisma.$disconnect();
    }
  });
});

describe("audit-events grants on PostgreSQL and a group role", () => {
  const GROUP = `ae_writers_${process.pid}`;
  const server = servers.postgresql;
  let db: TestDatabase;

  beforeAll(async () => {
    db = (await openDatabase("postgresql", { name: "grants_group" })) as TestDatabase;
    await server.createRoles(db);
    const admin = await server.admin(db);
    await admin.run(`DO $$ BEGIN CREATE ROLE "${GROUP}" NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$`);
    await admin.run(`GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA public TO "${GROUP}"`);
    await admin.run(`GRANT "${GROUP}" TO "${APP}"`);
    await admin.close();
  }, 60_000);
  afterAll(async () => {
    const admin = await server.admin(db);
    await admin.run(`REVOKE ALL ON ALL TABLES IN SCHEMA public FROM "${GROUP}"`);
    await admin.close();
    await db?.close();
    const root = await pgSession("postgresql://postgres@127.0.0.1:5432/postgres");
    await root.run(`DROP ROLE IF EXISTS "${GROUP}"`);
    await root.close();
    await server.dropRoles();
  });

  it("warns of privileges inherited from a group, and the script fails, naming them, while the application's role can still change events through one", async () => {
    const printed = await grants(["grants", "--provider", "postgresql", "--app-role", APP, "--archiver-role", ARCHIVER]);
    expect(printed.stdout).toContain("-- Nor may either be a superuser, or a member of a role (a group) that may change the tables:");
    const admin = await server.admin(db);
    try {
      const statements = statementsOf(printed.stdout);
      const check = statements.at(-1)!;
      expect(check).toMatch(/^DO /);
      for (const statement of statements.slice(0, -1)) await admin.run(statement);
      // What the check is for: every REVOKE ran, and the group still lets the application change events.
      const session = await server.session(db, APP);
      await session.run(`UPDATE "audit_events" SET "userId" = 'mallory'`).finally(() => session.close());
      await expect(admin.run(check)).rejects.toThrow(`audit-events grants: ${APP} can UPDATE "public"."audit_events"; ${APP} can DELETE "public"."audit_events"; ${APP} can TRUNCATE "public"."audit_events"; ${APP} can UPDATE "public"."archived_audit_events"`);
      await admin.run(`REVOKE "${GROUP}" FROM "${APP}"`);
      for (const statement of statements) await admin.run(statement);
    } finally {
      await admin.close();
    }
  });
});
