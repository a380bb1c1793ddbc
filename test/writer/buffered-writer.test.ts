import {
  AuditContext,
  auditMetrics,
  closeAudit,
  configureAudit,
  flushAudit,
  prismaStore,
  type AuditMetricsEvent,
} from "../../src";
import { openDatabase, providers, type TestDatabase } from "../support/databases";

/** Waits until `check` holds, or fails after `ms`. */
async function eventually(check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > until) throw new Error("condition not reached in time");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

for (const provider of providers) {
  describe(`buffered writes on ${provider}`, () => {
    let db: TestDatabase;
    const context = new AuditContext({ extraData: { tenantId: "t-7" } });
    const count = () => db.prisma.auditEvent.count();

    beforeAll(async () => {
      db = await openDatabase(provider, { name: "buffered" });
    });
    afterEach(async () => {
      await closeAudit();
      configureAudit({});
      await db.reset();
    });
    afterAll(() => db?.close());

    it("resolves createEvent before the row is written, and writes it on flushAudit()", async () => {
      configureAudit({ store: prismaStore(db.prisma), writeMode: "buffered", flushIntervalMs: 60_000 });
      const record = await context.createEvent({ contentType: "Order", objectId: "1" }, { action: "refund" });
      expect(await count()).toBe(0);
      expect(auditMetrics().buffered).toBe(1);
      await flushAudit();
      expect(auditMetrics().buffered).toBe(0);
      const stored = await db.prisma.auditEvent.findUnique({ where: { id: record.id } });
      expect(stored).toMatchObject({ id: record.id, contentType: "Order", objectId: "1", content: { tenantId: "t-7", action: "refund" } });
      expect(stored!.timestamp.toISOString()).toBe(record.timestamp.toISOString());
    });

    it("writes a batch as soon as maxBatchSize events wait, and keeps the rest for the interval", async () => {
      configureAudit({ store: prismaStore(db.prisma), writeMode: "buffered", flushIntervalMs: 60_000, maxBatchSize: 10 });
      const before = auditMetrics().written;
      await Promise.all(Array.from({ length: 25 }, (_, i) => context.createEvent({ contentType: "Order", objectId: String(i) })));
      await eventually(async () => (await count()) === 20);
      expect(auditMetrics().buffered).toBe(5);
      await flushAudit();
      expect(await count()).toBe(25);
      expect(auditMetrics().written - before).toBe(25);
    });

    it("writes what waits once flushIntervalMs has passed, without flushAudit()", async () => {
      configureAudit({ store: prismaStore(db.prisma), writeMode: "buffered", flushIntervalMs: 100 });
      await context.createEvent({ contentType: "Order", objectId: "1" });
      await eventually(async () => (await count()) === 1);
    });

    it("refuses a toRecord value of the wrong type when the event is created", async () => {
      configureAudit({
        store: prismaStore(db.prisma, { model: "tenantAuditEvent", archiveModel: "tenantArchivedAuditEvent", toRecord: () => ({ tenantId: { nested: true } }) }),
        writeMode: "buffered",
      });
      await expect(context.createEvent({ contentType: "Order", objectId: "1" })).rejects.toThrow(/toRecord returned tenantId = \[object Object\], but tenantAuditEvent.tenantId is a String/);
    });

    it("fills the extra columns of a user's own model from the event's context", async () => {
      configureAudit({
        store: prismaStore(db.prisma, {
          model: "tenantAuditEvent",
          archiveModel: "tenantArchivedAuditEvent",
          toRecord: (_event, ctx) => ({ tenantId: String(ctx.extraData.tenantId) }),
        }),
        writeMode: "buffered",
      });
      const other = new AuditContext({ extraData: { tenantId: "t-9" } });
      const [a, b] = await Promise.all([context.createEvent({ contentType: "Order", objectId: "1" }), other.createEvent({ contentType: "Order", objectId: "2" })]);
      await flushAudit();
      const rows = await db.prisma.tenantAuditEvent.findMany({ orderBy: { objectId: "asc" } });
      expect(rows.map((r) => [r.id, r.tenantId])).toEqual([
        [a.id, "t-7"],
        [b.id, "t-9"],
      ]);
    });

    it("writes { tx } events inside the caller's transaction, not later", async () => {
      configureAudit({ store: prismaStore(db.prisma), writeMode: "buffered", flushIntervalMs: 60_000 });
      const prisma = db.prisma as unknown as { $transaction<T>(fn: (tx: unknown) => Promise<T>): Promise<T> };
      await expect(
        prisma.$transaction(async (tx) => {
          await context.createEvent({ contentType: "Order", objectId: "rolled-back" }, {}, { tx });
          throw new Error("roll back");
        }),
      ).rejects.toThrow("roll back");
      await prisma.$transaction((tx) => context.createEvent({ contentType: "Order", objectId: "kept" }, {}, { tx }));
      expect(auditMetrics().buffered).toBe(0);
      await flushAudit();
      expect((await db.prisma.auditEvent.findMany()).map((r) => r.objectId)).toEqual(["kept"]);
    });

    it("never stores an event twice when the same rows are written again", async () => {
      const store = prismaStore(db.prisma);
      configureAudit({ store, writeMode: "buffered" });
      const records = await Promise.all(Array.from({ length: 50 }, (_, i) => context.createEvent({ contentType: "Order", objectId: String(i) })));
      await flushAudit();
      await store.writeRows(records.map((r) => store.toRow(r, context)));
      expect(await count()).toBe(50);
    });

    it("tells the onMetrics hook what it wrote, and survives a hook that throws", async () => {
      const heard: AuditMetricsEvent[] = [];
      configureAudit({
        store: prismaStore(db.prisma),
        writeMode: "buffered",
        onMetrics: (event) => {
          heard.push(event);
          throw new Error("broken metrics library");
        },
      });
      await Promise.all(Array.from({ length: 3 }, (_, i) => context.createEvent({ contentType: "Order", objectId: String(i) })));
      await flushAudit();
      expect(heard).toEqual([{ type: "written", count: 3 }]);
      expect(await count()).toBe(3);
    });
  });
}

describe("a row the database refuses, on mysql", () => {
  it("is isolated, logged whole, counted as rejected and stands in the trail as an AuditEvent event; the rest is stored", async () => {
    const db = await openDatabase("mysql", { name: "refused_row" });
    const warnings: string[] = [];
    try {
      configureAudit({
        // tenantId is VARCHAR(191) on MySQL: a longer value is refused by the database (error 1406).
        store: prismaStore(db.prisma, {
          model: "tenantAuditEvent",
          archiveModel: "tenantArchivedAuditEvent",
          toRecord: (event) => ({ tenantId: event.objectId === "bad" ? "t".repeat(300) : "t-1" }),
        }),
        writeMode: "buffered",
        logger: { warn: (m) => warnings.push(m) },
      });
      const before = auditMetrics();
      const context = new AuditContext();
      const ids = ["a", "b", "bad", "c", "d"];
      const records = await Promise.all(ids.map((id) => context.createEvent({ contentType: "Order", objectId: id })));
      await flushAudit();
      const later = await context.createEvent({ contentType: "Order", objectId: "later" });
      await flushAudit();
      const rows = await db.prisma.tenantAuditEvent.findMany();
      const refused = records[2]!;
      expect(rows.map((r) => r.objectId).sort()).toEqual(["a", "b", "c", "d", refused.id, "later"].sort());
      const standIn = rows.find((r) => r.objectId === refused.id)!;
      expect(standIn.contentType).toBe("AuditEvent");
      expect(standIn.content).toMatchObject({ outcome: "refused", event: { id: refused.id, objectId: "bad", tenantId: "t".repeat(300) } });
      expect(auditMetrics().rejected - before.rejected).toBe(1);
      expect(auditMetrics().dropped - before.dropped).toBe(0);
      expect(warnings.join("\n")).toContain(`refused audit event ${refused.id} for what it holds`);
      expect(later.objectId).toBe("later");
    } finally {
      await closeAudit();
      configureAudit({});
      await db.close();
    }
  });
});

describe("sync writes", () => {
  it("are counted in auditMetrics(), and their failures reach the caller and lastError", async () => {
    const db = await openDatabase("sqlite", { name: "sync_metrics" });
    try {
      configureAudit({ store: prismaStore(db.prisma) });
      const before = auditMetrics().written;
      const record = await new AuditContext().createEvent({ contentType: "Order", objectId: "1" });
      expect(auditMetrics().written).toBe(before + 1);
      expect(await db.prisma.auditEvent.count()).toBe(1);
      const store = prismaStore(db.prisma);
      await expect(store.insert([record], { context: new AuditContext() })).rejects.toMatchObject({ code: "ERR_AUDIT_DUPLICATE_ID" });
      // A String column given an object: refused before anything is written.
      configureAudit({
        store: prismaStore(db.prisma, { model: "tenantAuditEvent", archiveModel: "tenantArchivedAuditEvent", toRecord: () => ({ tenantId: { not: "a string" } }) }),
      });
      await expect(new AuditContext().createEvent({ contentType: "Order", objectId: "2" })).rejects.toMatchObject({ code: "ERR_AUDIT_CONFIG" });
      expect(auditMetrics().lastError).toMatch(/tenantAuditEvent.tenantId is a String/);
    } finally {
      configureAudit({});
      await db.close();
    }
  });
});

describe("write-path options", () => {
  afterEach(() => configureAudit({}));

  it.each([
    [{ writeMode: "async" }, /writeMode" must be one of "sync", "buffered"/],
    [{ writeMode: "buffered", maxBatchSize: 0 }, /maxBatchSize" must be a positive integer/],
    [{ writeMode: "buffered", maxBatchSize: 500, maxBufferedEvents: 100 }, /maxBufferedEvents \(100\) must be at least maxBatchSize \(500\)/],
    [{ spool: { append() {} } }, /add writeMode: "buffered"/],
    [{ writeMode: "buffered", onSpoolFull: "wait" }, /onSpoolFull" must be one of "block", "drop-oldest", "throw"/],
    [{ writeMode: "buffered", logger: console.log }, /logger" must be an object with a warn\(message\) method/],
    [{ writemode: "buffered" }, /Did you mean "writeMode"/],
  ])("refuses %j, naming the fix", (options, message) => {
    expect(() => configureAudit(options as never)).toThrow(message);
  });

  it("are refused by the middleware, which points to configureAudit()", () => {
    const { auditEvents } = require("../../src") as typeof import("../../src");
    expect(() => auditEvents({ writeMode: "buffered" })).toThrow(/writeMode set\(s\) up the process's one write path; pass it to configureAudit\(\)/);
  });
});
