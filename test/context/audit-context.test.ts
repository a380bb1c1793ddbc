import {
  AuditConfigError,
  AuditContext,
  AuditError,
  configureAudit,
  currentAuditContext,
  MASK,
  memoryStore,
  runWithAuditContext,
  type AuditStore,
  type MemoryStore,
} from "../../src";

let store: MemoryStore;

beforeEach(() => {
  store = memoryStore();
  configureAudit({ store });
});

afterEach(() => configureAudit({}));

class Order {
  constructor(
    public id: number,
    public status: string,
    public total: number,
  ) {}
}

describe("AuditContext.extraData", () => {
  it("belongs to one context and is never shared with another", async () => {
    const shared = { job: "sync" };
    const first = new AuditContext({ extraData: shared });
    const second = new AuditContext({ extraData: shared });
    first.extraData.step = 1;
    expect(second.extraData).toEqual({ job: "sync" });
    expect(shared).toEqual({ job: "sync" });
    expect(new AuditContext().extraData).toEqual({});
  });

  it("is merged under field values and content, per-call content winning", async () => {
    const ctx = new AuditContext({ extraData: { source: "ctx", status: "from-extra", action: "from-extra" } });
    const record = await ctx.createFieldsEvent(new Order(1, "paid", 10), ["status"], { action: "refund" });
    expect(record.content).toEqual({ source: "ctx", status: "paid", action: "refund" });
  });
});

describe("createEvent", () => {
  it("writes the event to the store and returns the stored record", async () => {
    const ctx = new AuditContext({ user: { id: 7 } });
    const record = await ctx.createEvent(new Order(3, "new", 5), { action: "create" });
    expect(record).toMatchObject({ contentType: "Order", objectId: "3", userId: "7", content: { action: "create" } });
    expect(record.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(await store.getEvent(record.id)).toEqual(record);
  });

  it("gives time-ordered ids whose timestamp matches the id's millisecond", async () => {
    const ctx = new AuditContext();
    const records = [];
    for (let i = 0; i < 50; i++) records.push(await ctx.createEvent({ contentType: "T", objectId: i }));
    const ids = records.map((r) => r.id);
    expect([...ids].sort()).toEqual(ids);
    for (const r of records) {
      expect(r.timestamp.getTime()).toBe(parseInt(r.id.slice(0, 8) + r.id.slice(9, 13), 16));
    }
  });

  it("stores Date, bigint and undefined as JSON and refuses cycles without storing anything", async () => {
    const ctx = new AuditContext();
    const record = await ctx.createEvent({ contentType: "T", objectId: 1 }, {
      at: new Date("2026-01-02T03:04:05.678Z"),
      big: 2n ** 70n,
      gone: undefined,
    });
    expect(record.content).toEqual({ at: "2026-01-02T03:04:05.678Z", big: "1180591620717411303424" });
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    await expect(ctx.createEvent({ contentType: "T", objectId: 2 }, { cyclic })).rejects.toMatchObject({
      code: "ERR_AUDIT_SERIALIZE",
      message: expect.stringContaining("cyclic.self"),
    });
    await expect(ctx.createEvent({ contentType: "T", objectId: 3 }, { fn: () => 1 })).rejects.toBeInstanceOf(AuditError);
    expect(store.list()).toHaveLength(1);
  });

  it("refuses content that is not an object", async () => {
    const ctx = new AuditContext();
    await expect(ctx.createEvent({ contentType: "T", objectId: 1 }, [1, 2] as never)).rejects.toMatchObject({ code: "ERR_AUDIT_CONTENT" });
  });

  it("explains the four ways to name a content object when none applies", async () => {
    const error = await new AuditContext().createEvent({ name: "plain" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuditError);
    expect(error).toMatchObject({ code: "ERR_AUDIT_CONTENT_OBJECT" });
    expect((error as Error).message).toMatch(/contentType.*objectId[\s\S]*auditModels\(\)[\s\S]*class instance[\s\S]*contentTypeResolver/);
  });

  it("uses the contentTypeResolver option", async () => {
    configureAudit({ store, contentTypeResolver: (o) => (o as { sku?: string }).sku ? { contentType: "Product", objectId: (o as { sku: string }).sku } : null });
    const record = await new AuditContext().createEvent({ sku: "AB-1" });
    expect(record).toMatchObject({ contentType: "Product", objectId: "AB-1" });
  });

  it("fails with ERR_AUDIT_NO_STORE, naming the fix, when no store is configured", async () => {
    configureAudit({});
    const error = await new AuditContext().createEvent({ contentType: "T", objectId: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuditConfigError);
    expect(error).toMatchObject({ code: "ERR_AUDIT_NO_STORE", message: expect.stringContaining("configureAudit({ store: prismaStore(prisma) })") });
  });

  it("writes to the context's own store when it has one", async () => {
    const own = memoryStore();
    await new AuditContext({ store: own }).createEvent({ contentType: "T", objectId: 1 });
    expect(own.list()).toHaveLength(1);
    expect(store.list()).toHaveLength(0);
  });

  it("refuses opts.tx on a store that cannot join a transaction", async () => {
    await expect(new AuditContext().createEvent({ contentType: "T", objectId: 1 }, {}, { tx: {} })).rejects.toMatchObject({
      code: "ERR_AUDIT_TX_UNSUPPORTED",
    });
  });
});

describe("createFieldsEvent", () => {
  it("records the current values of the named fields", async () => {
    const ctx = new AuditContext();
    const order = new Order(9, "new", 10);
    const first = await ctx.createFieldsEvent(order, ["status", "total"]);
    order.status = "paid";
    order.total = 12;
    const second = await ctx.createFieldsEvent(order, ["status", "total"], { action: "pay" });
    expect(first.content).toEqual({ status: "new", total: 10 });
    expect(second.content).toEqual({ status: "paid", total: 12, action: "pay" });
  });

  it("refuses a field the object does not have", async () => {
    await expect(new AuditContext().createFieldsEvent(new Order(1, "a", 1), ["nope"])).rejects.toMatchObject({
      code: "ERR_AUDIT_FIELD",
      message: expect.stringContaining('"nope"'),
    });
  });
});

describe("newEvent", () => {
  it("returns a draft whose object and content can change before it is saved", async () => {
    const draft = new AuditContext().newEvent();
    draft.contentObject = new Order(4, "x", 1);
    draft.content = { action: "ship" };
    draft.content.carrier = "dhl";
    const record = await draft.save();
    expect(record).toMatchObject({ contentType: "Order", objectId: "4", content: { action: "ship", carrier: "dhl" } });
  });

  it("refuses to save a draft twice", async () => {
    const draft = new AuditContext().newEvent({ contentType: "T", objectId: 1 });
    await draft.save();
    await expect(draft.save()).rejects.toMatchObject({ code: "ERR_AUDIT_DRAFT_SAVED" });
    expect(store.list()).toHaveLength(1);
  });

  it("keeps the same event id when a failed save is retried", async () => {
    const ids: string[] = [];
    let failures = 1;
    const flaky: AuditStore = {
      ...memoryStore(),
      name: "flaky",
      async insert(events) {
        ids.push(events[0]!.id);
        if (failures-- > 0) throw new Error("connection reset");
      },
    };
    const draft = new AuditContext({ store: flaky }).newEvent({ contentType: "T", objectId: 1 });
    await expect(draft.save()).rejects.toThrow("connection reset");
    const record = await draft.save();
    expect(ids).toEqual([record.id, record.id]);
  });
});

describe("a background job's context", () => {
  it("records the request facts it is given, masked like a request's", async () => {
    configureAudit({ store, maskPostFields: ["password", "token"] });
    const ctx = new AuditContext({
      user: "worker-1",
      url: "https://example.test/import?token=abc&page=2",
      method: "JOB",
      remoteAddr: "10.0.0.5",
      queryParams: { token: "abc", page: "2" },
      postData: { rows: [{ password: "x" }] },
      headers: { Authorization: "Bearer abc", "X-Job-Id": "j-1" },
    });
    const record = await ctx.createEvent({ contentType: "Import", objectId: "imp-1" });
    expect(record).toMatchObject({
      userId: "worker-1",
      url: `https://example.test/import?token=${MASK}&page=2`,
      method: "JOB",
      remoteAddr: "10.0.0.5",
      queryParams: { token: MASK, page: "2" },
      postData: { rows: [{ password: MASK }] },
      headers: { authorization: MASK, "x-job-id": "j-1" },
    });
  });

  it("records empty request facts when given none", async () => {
    const record = await new AuditContext().createEvent({ contentType: "T", objectId: 1 });
    expect(record).toMatchObject({ userId: null, url: null, method: null, remoteAddr: null, queryParams: {}, postData: {}, headers: {} });
  });
});

describe("currentAuditContext", () => {
  it("returns a new blank context outside of any request or job, and never throws", () => {
    const first = currentAuditContext();
    const second = currentAuditContext();
    expect(first).toBeInstanceOf(AuditContext);
    expect(first).not.toBe(second);
    expect(first.extraData).toEqual({});
  });

  it("returns the context made current by runWithAuditContext, across timers and promises", async () => {
    const job = new AuditContext({ extraData: { job: "nightly" } });
    const seen = await runWithAuditContext(job, async () => {
      const hops = [currentAuditContext() === job];
      await new Promise((resolve) => setTimeout(resolve, 2));
      hops.push(currentAuditContext() === job);
      const inner = new AuditContext();
      hops.push(runWithAuditContext(inner, () => currentAuditContext() === inner));
      hops.push(currentAuditContext() === job);
      return hops;
    });
    expect(seen).toEqual([true, true, true, true]);
    expect(currentAuditContext()).not.toBe(job);
  });

  it("keeps two concurrent jobs apart", async () => {
    const run = (name: string) =>
      runWithAuditContext(new AuditContext({ extraData: { name } }), async () => {
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 10));
        return currentAuditContext().createEvent({ contentType: "Job", objectId: name });
      });
    const records = await Promise.all(Array.from({ length: 20 }, (_, i) => run(`job-${i}`)));
    records.forEach((r, i) => expect(r.content).toEqual({ name: `job-${i}` }));
  });
});
