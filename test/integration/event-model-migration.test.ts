// A deployed database moves to the event model: it has the migrations before
// 20261201000000_audit_events_event_model and rows written by the library of that time
// (live and archived); the application upgrades the package (its store then reports the
// missing columns), and the migration is applied. Old rows must stay readable and
// archivable beside new ones.

import { readFileSync } from "node:fs";
import path from "node:path";

import { v7 as uuidv7 } from "uuid";

import { AuditContext, exportEvents, prismaStore, type AuditEventRecord, type EventFilter, type PrismaStore } from "../../src";
import { EVENT_MODEL_MIGRATION } from "../../src/stores/prisma-event-model";
import { sampleRecord } from "../conformance/store-conformance";
import { eventModelVariants } from "../conformance/event-model-conformance";
import { migrationFiles, openDatabase, providers, splitSqlStatements, type Provider, type TestDatabase } from "../support/databases";
import { TextSink } from "../support/read-fixtures";

const DAY = 86_400_000;
const context = new AuditContext();
const all: EventFilter = { source: "all", content: [] };
const byPosition = (a: AuditEventRecord, b: AuditEventRecord) => a.timestamp.getTime() - b.timestamp.getTime() || (a.id < b.id ? -1 : 1);

/**
 * The audit tables' migrations of `provider`, split at the event model's: those before it,
 * and it with every later one (a deployment applies them all).
 */
function migrationsAround(provider: Provider): { before: string[]; eventModel: string[] } {
  const files = migrationFiles(provider, { examples: false });
  const folder = (file: string) => path.basename(path.dirname(file));
  if (!files.some((file) => folder(file) === EVENT_MODEL_MIGRATION)) throw new Error(`prisma/${provider}/migrations has no ${EVENT_MODEL_MIGRATION}`);
  return { before: files.filter((file) => folder(file) < EVENT_MODEL_MIGRATION), eventModel: files.filter((file) => folder(file) >= EVENT_MODEL_MIGRATION) };
}

async function apply(db: TestDatabase, files: string[]): Promise<void> {
  for (const file of files) {
    for (const statement of splitSqlStatements(readFileSync(file, "utf8"), db.provider)) await db.prisma.$executeRawUnsafe(statement);
  }
}

/** The columns the first migration created, in its order. */
const OLD_COLUMNS = ["id", "timestamp", "contentType", "objectId", "content", "userId", "url", "method", "remoteAddr", "queryParams", "postData", "headers"] as const;

/**
 * Inserts `record` as the library wrote it before the event model (its own fields of
 * that time only), with plain SQL: the client of this test knows only the new schema.
 * Instants go as ISO 8601 text (cast to timestamptz on PostgreSQL, as UTC DATETIME text on
 * MySQL, as the SQLite adapter's own text on SQLite).
 */
async function insertOld(db: TestDatabase, table: string, record: AuditEventRecord, archivedAt?: Date): Promise<void> {
  const columns: string[] = [...OLD_COLUMNS, ...(archivedAt === undefined ? [] : ["archivedAt"])];
  const values = [...OLD_COLUMNS.map((column) => record[column]), ...(archivedAt === undefined ? [] : [archivedAt])].map((value) =>
    value instanceof Date ? instant(db.provider, value) : value !== null && typeof value === "object" ? JSON.stringify(value) : value,
  );
  const quote = (name: string) => (db.provider === "mysql" ? `\`${name}\`` : `"${name}"`);
  const jsonColumns = new Set(["content", "queryParams", "postData", "headers"]);
  const placeholders = columns.map((column, i) => {
    if (db.provider !== "postgresql") return "?";
    return `$${i + 1}${column === "timestamp" || column === "archivedAt" ? "::timestamptz" : jsonColumns.has(column) ? "::jsonb" : column === "id" ? "::uuid" : ""}`;
  });
  await db.prisma.$executeRawUnsafe(`INSERT INTO ${table} (${columns.map(quote).join(", ")}) VALUES (${placeholders.join(", ")})`, ...values);
}

function instant(provider: Provider, date: Date): string {
  const iso = date.toISOString();
  if (provider === "mysql") return iso.replace("T", " ").replace("Z", "");
  return provider === "sqlite" ? iso.replace("Z", "+00:00") : iso;
}

/** What a row written before the migration reads as: the defaults the migration gives it. */
const asMigrated = (record: AuditEventRecord): AuditEventRecord => ({ ...record, action: null, outcome: "success", severity: "info", tenantId: null, requestId: null });

describe.each(providers)("a database with rows, migrated to the event model, on %s", (provider) => {
  let db: TestDatabase;
  let store: PrismaStore;
  const now = Date.now();
  // Written by the application before the migration: it asked for the event model's fields, which it could not store.
  const oldLive = Array.from({ length: 6 }, (_, i) => sampleRecord({ id: uuidv7({ msecs: now - (40 - i) * DAY }), timestamp: new Date(now - (40 - i) * DAY), objectId: `old-live-${i}` }));
  const oldArchived = Array.from({ length: 4 }, (_, i) => sampleRecord({ id: uuidv7({ msecs: now - (90 - i) * DAY }), timestamp: new Date(now - (90 - i) * DAY), objectId: `old-archived-${i}` }));
  const fresh = eventModelVariants(now - 20 * DAY, 60);

  beforeAll(async () => {
    db = await openDatabase(provider, { name: `event_model_migration_${provider}` });
    const { before, eventModel } = migrationsAround(provider);
    // The database as it was before the event model: no audit tables of a later migration.
    await db.prisma.$executeRawUnsafe("DROP TABLE archived_audit_events");
    await db.prisma.$executeRawUnsafe("DROP TABLE audit_events");
    await db.prisma.$executeRawUnsafe("DROP TABLE audit_checkpoints");
    await apply(db, before);

    for (const record of oldLive) await insertOld(db, "audit_events", record);
    for (const record of oldArchived) await insertOld(db, "archived_audit_events", record, new Date(now - DAY));
    // The application upgraded the package before applying the migration: its store finds columns missing.
    const beforeMigration = prismaStore(db.prisma);
    await expect(beforeMigration.insert([fresh[0]!], { context })).rejects.toMatchObject({ code: "ERR_AUDIT_STORE_SCHEMA", message: expect.stringContaining(`node_modules/audit-events/prisma/${provider}/migrations`) });

    await apply(db, eventModel);
    store = prismaStore(db.prisma);
  });
  afterAll(async () => {
    await db?.close();
  });

  it("reads the rows written before the migration with outcome success, severity info and null for the rest", async () => {
    for (const record of oldLive) expect(await store.getEvent(record.id)).toEqual(asMigrated(record));
    for (const record of oldArchived) expect(await store.getArchivedEvent(record.id)).toEqual({ ...asMigrated(record), archivedAt: expect.any(Date) });
    const expected = [...oldArchived, ...oldLive].map(asMigrated).sort(byPosition);
    expect(await store.queryEvents(all, { order: "asc", limit: 100 })).toEqual(expected);
    const sink = new TextSink();
    await exportEvents({ store, source: "all", order: "asc", format: "ndjson" }, sink);
    expect(sink.text.trimEnd().split("\n").map((line) => JSON.parse(line))).toEqual(JSON.parse(JSON.stringify(expected)));
  });

  it("writes new events with every field beside them, synchronously, in bulk and in a transaction", async () => {
    await store.insert(fresh.slice(0, 5), { context });
    await store.writeRows(fresh.slice(5, 10).map((record) => store.toRow(record, context)));
    await db.prisma.$transaction((tx) => store.insert(fresh.slice(10), { tx, context }));
    for (const record of fresh) expect(await store.getEvent(record.id)).toEqual(record);
    expect(await store.queryEvents({ source: "live", content: [] }, { order: "asc", limit: 100 })).toEqual([...oldLive.map(asMigrated), ...fresh].sort(byPosition));
  });

  it("archives the old rows with the new ones, each keeping what it holds", async () => {
    expect((await store.archiveBatch(new Date(now), 1000)).moved).toBe(oldLive.length + fresh.length);
    for (const record of oldLive) expect(await store.getArchivedEvent(record.id)).toEqual({ ...asMigrated(record), archivedAt: expect.any(Date) });
    for (const record of fresh) expect(await store.getArchivedEvent(record.id)).toEqual({ ...record, archivedAt: expect.any(Date) });
    const expected = [...oldArchived.map(asMigrated), ...oldLive.map(asMigrated), ...fresh].sort(byPosition);
    const page = await store.queryEventsAsJson!(all, { order: "asc", limit: 100 });
    expect(page.json.map((text) => JSON.parse(text))).toEqual(JSON.parse(JSON.stringify(expected)));
    expect(await store.countEvents({ source: "archive", content: [] })).toBe(expected.length);
  });
});
