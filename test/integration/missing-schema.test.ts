import { v7 as uuidv7 } from "uuid";

import {
  archiveOldEvents,
  AuditConfigError,
  AuditContext,
  configureAudit,
  countArchivableEvents,
  countEvents,
  exportEvents,
  findEvents,
  prismaStore,
  summarizeEvents,
  type AuditStore,
} from "../../src";
import { openDatabase, providers, type TestDatabase } from "../support/databases";
import { TextSink } from "../support/read-fixtures";

const row = () => ({ id: uuidv7(), timestamp: new Date(), contentType: "T", objectId: "1", content: {}, userId: null, url: null, method: null, remoteAddr: null, queryParams: {}, postData: {}, headers: {}, action: null, outcome: "success" as const, severity: "info" as const, tenantId: null, requestId: null, chainId: null, seq: null, prevHash: null, hash: null });

/** Every call a store makes to its database, through the public API where there is one. */
function everyPath(store: AuditStore): Record<string, () => Promise<unknown>> {
  return {
    "findEvents (queryEvents)": () => findEvents({ store }),
    "exportEvents (queryEventsAsJson)": () => exportEvents({ store, format: "ndjson" }, new TextSink()),
    "countEvents": () => countEvents({ store }),
    "summarizeEvents": () => summarizeEvents({ store }),
    "getEvent": () => store.getEvent(uuidv7()),
    "getArchivedEvent": () => store.getArchivedEvent(uuidv7()),
    "archiveOldEvents (archiveBatch)": () => archiveOldEvents({ store, olderThanDays: 0 }),
    "countArchivableEvents (countLiveBefore)": () => countArchivableEvents({ store, olderThanDays: 0 }),
    "createEvent (insert)": () => new AuditContext({ store }).createEvent({ contentType: "T", objectId: 1 }),
    "insert of a batch": () => store.insert([row(), row()], { context: new AuditContext() }),
    "writeRows (buffered and spooled writes)": () => store.writeRows([row()]),
  };
}

describe.each(providers)("a database without the audit tables' migrations, on %s", (provider) => {
  let db: TestDatabase;
  let store: AuditStore;

  beforeAll(async () => {
    db = await openDatabase(provider, { name: `missing_schema_${provider}` });
    store = prismaStore(db.prisma);
  });
  afterAll(async () => {
    configureAudit({});
    await db?.close();
  });

  const quote = (name: string) => (provider === "mysql" ? `\`${name}\`` : `"${name}"`);
  const renames: Array<[string, string, string]> = [
    ["the live table", "ALTER TABLE audit_events RENAME TO audit_events_away", "ALTER TABLE audit_events_away RENAME TO audit_events"],
    ["the archive table", "ALTER TABLE archived_audit_events RENAME TO archived_away", "ALTER TABLE archived_away RENAME TO archived_audit_events"],
    ["a column", `ALTER TABLE audit_events RENAME COLUMN ${quote("headers")} TO ${quote("headers_away")}`, `ALTER TABLE audit_events RENAME COLUMN ${quote("headers_away")} TO ${quote("headers")}`],
    // The model declares it (the client was generated after the event-model migration) but the database never got it.
    ["the event model's tenantId column", `ALTER TABLE audit_events RENAME COLUMN ${quote("tenantId")} TO ${quote("tenantId_away")}`, `ALTER TABLE audit_events RENAME COLUMN ${quote("tenantId_away")} TO ${quote("tenantId")}`],
  ];

  it.each(renames)("without %s, every path that needs it throws ERR_AUDIT_STORE_SCHEMA naming the provider's migrations", async (what, away, back) => {
    // An event due for archival, so that archival needs the archive table on every database.
    await store.insert([{ ...row(), timestamp: new Date(Date.now() - 3_600_000) }], { context: new AuditContext() });
    await db.prisma.$executeRawUnsafe(away);
    const outcomes: Record<string, unknown> = {};
    try {
      for (const [path, call] of Object.entries(everyPath(store))) {
        outcomes[path] = await call().then(
          () => "ok",
          (error: unknown) => (error instanceof AuditConfigError && error.code === "ERR_AUDIT_STORE_SCHEMA" && error.message.includes(`node_modules/audit-events/prisma/${provider}/migrations`) && error.message.includes("npx prisma migrate deploy") ? "schema error" : String(error)),
        );
      }
    } finally {
      await db.prisma.$executeRawUnsafe(back);
    }
    // Paths that never touch what is missing keep working: reading live events needs no archive table.
    const untouched: Record<string, string[]> = {
      "the live table": ["getArchivedEvent"],
      "the archive table": ["findEvents (queryEvents)", "exportEvents (queryEventsAsJson)", "countEvents", "summarizeEvents", "getEvent", "countArchivableEvents (countLiveBefore)", "createEvent (insert)", "insert of a batch", "writeRows (buffered and spooled writes)"],
      "a column": ["getArchivedEvent", "countArchivableEvents (countLiveBefore)", "countEvents", "summarizeEvents"],
      "the event model's tenantId column": ["getArchivedEvent", "countArchivableEvents (countLiveBefore)", "countEvents", "summarizeEvents"],
    };
    expect(outcomes).toEqual(Object.fromEntries(Object.keys(outcomes).map((path) => [path, untouched[what]!.includes(path) ? "ok" : "schema error"])));
  });
});
