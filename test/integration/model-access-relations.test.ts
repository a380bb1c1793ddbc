// auditModels({ access }) where hooks used to be evaded: nested writes, select-narrowed
// reads, relations (include, relation select, the fluent API), records returned by writes,
// counts and aggregates; hook errors stored masked; hooks over a list run concurrently;
// a store that hangs does not hold the query. PostgreSQL through the real Prisma client,
// on the Buyer → Purchase → PurchaseLine models of examples/prisma/postgresql.prisma.

import fc from "fast-check";

import {
  AuditAccessDeniedError,
  AuditConfigError,
  AuditContext,
  auditModels,
  configureAudit,
  findEvents,
  MASK,
  memoryStore,
  prismaStore,
  runWithAuditContext,
  type AccessInfo,
  type AuditEventRecord,
  type AuditModelsOptions,
} from "../../src";
import { openDatabase, type TestDatabase } from "../support/databases";

const DENY_PURCHASE = "forbidden-purchase";
const DENY_LINE = "forbidden-line";

/** Every write hook call, in order. */
const writes: { model: string; args: Record<string, unknown>; info: AccessInfo }[] = [];

/** VIP buyers are refused and everyone else's email is hidden (support sees all); secret purchases are refused; writes carrying a marker are refused. */
const access: NonNullable<AuditModelsOptions["access"]> = {
  Buyer: {
    read: (buyer, ctx) => (buyer.tier === "vip" ? { allow: false, reason: "VIP buyers are private." } : ctx.extraData.role === "support" ? true : { hide: ["email"] }),
  },
  Purchase: {
    read: (purchase) => (purchase.status === "secret" ? { allow: false, reason: "Secret purchase." } : true),
    write: (args, _ctx, info) => {
      writes.push({ model: "Purchase", args, info });
      return JSON.stringify(args).includes(DENY_PURCHASE) ? { allow: false, reason: "Purchases refuse this." } : true;
    },
  },
  PurchaseLine: {
    write: async (args, _ctx, info) => {
      await new Promise((resolve) => setImmediate(resolve));
      writes.push({ model: "PurchaseLine", args, info });
      return JSON.stringify(args).includes(DENY_LINE) ? { allow: false, reason: "Lines refuse this." } : true;
    },
  },
};

let db: TestDatabase<"postgresql">;
let client: ReturnType<typeof extend>;
const extend = (d: TestDatabase<"postgresql">, options: AuditModelsOptions = { access }) => d.prisma.$extends(auditModels(options));

async function snapshot() {
  return {
    buyers: await db.prisma.buyer.findMany({ orderBy: { id: "asc" } }),
    purchases: await db.prisma.purchase.findMany({ orderBy: { id: "asc" } }),
    lines: await db.prisma.purchaseLine.findMany({ orderBy: { id: "asc" } }),
  };
}

const eventsOf = async (contentType: string): Promise<AuditEventRecord[]> => (await findEvents({ contentType, order: "asc" })).events;
const allEvents = async (): Promise<AuditEventRecord[]> => (await findEvents({ order: "asc" })).events;

beforeAll(async () => {
  db = await openDatabase("postgresql", { name: "model_access_rel" });
  client = extend(db);
});
afterAll(async () => {
  configureAudit({});
  await db.close();
});
beforeEach(async () => {
  await db.reset();
  writes.length = 0;
  configureAudit({ store: prismaStore(db.prisma) });
  await db.prisma.buyer.createMany({
    data: [
      { id: "b1", name: "Ann", email: "ann@example.com", tier: "gold" },
      { id: "b2", name: "Vic", email: "vic@example.com", tier: "vip" },
    ],
  });
  await db.prisma.purchase.createMany({
    data: [
      { id: 1, buyerId: "b1", item: "pen", status: "open" },
      { id: 2, buyerId: "b1", item: "dossier", status: "secret" },
      { id: 3, buyerId: "b2", item: "ink", status: "open" },
    ],
  });
  await db.prisma.purchaseLine.createMany({
    data: [
      { id: 1, purchaseId: 1, sku: "p-1", note: "blue" },
      { id: 2, purchaseId: 1, sku: "p-2", note: "red" },
      { id: 3, purchaseId: 3, sku: "i-1", note: "black" },
    ],
  });
});

/** The nested operations on a relation, each carrying `mark` where a hook sees it. */
const nestedOperations = {
  create: (mark: string, id: number) => ({ create: { id, item: mark, status: "open", sku: mark, note: mark } }),
  createMany: (mark: string, id: number) => ({ createMany: { data: [{ id, item: mark, status: "open", sku: mark, note: mark }] } }),
  connectOrCreate: (mark: string, id: number) => ({ connectOrCreate: { where: { id }, create: { id, item: mark, status: "open", sku: mark, note: mark } } }),
  upsert: (mark: string, id: number) => ({ upsert: { where: { id }, create: { id, item: mark, status: "open", sku: mark, note: mark }, update: { note: mark, item: mark } } }),
  update: (mark: string) => ({ update: { where: { id: 1 }, data: { note: mark, item: mark } } }),
  updateMany: (mark: string) => ({ updateMany: { where: { id: { gt: 0 } }, data: { note: mark, item: mark } } }),
  delete: (mark: string) => ({ delete: { id: 1, NOT: { sku: mark, item: mark } } }),
  deleteMany: (mark: string) => ({ deleteMany: { NOT: { sku: mark, item: mark } } }),
  connect: (mark: string) => ({ connect: { id: 1, NOT: { sku: mark, item: mark } } }),
  disconnect: (mark: string) => ({ disconnect: { id: 1, NOT: { sku: mark, item: mark } } }),
  set: (mark: string) => ({ set: [{ id: 1, NOT: { sku: mark, item: mark } }] }),
} as const;

/** Strips the fields a model lacks from a nested operation built for both levels. */
function forModel(op: Record<string, unknown>, model: "Purchase" | "PurchaseLine"): Record<string, unknown> {
  const drop = model === "Purchase" ? ["sku", "note"] : ["item", "status"];
  const walk = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(walk);
    if (typeof value !== "object" || value === null) return value;
    return Object.fromEntries(Object.entries(value).filter(([k]) => !drop.includes(k)).map(([k, v]) => [k, walk(v)]));
  };
  return walk(op) as Record<string, unknown>;
}

describe("nested writes go through the nested model's write hook", () => {
  it("refuses every kind of nested operation, at depth one and two, before anything is written", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...(Object.keys(nestedOperations) as (keyof typeof nestedOperations)[])), fc.boolean(), async (kind, deep) => {
        const before = await snapshot();
        const eventsBefore = (await allEvents()).length;
        writes.length = 0;
        // depth one: Buyer.update → purchases.<kind>; depth two: Buyer.update → purchases.update → lines.<kind>.
        const op = nestedOperations[kind](deep ? DENY_LINE : DENY_PURCHASE, 90);
        const purchases = deep ? { update: { where: { id: 1 }, data: { lines: forModel(op, "PurchaseLine") } } } : forModel(op, "Purchase");
        const error = await client.buyer.update({ where: { id: "b1" }, data: { name: "Ann", purchases: purchases as never } }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(AuditAccessDeniedError);
        expect(error).toMatchObject({ model: deep ? "PurchaseLine" : "Purchase", operation: kind });
        expect(await snapshot()).toEqual(before);
        const events = (await allEvents()).slice(eventsBefore);
        expect(events).toHaveLength(1);
        expect(events[0]).toMatchObject({ contentType: deep ? "PurchaseLine" : "Purchase", action: `${deep ? "PurchaseLine" : "Purchase"}.${kind}`, outcome: "denied" });
        expect(events[0]!.content).toMatchObject({ via: "Buyer.update", path: expect.stringContaining(`.${kind}`) });
        expect(writes.at(-1)!.info).toEqual({ operation: kind, path: expect.stringMatching(deep ? /^data\.purchases\.update\.data\.lines\./ : /^data\.purchases\./) });
      }),
      { numRuns: 30 },
    );
  });

  it("gives each nested write its own arguments, in its top-level namesake's shape, and lets allowed ones through", async () => {
    await client.buyer.update({
      where: { id: "b1" },
      data: {
        purchases: {
          create: [{ id: 7, item: "cap", status: "open", lines: { create: { id: 7, sku: "c-1", note: "green" } } }],
          update: { where: { id: 1 }, data: { item: "pencil" } },
          connect: { id: 3 },
        },
      },
    });
    expect(writes.map((w) => [w.model, w.info.operation, w.info.path, w.args])).toEqual([
      ["Purchase", "create", "data.purchases.create[0]", { data: { id: 7, item: "cap", status: "open", lines: { create: { id: 7, sku: "c-1", note: "green" } } } }],
      ["PurchaseLine", "create", "data.purchases.create[0].lines.create", { data: { id: 7, sku: "c-1", note: "green" } }],
      ["Purchase", "update", "data.purchases.update", { where: { id: 1 }, data: { item: "pencil" } }],
      ["Purchase", "connect", "data.purchases.connect", { where: { id: 3 } }],
    ]);
    expect((await db.prisma.purchase.findUnique({ where: { id: 3 } }))!.buyerId).toBe("b1");
    expect(await db.prisma.purchaseLine.findUnique({ where: { id: 7 } })).toMatchObject({ purchaseId: 7 });
  });

  it("calls the query's own hook with its arguments and the operation", async () => {
    await client.purchase.update({ where: { id: 1 }, data: { item: "quill" } });
    expect(writes).toEqual([{ model: "Purchase", args: { where: { id: 1 }, data: { item: "quill" } }, info: { operation: "update", path: "" } }]);
  });

  it("walks nested writes on a client already extended by another extension", async () => {
    const layered = db.prisma.$extends({ name: "other", result: {} }).$extends(auditModels({ access }));
    const error = await layered.buyer.update({ where: { id: "b1" }, data: { purchases: { create: { id: 9, item: DENY_PURCHASE, status: "open" } } } }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: "AuditAccessDeniedError", model: "Purchase", operation: "create" });
  });

  it("fails closed when the client's data model cannot be read: a nested write to a hooked model is refused with a clear error, and recorded", async () => {
    const blind = db.prisma.$extends({ name: "audit-events", query: auditModels({ access }).query });
    const before = await snapshot();
    const error = await blind.buyer.update({ where: { id: "b1" }, data: { purchases: { create: { id: 9, item: "x", status: "open" } } } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuditConfigError);
    expect((error as Error).message).toMatch(/nested write at data\.purchases cannot be checked.*prisma\.\$extends\(auditModels/);
    expect(await snapshot()).toEqual(before);
    expect(await eventsOf("Buyer")).toEqual([expect.objectContaining({ outcome: "failure", action: "Buyer.update" })]);
  });
});

describe("read hooks see the whole record", () => {
  it("decide by a field the query's select leaves out, and give back only what was selected", async () => {
    const chosen = await client.purchase.findMany({ select: { id: true, item: true }, orderBy: { id: "asc" } });
    expect(chosen).toEqual([{ id: 1, item: "pen" }, { id: 3, item: "ink" }]);
    await expect(client.purchase.findUnique({ where: { id: 2 }, select: { item: true } })).rejects.toBeInstanceOf(AuditAccessDeniedError);
    const omitted = await client.purchase.findMany({ omit: { status: true }, orderBy: { id: "asc" } });
    expect(omitted).toEqual([{ id: 1, buyerId: "b1", item: "pen" }, { id: 3, buyerId: "b2", item: "ink" }]);
  });

  it("whatever the select or omit, never return a refused record or a field the caller did not ask for", async () => {
    const fields = ["id", "buyerId", "item", "status"] as const;
    await fc.assert(
      fc.asyncProperty(fc.subarray([...fields], { minLength: 1 }), fc.boolean(), async (chosen, useOmit) => {
        const shape = Object.fromEntries(chosen.map((f) => [f, true]));
        const rows = useOmit && chosen.length < fields.length
          ? await client.purchase.findMany({ omit: shape, orderBy: { id: "asc" } })
          : await client.purchase.findMany({ select: shape, orderBy: { id: "asc" } });
        expect(rows).toHaveLength(2);
        const expected = useOmit && chosen.length < fields.length ? fields.filter((f) => !chosen.includes(f)) : chosen;
        for (const row of rows) expect(Object.keys(row).sort()).toEqual([...expected].sort());
      }),
      { numRuns: 25 },
    );
  });
});

describe("records reached through relations are checked by their model's hooks", () => {
  it("include: refused records leave the list, hidden fields leave the record, at any depth", async () => {
    const ann = await client.buyer.findUnique({ where: { id: "b1" }, include: { purchases: { include: { lines: true }, orderBy: { id: "asc" } } } });
    expect(ann).toEqual({ id: "b1", name: "Ann", tier: "gold", purchases: [{ id: 1, buyerId: "b1", item: "pen", status: "open", lines: expect.any(Array) }] });
    const events = await allEvents();
    expect(events.map((e) => [e.action, e.outcome])).toEqual(expect.arrayContaining([["Buyer.findUnique", "success"], ["Purchase.read", "denied"]]));
    expect(events.find((e) => e.action === "Purchase.read")!.content).toMatchObject({ via: "Buyer.findUnique", ids: ["2"], reasons: ["Secret purchase."] });
  });

  it("relation select: the related model's hook sees its record whole and the selection is given back", async () => {
    const rows = await client.purchase.findMany({ where: { buyerId: "b1", status: "open" }, select: { item: true, buyer: { select: { name: true, email: true } } } });
    expect(rows).toEqual([{ item: "pen", buyer: { name: "Ann" } }]);
    // A to-one relation holding a refused record refuses the query.
    const error = await client.purchase.findUnique({ where: { id: 3 }, select: { item: true, buyer: { select: { name: true } } } }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: "AuditAccessDeniedError", model: "Buyer", reason: "VIP buyers are private." });
  });

  it("the fluent API: the relation's hook applies, and the parent's", async () => {
    expect(await client.purchase.findUnique({ where: { id: 1 } }).buyer()).toEqual({ id: "b1", name: "Ann", tier: "gold" });
    await expect(client.purchase.findUnique({ where: { id: 3 } }).buyer()).rejects.toMatchObject({ model: "Buyer" });
    expect(await client.buyer.findUnique({ where: { id: "b1" } }).purchases({ select: { item: true }, orderBy: { id: "asc" } })).toEqual([{ item: "pen" }]);
    // Through a refused parent: refused, not its relation handed out.
    await expect(client.purchase.findUnique({ where: { id: 2 } }).buyer()).rejects.toMatchObject({ model: "Purchase", reason: "Secret purchase." });
    expect(await client.purchase.findUnique({ where: { id: 99 } }).buyer()).toBeNull();
  });

  it("counts of a hooked model are refused unless its aggregate hook allows them", async () => {
    for (const run of [
      () => client.purchase.count(),
      () => client.purchase.aggregate({ _count: { _all: true } }),
      () => client.purchase.groupBy({ by: ["status"], _count: { _all: true } }),
      () => client.buyer.findMany({ include: { _count: { select: { purchases: true } } } }),
    ]) {
      await expect(run()).rejects.toMatchObject({ name: "AuditAccessDeniedError", model: "Purchase" });
    }
    const counting = extend(db, { access: { ...access, Purchase: { ...access.Purchase, aggregate: () => true } } });
    await expect(counting.purchase.count()).resolves.toBe(3);
    // Models without a read hook count as before.
    await expect(client.purchaseLine.count()).resolves.toBe(3);
  });
});

describe("records returned by writes go through read", () => {
  it("hides fields of a returned record", async () => {
    const created = await client.buyer.create({ data: { id: "b3", name: "Cy", email: "cy@example.com", tier: "silver" } });
    expect(created).toEqual({ id: "b3", name: "Cy", tier: "silver" });
  });

  it("a refused returned record: the write happens, the record is withheld and the refusal recorded", async () => {
    const error = await client.purchase.update({ where: { id: 1 }, data: { status: "secret" }, select: { id: true } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuditAccessDeniedError);
    expect(error).toMatchObject({ model: "Purchase", operation: "update (written; its result is withheld)" });
    expect((await db.prisma.purchase.findUnique({ where: { id: 1 } }))!.status).toBe("secret");
    const [event] = await eventsOf("Purchase");
    expect(event).toMatchObject({ action: "Purchase.update", outcome: "denied", content: expect.objectContaining({ written: true, ids: ["1"] }) });
    const many = await client.purchase.createManyAndReturn({ data: [{ id: 11, buyerId: "b1", item: "a", status: "secret" }, { id: 12, buyerId: "b1", item: "b", status: "open" }] });
    expect(many.map((p) => p.id)).toEqual([12]);
  });
});

describe("hook failures", () => {
  it("store the hook's error masked by the content's rules, and capped", async () => {
    const secret = "s3cr3t-value";
    const broken = extend(db, {
      access: {
        Purchase: {
          read: () => {
            throw new Error(`policy engine refused the call, token=${secret}, password: "${secret}" ${"x".repeat(2000)}`);
          },
        },
      },
    });
    await expect(broken.purchase.findMany()).rejects.toThrow(secret);
    const [event] = await eventsOf("Purchase");
    const stored = event!.content.error as string;
    expect(event).toMatchObject({ outcome: "failure" });
    expect(stored).not.toContain(secret);
    expect(stored).toContain(`token=${MASK}`);
    expect(stored.length).toBeLessThan(600);
  });
});

describe("hooks that cannot be trusted fail closed", () => {
  it("a read hook hiding a field its model does not have: the query throws ERR_AUDIT_CONFIG naming the field, and the failure is recorded", async () => {
    const typo = extend(db, { access: { Buyer: { read: () => ({ hide: ["emial"] }) } } });
    await expect(typo.buyer.findMany()).rejects.toThrow(/hid "emial", which is not a field of Buyer\. Did you mean "email"\?/);
    const [event] = await eventsOf("Buyer");
    expect(event).toMatchObject({ outcome: "failure", content: expect.objectContaining({ error: expect.stringContaining("emial") }) });
  });

  it("a read hook answering { hide } beside other keys is told to answer { hide } alone", async () => {
    const mixed = extend(db, { access: { Buyer: { read: () => ({ hide: ["email"], allow: true }) as never } } });
    await expect(mixed.buyer.findMany()).rejects.toThrow(/returned \{ hide \} with "allow" beside it.*\{ hide: \["email"\] \} alone/);
  });

  type Client = ReturnType<typeof extend>;
  const never = () => new Promise<never>(() => undefined);
  const hanging: [string, NonNullable<AuditModelsOptions["access"]>, (c: Client) => Promise<unknown>][] = [
    ["read", { Buyer: { read: never } }, (c) => c.buyer.findMany()],
    ["write", { Buyer: { write: never } }, (c) => c.buyer.update({ where: { id: "b1" }, data: { name: "Slow" } })],
    ["aggregate", { Buyer: { read: () => true, aggregate: never } }, (c) => c.buyer.count()],
  ];
  it.each(hanging)("a %s hook that never answers is taken as failed after hookTimeoutMs: the query throws, the failure is recorded, nothing is written", async (_kind, hooks, run) => {
    const before = await snapshot();
    const slow = extend(db, { access: hooks, hookTimeoutMs: 60 });
    await expect(run(slow)).rejects.toThrow(/did not answer within 60 ms.*hookTimeoutMs/);
    expect(await snapshot()).toEqual(before);
    const [event] = await eventsOf("Buyer");
    expect(event).toMatchObject({ outcome: "failure" });
  });

  it("hookTimeoutMs is checked once, naming the range", () => {
    for (const hookTimeoutMs of [0, 2.5, "10", 600_001]) expect(() => auditModels({ hookTimeoutMs } as never)).toThrow(/hookTimeoutMs must be a whole number of milliseconds from 1 to 600000/);
  });
});

describe("other query extensions", () => {
  it("applied before auditModels (auditModels last), what they add to a query is checked too", async () => {
    const addsBuyer = db.prisma.$extends({
      query: { purchase: { findMany: ({ args, query }) => query({ ...args, include: { buyer: true } }) } },
    });
    const guarded = addsBuyer.$extends(auditModels({ access }));
    const rows = (await guarded.purchase.findMany({ where: { id: 1 } })) as unknown as { buyer: Record<string, unknown> }[];
    expect(rows).toHaveLength(1);
    expect(rows[0]!.buyer).toEqual({ id: "b1", name: "Ann", tier: "gold" });
    await expect(guarded.purchase.findMany({ where: { id: 3 } })).rejects.toThrow(AuditAccessDeniedError);
  });
});

describe("model names", () => {
  it("a hook of a model the client does not have is refused when the client is extended, with the model meant", () => {
    expect(() => db.prisma.$extends(auditModels({ access: { Buyers: { read: () => true } } }))).toThrow(AuditConfigError);
    expect(() => db.prisma.$extends(auditModels({ access: { Buyers: { read: () => true } } }))).toThrow(/access\.Buyers names no model of this Prisma client\. Did you mean "Buyer"\?/);
  });
});

describe("refusal reasons", () => {
  it("are capped and stored masked", async () => {
    const guarded = extend(db, {
      access: { Purchase: { read: () => ({ allow: false, reason: `password=hunter2-secret ${"y".repeat(5000)}` }), write: () => ({ allow: false, reason: `Closed: token=tok-secret-9 ${"z".repeat(5000)}` }) } },
    });
    const read = await guarded.purchase.findUnique({ where: { id: 1 } }).catch((e: unknown) => e);
    expect((read as Error).message.length).toBeLessThan(1200);
    await expect(guarded.purchase.update({ where: { id: 1 }, data: { item: "x" } })).rejects.toThrow(AuditAccessDeniedError);
    const stored = JSON.stringify(await eventsOf("Purchase"));
    expect(stored).not.toContain("hunter2-secret");
    expect(stored).not.toContain("tok-secret-9");
    expect(stored).not.toContain("y".repeat(1001));
    expect(stored).not.toContain("z".repeat(1001));
  });
});

describe("a result extension's computed fields", () => {
  it("are kept when the caller selects them, on a model with a read hook, whichever extension comes first", async () => {
    const computed = { result: { buyer: { domain: { needs: { email: true }, compute: (b: { email: string }) => b.email.split("@")[1] }, upper: { needs: { name: true }, compute: (b: { name: string }) => b.name.toUpperCase() } } } };
    const hooks = { Buyer: { read: (b: Record<string, unknown>) => (b.tier === "vip" ? { allow: false as const, reason: "VIP." } : true as const) } };
    const clients = [db.prisma.$extends(computed).$extends(auditModels({ access: hooks })), db.prisma.$extends(auditModels({ access: hooks })).$extends(computed)];
    for (const client of clients) {
      const rows = await (client.buyer.findMany as (a: unknown) => Promise<object[]>)({ select: { domain: true, upper: true }, orderBy: { id: "asc" } });
      expect(JSON.parse(JSON.stringify(rows))).toEqual([{ domain: "example.com", upper: "ANN" }]);
      expect(rows.map((r) => Object.keys(r))).toEqual([["domain", "upper"]]);
    }
  });
});

describe("read hooks over a list", () => {
  it("run concurrently, bounded, and keep the result's order", async () => {
    await db.prisma.purchase.createMany({ data: Array.from({ length: 60 }, (_, i) => ({ id: 100 + i, buyerId: "b1", item: `i${i}`, status: "open" })) });
    let running = 0;
    let most = 0;
    const slow = extend(db, {
      access: {
        Purchase: {
          read: async (p) => {
            most = Math.max(most, ++running);
            await new Promise((resolve) => setTimeout(resolve, (p.id as number) % 3));
            running--;
            return (p.id as number) % 2 === 0 ? { allow: false, reason: "even" } : true;
          },
        },
      },
    });
    const rows = await slow.purchase.findMany({ orderBy: { id: "desc" } });
    const odd = [1, 3, ...Array.from({ length: 60 }, (_, i) => 100 + i)].filter((id) => id % 2 === 1);
    expect(rows.map((r) => r.id)).toEqual(odd.sort((a, b) => b - a));
    expect(most).toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(16);
  });
});

describe("a store that hangs", () => {
  it("does not hold the query past eventWaitMs; the refusal still throws, and the event's fate is logged", async () => {
    const logged: string[] = [];
    const store = memoryStore();
    let fail: (error: Error) => void = () => undefined;
    store.insert = () => new Promise((_resolve, reject) => (fail = reject));
    configureAudit({ store, logger: { warn: (m) => logged.push(m), error: (m) => logged.push(m) } });
    const quick = extend(db, { access, eventWaitMs: 50 });
    const error = await runWithAuditContext(new AuditContext({}), async () => await quick.purchase.findUnique({ where: { id: 2 } }).catch((e: unknown) => e));
    expect(error).toBeInstanceOf(AuditAccessDeniedError);
    // The query answered while the store still holds the event's write.
    expect(logged.some((m) => m.includes("Purchase.findUnique is still being written after 50 ms"))).toBe(true);
    fail(new Error("disk full"));
    await new Promise((resolve) => setImmediate(resolve));
    expect(logged.some((m) => m.includes("could not be recorded (after the query went on): disk full"))).toBe(true);
  });
});
