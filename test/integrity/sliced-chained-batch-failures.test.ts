import { AuditContext, closeAudit, configureAudit, flushAudit, prismaStore, verifyAuditTrail, type AuditStore } from "../../src";
import { openDatabase, type TestDatabase } from "../support/databases";

/**
 * A batch larger than the write bound (32 MiB) goes as several chained writes. When one of
 * them commits but its reply is lost (unknown outcome), the slices before it are stored,
 * its chain ends, and the batch is tried again: every event must be stored once, and the
 * chains stay gapless. A row the store refuses in a later slice is isolated there alone:
 * the others of its slice, and the slices around it, are stored once, in gapless chains.
 */
const KEY = "sliced-chained-batch-failures-key-0123456789";
let db: TestDatabase<"postgresql">;

jest.setTimeout(300_000);
beforeAll(async () => {
  db = await openDatabase("postgresql", { name: "sliced_chained_batch_failures" });
});
afterAll(async () => {
  await closeAudit().catch(() => undefined);
  configureAudit({});
  await db?.close();
});

it.each([1, 2])("stores each event of a sliced batch once, in gapless chains, when write %i commits and loses its reply", async (lost) => {
  await db.reset();
  const inner = prismaStore(db.prisma);
  let calls = 0;
  const store: AuditStore = Object.assign(Object.create(inner) as AuditStore, {
    name: inner.name,
    async writeRows(rows: Parameters<AuditStore["writeRows"]>[0]) {
      await inner.writeRows(rows);
      if (++calls === lost) throw Object.assign(new Error("read ECONNRESET (test: reply lost after commit)"), { code: "ECONNRESET" });
    },
  });
  configureAudit({ store, writeMode: "buffered", flushIntervalMs: 600_000, logger: { warn: () => undefined }, integrity: { key: KEY } });
  const ctx = new AuditContext();
  const ids: string[] = [];
  for (let i = 0; i < 45; i++) ids.push((await ctx.createEvent({ contentType: "Upload", objectId: i }, { file: "x".repeat(1_000_000) })).id);
  await expect(flushAudit()).rejects.toThrow(/still in memory/);
  await flushAudit();
  await closeAudit();
  const stored = await db.prisma.auditEvent.findMany({ select: { id: true } });
  expect({ calls: calls > 2, stored: stored.map((e) => e.id).sort() }).toEqual({ calls: true, stored: [...ids].sort() });
  expect(await verifyAuditTrail({ store: inner, key: KEY })).toMatchObject({ ok: true, problems: [] });
});

it("isolates a row refused in a later slice of a chained batch; the others are stored once, in gapless chains", async () => {
  await db.reset();
  const inner = prismaStore(db.prisma);
  const store: AuditStore = Object.assign(Object.create(inner) as AuditStore, {
    name: inner.name,
    async writeRows(rows: Parameters<AuditStore["writeRows"]>[0]) {
      // What PostgreSQL answers for a value its column refuses (SQLSTATE 22P02).
      if (rows.some((r) => r.objectId === "30")) throw Object.assign(new Error("invalid input syntax (test: refused row)"), { meta: { code: "22P02" } });
      await inner.writeRows(rows);
    },
  });
  configureAudit({ store, writeMode: "buffered", flushIntervalMs: 600_000, logger: { warn: () => undefined, error: () => undefined }, integrity: { key: KEY } });
  const ctx = new AuditContext();
  const ids: string[] = [];
  for (let i = 0; i < 45; i++) ids.push((await ctx.createEvent({ contentType: "Upload", objectId: i }, { file: "x".repeat(1_000_000) })).id);
  await flushAudit();
  await closeAudit();
  const stored = await db.prisma.auditEvent.findMany({ select: { id: true, contentType: true, objectId: true } });
  const refused = ids[30]!;
  expect({
    events: stored.filter((e) => e.contentType === "Upload").map((e) => e.id).sort(),
    standIns: stored.filter((e) => e.contentType === "AuditEvent").map((e) => e.objectId),
  }).toEqual({ events: ids.filter((id) => id !== refused).sort(), standIns: [refused] });
  expect(await verifyAuditTrail({ store: inner, key: KEY })).toMatchObject({ ok: true, problems: [] });
});
