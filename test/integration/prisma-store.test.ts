import { AuditConfigError, AuditContext, auditModels, configureAudit, historyOf, prismaStore, type AuditStore, type EventFilter } from "../../src";
import { EVENT_MODEL_FIELDS } from "../../src/model/event-record";
import { sampleRecord } from "../conformance/store-conformance";
import { clientBeforeEventModel } from "../support/client-before-event-model";
import { openDatabase, providers, type TestDatabase } from "../support/databases";

/** Every warning of this file's stores: each is said once per process, so the file checks them as a whole. */
const warnings: string[] = [];
const logger = { warn: (message: string) => void warnings.push(message) };

/** A filter on `field` only, from the live table, the archive or both. */
const filterOn = (field: string, source: EventFilter["source"] = "all"): EventFilter => ({ source, content: [], [field]: "x" }) as EventFilter;

/** Every read a store answers with a filter, by name. */
function readsOf(store: AuditStore, filter: EventFilter): Record<string, () => Promise<unknown>> {
  const page = { order: "asc" as const, limit: 10 };
  return {
    queryEvents: () => store.queryEvents(filter, page),
    queryEventsAsJson: () => store.queryEventsAsJson!(filter, page),
    countEvents: () => store.countEvents(filter),
    summarizeEvents: () => store.summarizeEvents(filter),
  };
}

describe.each(providers)("prismaStore() on %s", (provider) => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await openDatabase(provider, { name: "prisma_store" });
  });
  afterAll(async () => {
    configureAudit({});
    await db?.close();
  });
  beforeEach(async () => {
    await db.reset();
    configureAudit({ logger, store: prismaStore(db.prisma) });
  });

  describe("with opts.tx", () => {
    it("writes the event in the caller's transaction, so it disappears with the rollback", async () => {
      const ctx = new AuditContext();
      await expect(
        db.prisma.$transaction(async (tx) => {
          const order = await tx.order.create({ data: { reference: "R-1", status: "new", total: "10.00" } });
          await ctx.createEvent({ contentType: "Order", objectId: order.id }, { action: "create" }, { tx });
          expect(await tx.auditEvent.count()).toBe(1);
          throw new Error("payment failed");
        }),
      ).rejects.toThrow("payment failed");
      expect(await db.prisma.order.count()).toBe(0);
      expect(await db.prisma.auditEvent.count()).toBe(0);
    });

    it("commits the event with the caller's transaction", async () => {
      const ctx = new AuditContext();
      const record = await db.prisma.$transaction(async (tx) => {
        const order = await tx.order.create({ data: { reference: "R-2", status: "new", total: "10.00" } });
        return ctx.createEvent({ contentType: "Order", objectId: order.id }, { action: "create" }, { tx });
      });
      expect(await db.prisma.order.count()).toBe(1);
      expect((await db.prisma.auditEvent.findUnique({ where: { id: record.id } }))?.content).toEqual({ action: "create" });
    });
  });

  it("fills the extra column of a user's own model through toRecord", async () => {
    configureAudit({
      logger,
      store: prismaStore(db.prisma, {
        model: "tenantAuditEvent",
        archiveModel: "tenantArchivedAuditEvent",
        toRecord: (_event, context) => ({ tenantId: String(context.extraData.tenantId) }),
      }),
    });
    const record = await new AuditContext({ extraData: { tenantId: "acme" } }).createEvent({ contentType: "Invoice", objectId: 5 });
    const row = await db.prisma.tenantAuditEvent.findUnique({ where: { id: record.id } });
    expect(row).toMatchObject({ tenantId: "acme", contentType: "Invoice", objectId: "5", content: { tenantId: "acme" } });
    expect(await db.prisma.auditEvent.count()).toBe(0);
  });

  it("refuses a toRecord that returns a field audit-events fills itself", async () => {
    for (const field of ["id", "content", "outcome", "severity"]) {
      configureAudit({ logger, store: prismaStore(db.prisma, { model: "tenantAuditEvent", toRecord: () => ({ [field]: "forged" }) }) });
      await expect(new AuditContext().createEvent({ contentType: "T", objectId: 1 })).rejects.toMatchObject({
        code: "ERR_AUDIT_CONFIG",
        message: expect.stringContaining(`toRecord returned "${field}", which audit-events fills itself`),
      });
    }
    expect(await db.prisma.tenantAuditEvent.count()).toBe(0);
  });

  describe("toRecord and the event model's action, tenantId and requestId", () => {
    it("fills them where the event has none, and the event's own value wins, on a model with those columns", async () => {
      const store = prismaStore(db.prisma, { toRecord: () => ({ tenantId: "from-toRecord", requestId: "req-from-toRecord", action: "action-from-toRecord" }) });
      const bare = sampleRecord({ tenantId: null, requestId: null, action: null });
      const own = sampleRecord({ tenantId: "own", requestId: "own-req", action: "own.action" });
      const context = new AuditContext();
      await store.insert([bare], { context });
      await store.writeRows([store.toRow(own, context)]);
      expect(await store.getEvent(bare.id)).toEqual({ ...bare, tenantId: "from-toRecord", requestId: "req-from-toRecord", action: "action-from-toRecord" });
      expect(await store.getEvent(own.id)).toEqual(own);
    });

    it("refuses one the model has no column for, naming the field and the model", async () => {
      const store = prismaStore(db.prisma, { model: "tenantAuditEvent", archiveModel: "tenantArchivedAuditEvent", toRecord: () => ({ requestId: "r-1" }) });
      const record = sampleRecord({ requestId: null });
      await expect(store.insert([record], { context: new AuditContext() })).rejects.toMatchObject({
        code: "ERR_AUDIT_CONFIG",
        message: expect.stringContaining('toRecord returned "requestId", which the model tenantAuditEvent has no field for'),
      });
      expect(await db.prisma.tenantAuditEvent.count()).toBe(0);
    });

    it("refuses a value of another type than the column's", async () => {
      const store = prismaStore(db.prisma, { toRecord: () => ({ tenantId: 42 }) });
      expect(() => store.toRow(sampleRecord({ tenantId: null }), new AuditContext())).toThrow(expect.objectContaining({ code: "ERR_AUDIT_CONFIG", message: expect.stringContaining("tenantId = number") }));
    });
  });

  describe("a model without the event model's fields", () => {
    it("stores events without the fields it lacks: they read back as outcome success, severity info and null, synchronously, in bulk and archived", async () => {
      const store = prismaStore(clientBeforeEventModel(db.prisma));
      const context = new AuditContext();
      const [alone, ...batch] = Array.from({ length: 5 }, (_, i) => sampleRecord({ timestamp: new Date(Date.now() - 86_400_000 + i), objectId: `o${i}` }));
      const bulk = sampleRecord({ objectId: "bulk" });
      await store.insert([alone!], { context });
      await store.insert(batch, { context });
      await store.writeRows([store.toRow(bulk, context)]);
      const withoutEventModel = (record: typeof bulk) => ({ ...record, action: null, outcome: "success", severity: "info", tenantId: null, requestId: null });
      for (const record of [alone!, ...batch, bulk]) expect(await store.getEvent(record.id)).toEqual(withoutEventModel(record));
      expect((await store.archiveBatch(new Date(Date.now() - 3_600_000), 100)).moved).toBe(5);
      for (const record of [alone!, ...batch]) expect(await store.getArchivedEvent(record.id)).toEqual({ ...withoutEventModel(record), archivedAt: expect.any(Date) });
    });

    it("refuses a filter on a field it lacks with ERR_AUDIT_STORE_SCHEMA naming the migration, on every read, rather than ignore the filter", async () => {
      const store = prismaStore(clientBeforeEventModel(db.prisma));
      for (const field of EVENT_MODEL_FIELDS) {
        for (const source of ["live", "archive", "all"] as const) {
          for (const [read, call] of Object.entries(readsOf(store, filterOn(field, source)))) {
            const error = await call().then(() => null, (e: unknown) => e);
            expect({ field, source, read, error }).toEqual({
              field,
              source,
              read,
              error: expect.objectContaining({
                name: "AuditConfigError",
                code: "ERR_AUDIT_STORE_SCHEMA",
                message: expect.stringContaining(`filters by ${field}, but the Prisma model ${source === "archive" ? "ArchivedAuditEvent" : "AuditEvent"} has no such field`),
              }),
            });
            expect((error as Error).message).toContain(`node_modules/audit-events/prisma/${provider}/migrations/20261201000000_audit_events_event_model`);
          }
        }
      }
    });

    it("answers a filter on a field it has: TenantAuditEvent has a tenantId column of its own, but no action", async () => {
      const store = prismaStore(db.prisma, { model: "tenantAuditEvent", archiveModel: "tenantArchivedAuditEvent" });
      for (const call of Object.values(readsOf(store, filterOn("tenantId")))) await expect(call()).resolves.toBeDefined();
      for (const call of Object.values(readsOf(store, filterOn("action")))) await expect(call()).rejects.toMatchObject({ code: "ERR_AUDIT_STORE_SCHEMA" });
      for (const call of Object.values(readsOf(prismaStore(db.prisma), filterOn("tenantId")))) await expect(call()).resolves.toBeDefined();
    });

    it("is warned about once per process, naming the models, the fields they lack and the migration to apply", async () => {
      // Every store of this file has been used by now or is used here: each model lacking the fields was named once, by the first provider's store.
      await prismaStore(clientBeforeEventModel(db.prisma)).countEvents({ source: "all", content: [] });
      await prismaStore(db.prisma, { model: "tenantAuditEvent", archiveModel: "tenantArchivedAuditEvent" }).countEvents({ source: "all", content: [] });
      const migration = `node_modules/audit-events/prisma/${providers[0]}/migrations/20261201000000_audit_events_event_model`;
      expect(warnings).toEqual([
        expect.stringContaining("the Prisma model TenantAuditEvent has no field(s) action, outcome, severity, requestId; the Prisma model TenantArchivedAuditEvent has no field(s) action, outcome, severity, requestId"),
        expect.stringContaining("the Prisma model AuditEvent has no field(s) action, outcome, severity, tenantId, requestId; the Prisma model ArchivedAuditEvent has no field(s) action, outcome, severity, tenantId, requestId"),
      ]);
      for (const warning of warnings) expect(warning).toContain(`Apply the migration ${migration}`);
    });
  });

  it("names the records of a client extended with auditModels(): int, string and bigint ids", async () => {
    const tagged = db.prisma.$extends(auditModels());
    const ctx = new AuditContext();
    const order = await tagged.order.create({ data: { reference: "R-3", status: "new", total: "12.50" } });
    const customer = await tagged.customer.create({ data: { id: "0b6f1e8e-0c1e-4d4e-9b7a-8f0e4c7b2a11", name: "Ann", email: "a@x" } });
    const ledger = await tagged.ledger.create({ data: { id: 9007199254740993n, note: "beyond 2^53" } });
    const [listed] = await tagged.order.findMany();
    const records = await Promise.all([order, customer, ledger, listed].map((obj) => ctx.createEvent(obj, { action: "seen" })));
    expect(records.map((r) => [r.contentType, r.objectId])).toEqual([
      ["Order", String(order.id)],
      ["Customer", "0b6f1e8e-0c1e-4d4e-9b7a-8f0e4c7b2a11"],
      ["Ledger", "9007199254740993"],
      ["Order", String(order.id)],
    ]);
    expect(JSON.stringify(order)).not.toContain("audit-events");
  });

  it("reads the history of a record of a client extended with auditModels(), given as createEvent takes it", async () => {
    const tagged = db.prisma.$extends(auditModels());
    const order = await tagged.order.create({ data: { reference: "R-5", status: "new", total: "1.00" } });
    const other = await tagged.order.create({ data: { reference: "R-6", status: "new", total: "2.00" } });
    const ctx = new AuditContext();
    const written = [];
    for (const action of ["create", "pay", "ship"]) written.push(await ctx.createEvent(order, { action }));
    await ctx.createEvent(other, { action: "create" });
    const seen = [];
    for await (const event of historyOf(await tagged.order.findUniqueOrThrow({ where: { id: order.id } }))) seen.push(event.id);
    expect(seen).toEqual(written.map((event) => event.id));
  });

  it("records the current Decimal, Date and bigint field values as exact strings", async () => {
    const tagged = db.prisma.$extends(auditModels());
    const order = await tagged.order.create({ data: { reference: "R-4", status: "paid", total: "1234.50" } });
    const ledger = await tagged.ledger.create({ data: { id: 9223372036854775807n, note: "max" } });
    const ctx = new AuditContext();
    const orderEvent = await ctx.createFieldsEvent(order, ["total", "createdAt", "status"]);
    const ledgerEvent = await ctx.createFieldsEvent(ledger, ["id"]);
    const stored = await db.prisma.auditEvent.findUnique({ where: { id: orderEvent.id } });
    expect(stored?.content).toEqual({ total: order.total.toFixed(), createdAt: order.createdAt.toISOString(), status: "paid" });
    expect(Number(order.total.toFixed())).toBe(1234.5);
    expect((await db.prisma.auditEvent.findUnique({ where: { id: ledgerEvent.id } }))?.content).toEqual({ id: "9223372036854775807" });
  });

  it("stores NUL and lone surrogates, which PostgreSQL's JSON would refuse, as visible replacements", async () => {
    const record = await new AuditContext().createEvent({ contentType: "T", objectId: 1 }, { note: "a\u0000b\ud800c", ["k\u0000"]: 1 });
    const stored = await db.prisma.auditEvent.findUnique({ where: { id: record.id } });
    expect(stored?.content).toEqual({ note: "a\u2400b\ufffdc", "k\u2400": 1 });
  });

  it("reports a missing audit table with ERR_AUDIT_STORE_SCHEMA, a configuration error naming the migrations", async () => {
    await db.prisma.$executeRawUnsafe("ALTER TABLE audit_events RENAME TO audit_events_away");
    try {
      await expect(new AuditContext().createEvent({ contentType: "T", objectId: 1 })).rejects.toMatchObject({
        name: "AuditConfigError",
        code: "ERR_AUDIT_STORE_SCHEMA",
        message: expect.stringContaining("prisma migrate deploy"),
      });
    } finally {
      await db.prisma.$executeRawUnsafe("ALTER TABLE audit_events_away RENAME TO audit_events");
    }
  });

  it("refuses, at creation, a client without the named model, and says how to add it", () => {
    expect(() => prismaStore(db.prisma, { model: "auditEvnt" })).toThrow(AuditConfigError);
    expect(() => prismaStore(db.prisma, { model: "auditEvnt" })).toThrow(/npx prisma generate/);
  });

  it("refuses, at creation, an unknown option, suggesting the one meant, and a model name that is not a string", () => {
    expect(() => prismaStore(db.prisma, { modelName: "auditEvent" } as never)).toThrow(
      expect.objectContaining({ name: "AuditConfigError", code: "ERR_AUDIT_CONFIG", message: 'prismaStore(): unknown option "modelName". Did you mean "model"? Options are model, archiveModel, checkpointModel, toRecord, asyncArchiveCommit, pgPool.' }),
    );
    expect(() => prismaStore(db.prisma, { archivemodel: "x" } as never)).toThrow('Did you mean "archiveModel"?');
    expect(() => prismaStore(db.prisma, { tableName: "audit_events" } as never)).toThrow(/unknown option "tableName"\. Options are/);
    expect(() => prismaStore(db.prisma, { model: 42 } as never)).toThrow('prismaStore(): model must be a delegate name such as "auditEvent"');
    expect(() => prismaStore(db.prisma, { archiveModel: "" })).toThrow(/archiveModel must be .* not an empty string/);
    expect(() => prismaStore(db.prisma, { toRecord: "tenantId" } as never)).toThrow(/toRecord must be a function/);
    expect(() => prismaStore(db.prisma, "auditEvent" as never)).toThrow(/options must be an object/);
    expect(prismaStore(db.prisma, { model: undefined }).model).toBe("auditEvent");
  });

  it("refuses, at creation, an asyncArchiveCommit that is not true or false, showing a valid one", () => {
    for (const value of ["yes", 1, null]) {
      expect(() => prismaStore(db.prisma, { asyncArchiveCommit: value as unknown as boolean })).toThrow(
        `prismaStore(): asyncArchiveCommit must be true or false (got ${String(value)}), for example { asyncArchiveCommit: true }.`,
      );
    }
  });
});
