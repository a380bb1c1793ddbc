import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import request from "supertest";
import {
  AuditContext,
  auditMetrics,
  closeAudit,
  configureAudit,
  fileSpool,
  flushAudit,
  prismaStore,
  type AuditEventRecord,
  type PrismaStore,
} from "../../src";
import { verifyAuditTrail } from "../../src/integrity/verify-trail";
import { decodeSpoolLine, encodeSpoolLine } from "../../src/writer/spool-line";
import { sampleRecord } from "../conformance/store-conformance";
import { copyRecordingPool, type CopyRecordingPool } from "../support/copy-pool";
import { openDatabase, type TestDatabase } from "../support/databases";
import { frameworks } from "../support/http-apps";
import { KEY_A } from "../integrity/chain-checker";

/**
 * Issue 11, point 1: a row the database refuses for what it holds (a constraint of the
 * user's own schema, here a CHECK the test adds) is never dropped silently.
 */

const dir = mkdtempSync(path.join(tmpdir(), "audit-refused-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A logger that keeps what it hears, by level. */
function recordingLogger() {
  const heard = { warn: [] as string[], error: [] as string[] };
  return { heard, warn: (m: string) => heard.warn.push(m), error: (m: string) => heard.error.push(m) };
}

/** The refused event, as the error log carries it: a spool line, checksummed. */
function loggedEvent(message: string): Record<string, unknown> {
  const line = message.slice(message.indexOf("The refused event, whole: ") + "The refused event, whole: ".length);
  const decoded = decodeSpoolLine(line);
  if (!("row" in decoded)) throw new Error(`the log does not hold the event: ${decoded.problem}`);
  return decoded.row;
}

/** Each database, and PostgreSQL once more with a pgPool, so buffered batches go by COPY first. */
const targets = [
  { label: "mysql", provider: "mysql", pooled: false },
  { label: "postgresql", provider: "postgresql", pooled: false },
  { label: "postgresql with pgPool (buffered batches by COPY)", provider: "postgresql", pooled: true },
] as const;

describe.each(targets)("a row refused by a CHECK constraint on $label", ({ provider, pooled }) => {
  let db: TestDatabase;
  let store: PrismaStore;
  let pool: CopyRecordingPool | undefined;
  const sql = (statement: string) => (db.prisma as unknown as { $executeRawUnsafe(sql: string): Promise<number> }).$executeRawUnsafe(statement);
  const objectId = provider === "mysql" ? "`objectId`" : '"objectId"';
  const contentType = provider === "mysql" ? "`contentType`" : '"contentType"';
  const dropCheck = (name: string) => sql(`ALTER TABLE audit_events DROP CONSTRAINT ${name}`);

  beforeAll(async () => {
    db = (await openDatabase(provider, { name: "refused_rows" })) as unknown as TestDatabase;
    pool = pooled ? copyRecordingPool(db.url) : undefined;
    store = prismaStore(db.prisma, pool === undefined ? {} : { pgPool: pool });
    await sql(`ALTER TABLE audit_events ADD CONSTRAINT no_forbidden CHECK (${objectId} <> 'forbidden')`);
  });
  afterEach(async () => {
    await closeAudit();
    configureAudit({});
    await db.reset();
  });
  afterAll(async () => {
    await pool?.end();
    await db?.close();
  });

  const rows = () => (db.prisma as unknown as { auditEvent: { findMany(): Promise<AuditEventRecord[]> } }).auditEvent.findMany();

  it("sync: the caller gets ERR_AUDIT_EVENT_REFUSED, and it is counted and logged at error level", async () => {
    const logger = recordingLogger();
    configureAudit({ store, logger });
    const before = auditMetrics().rejected;
    const attempt = new AuditContext().createEvent({ contentType: "Order", objectId: "forbidden" });
    await expect(attempt).rejects.toMatchObject({ name: "AuditStoreError", code: "ERR_AUDIT_EVENT_REFUSED" });
    expect(auditMetrics().rejected - before).toBe(1);
    expect(logger.heard.error.join("\n")).toMatch(/refused audit event [0-9a-f-]{36} \(Order forbidden\)/);
    expect(await rows()).toEqual([]);
  });

  it("buffered: the refused event is logged whole, counted, and a stand-in names it in the trail; the rest is stored", async () => {
    const logger = recordingLogger();
    configureAudit({ store, writeMode: "buffered", logger });
    const before = auditMetrics();
    const context = new AuditContext({ url: "https://shop.test/orders/forbidden", remoteAddr: "[2001:db8::1]:443" });
    const records = await Promise.all(["a", "forbidden", "b"].map((id) => context.createEvent({ contentType: "Order", objectId: id }, { action: "ship" })));
    await flushAudit();
    const refused = records[1]!;
    const stored = await rows();
    expect(stored.map((r) => r.objectId).sort()).toEqual(["a", "b", refused.id].sort());
    const standIn = stored.find((r) => r.objectId === refused.id)!;
    expect(standIn.contentType).toBe("AuditEvent");
    expect(standIn.content).toMatchObject({
      outcome: "refused",
      reason: expect.stringMatching(/no_forbidden/),
      event: { id: refused.id, objectId: "forbidden", content: { action: "ship" }, remoteAddr: "2001:db8::1", timestamp: refused.timestamp.toISOString() },
    });
    expect(auditMetrics().rejected - before.rejected).toBe(1);
    expect(auditMetrics().dropped - before.dropped).toBe(0);
    expect(logger.heard.error).toHaveLength(1);
    expect(logger.heard.error[0]).toContain(`refused audit event ${refused.id}`);
    expect(logger.heard.error[0]).toContain(`Stand-in event ${standIn.id}`);
    expect(loggedEvent(logger.heard.error[0]!)).toEqual({ ...refused });
  });

  it("spool replay: a refused spooled event gets its stand-in too", async () => {
    const file = path.join(dir, `${provider}${pooled ? "-pooled" : ""}-replay.log`);
    const good = sampleRecord({ objectId: "fine" });
    const bad = sampleRecord({ objectId: "forbidden" });
    writeFileSync(file, `${encodeSpoolLine({ ...good })}\n${encodeSpoolLine({ ...bad })}\n`);
    const logger = recordingLogger();
    const before = auditMetrics().rejected;
    configureAudit({ store, writeMode: "buffered", spool: fileSpool({ path: file }), logger });
    await flushAudit();
    const stored = await rows();
    expect(stored.map((r) => r.objectId).sort()).toEqual(["fine", bad.id].sort());
    expect(stored.find((r) => r.objectId === bad.id)!.content).toMatchObject({ outcome: "refused", event: { id: bad.id, objectId: "forbidden" } });
    expect(auditMetrics().rejected - before).toBe(1);
    expect(auditMetrics().spooled).toBe(0);
  });

  it("a stand-in the store refuses too is logged whole, with no stand-in of its own, and nothing loops", async () => {
    await sql(`ALTER TABLE audit_events ADD CONSTRAINT no_stand_in CHECK (${contentType} <> 'AuditEvent')`);
    try {
      const logger = recordingLogger();
      configureAudit({ store, writeMode: "buffered", logger });
      const before = auditMetrics().rejected;
      const context = new AuditContext();
      const [kept, refused] = await Promise.all(["kept", "forbidden"].map((id) => context.createEvent({ contentType: "Order", objectId: id })));
      await flushAudit();
      expect((await rows()).map((r) => r.objectId)).toEqual([kept!.objectId]);
      expect(auditMetrics().rejected - before).toBe(2);
      expect(logger.heard.error).toHaveLength(2);
      expect(loggedEvent(logger.heard.error[0]!)).toEqual({ ...refused });
      const standIn = loggedEvent(logger.heard.error[1]!);
      expect(standIn).toMatchObject({ contentType: "AuditEvent", objectId: refused!.id });
      expect(logger.heard.error[1]).toContain("no further stand-in");
      expect(auditMetrics().buffered).toBe(0);
    } finally {
      await dropCheck("no_stand_in");
    }
  });

  describe.each(frameworks)("through $name in buffered mode", (framework) => {
    it("answers 200 and the trail holds the stand-in of the refused event", async () => {
      configureAudit({ store, writeMode: "buffered", logger: recordingLogger() });
      const app = await framework.start();
      try {
        const res = await request(app.server).get("/orders/forbidden");
        expect(res.status).toBe(200);
        await flushAudit();
        const stored = await rows();
        expect(stored).toHaveLength(1);
        expect(stored[0]).toMatchObject({ contentType: "AuditEvent", objectId: res.body.record.id, content: { outcome: "refused", event: { objectId: "forbidden" } } });
      } finally {
        await app.close();
      }
    });
  });

  if (pooled) {
    it("wrote the rows the database took through COPY (the pool's own record)", () => {
      expect(pool!.copies.filter((copy) => copy.ok).length).toBeGreaterThan(0);
    });
  }
});

/**
 * A batch of more than one statement runs in an interactive transaction, where a
 * constraint the application defers (a `DEFERRABLE INITIALLY DEFERRED` constraint or
 * constraint trigger) refuses the row at COMMIT. Prisma does not wrap an error at COMMIT
 * in a PrismaClientKnownRequestError: it arrives as the adapter's own DriverAdapterError.
 * It is still a refusal of what a row holds, never an outage retried forever with every
 * event behind it held up.
 */
describe("a row refused at COMMIT by a deferred constraint trigger on postgresql", () => {
  let db: TestDatabase;
  const sql = (statement: string) => (db.prisma as unknown as { $executeRawUnsafe(sql: string): Promise<number> }).$executeRawUnsafe(statement);

  beforeAll(async () => {
    db = (await openDatabase("postgresql", { name: "refused_at_commit" })) as unknown as TestDatabase;
    await sql(`CREATE FUNCTION no_forbidden() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF NEW."objectId" = 'forbidden' THEN RAISE EXCEPTION 'objectId forbidden' USING ERRCODE = '23514'; END IF; RETURN NULL; END $$`);
    await sql(`CREATE CONSTRAINT TRIGGER no_forbidden AFTER INSERT ON audit_events DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION no_forbidden()`);
  });
  afterEach(async () => {
    await closeAudit();
    configureAudit({});
    await db.reset();
  });
  afterAll(async () => {
    await db?.close();
  });

  it.each([
    ["", false],
    [", chained (integrity), the trail verifying", true],
  ])("buffered, a batch of 1000 events (several statements)%s: the refused one is isolated, the rest and its stand-in stored", async (_name, chained) => {
    const logger = recordingLogger();
    const store = prismaStore(db.prisma);
    configureAudit({ store, writeMode: "buffered", maxBatchSize: 1000, flushIntervalMs: 60_000, logger, ...(chained ? { integrity: { key: KEY_A } } : {}) });
    const before = auditMetrics().rejected;
    const context = new AuditContext();
    const note = "n".repeat(600);
    const created = await Promise.all(Array.from({ length: 1000 }, (_, i) => context.createEvent({ contentType: "Order", objectId: i === 900 ? "forbidden" : String(i) }, { note })));
    await flushAudit();
    const stored = await (db.prisma as unknown as { auditEvent: { findMany(): Promise<AuditEventRecord[]> } }).auditEvent.findMany();
    expect({ stored: stored.length, standIns: stored.filter((r) => r.contentType === "AuditEvent").map((r) => r.objectId), rejected: auditMetrics().rejected - before }).toEqual({
      stored: 1000,
      standIns: [created[900]!.id],
      rejected: 1,
    });
    expect(logger.heard.error.join("\n")).toContain(`refused audit event ${created[900]!.id}`);
    if (chained) {
      await closeAudit();
      expect(await verifyAuditTrail({ store, key: KEY_A })).toMatchObject({ ok: true, verified: 1000, problems: [] });
    }
  });
});
