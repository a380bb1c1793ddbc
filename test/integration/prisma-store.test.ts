import { AuditConfigError, AuditContext, auditModels, configureAudit, historyOf, prismaStore } from "../../src";
import { openDatabase, providers, type TestDatabase } from "../support/databases";

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
    configureAudit({ store: prismaStore(db.prisma) });
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
    configureAudit({ store: prismaStore(db.prisma, { model: "tenantAuditEvent", toRecord: () => ({ id: "forged" }) }) });
    await expect(new AuditContext().createEvent({ contentType: "T", objectId: 1 })).rejects.toMatchObject({
      code: "ERR_AUDIT_CONFIG",
      message: expect.stringContaining('"id"'),
    });
    expect(await db.prisma.tenantAuditEvent.count()).toBe(0);
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
      expect.objectContaining({ name: "AuditConfigError", code: "ERR_AUDIT_CONFIG", message: 'prismaStore(): unknown option "modelName". Did you mean "model"? Options are model, archiveModel, toRecord, asyncArchiveCommit.' }),
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
