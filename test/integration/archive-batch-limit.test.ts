import { MAX_ARCHIVE_BATCH_SIZE, archiveOldEvents, countArchivableEvents, prismaStore } from "../../src";
import { openDatabase, type Provider, type TestDatabase } from "../support/databases";
import { insertGeneratedEvents, sqlCountBefore } from "../support/archive-fixtures";

// MySQL refuses a prepared statement with more than 65 535 placeholders, so a batch of more
// events than that must not send one placeholder per event. 66 000 events are due here. SQLite
// is left out: it moves about 2 000 events a second through Prisma's delegates, so a batch this
// large takes half a minute there.
const DUE = 66_000;

const servers: Array<Exclude<Provider, "sqlite">> = ["postgresql", "mysql"];

describe.each(servers)("archiveOldEvents() with the largest batch size on %s", (provider) => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await openDatabase<Provider>(provider, { name: "archive_batch_limit" });
  });
  afterAll(async () => {
    await db?.close();
  });

  it(`moves ${DUE} due events in one batch of batchSize ${MAX_ARCHIVE_BATCH_SIZE}`, async () => {
    const store = prismaStore(db.prisma);
    await insertGeneratedEvents(provider, db.prisma, DUE, 40);
    await insertGeneratedEvents(provider, db.prisma, 10, 5);
    expect(await countArchivableEvents({ olderThanDays: 30, store })).toBe(DUE);

    const result = await archiveOldEvents({ olderThanDays: 30, batchSize: MAX_ARCHIVE_BATCH_SIZE, store });

    expect(result).toMatchObject({ archived: DUE, batches: 1 });
    expect(await sqlCountBefore(provider, db.prisma, "audit_events", result.cutoff)).toBe(0);
    expect(await db.prisma.archivedAuditEvent.count()).toBe(DUE);
    expect(await db.prisma.auditEvent.count()).toBe(10);
  }, 60_000);
});
