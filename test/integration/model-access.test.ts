import http from "node:http";
import type ExpressType from "express";
import type KoaType from "koa";
import fc from "fast-check";
import request from "supertest";

import {
  AuditAccessDeniedError,
  AuditConfigError,
  AuditContext,
  auditEvents,
  auditModels,
  configureAudit,
  findEvents,
  koaAuditEvents,
  prismaStore,
  runWithAuditContext,
  type AuditEventRecord,
  type AuditModelsOptions,
} from "../../src";
import { openDatabase, type TestDatabase } from "../support/databases";
import { UNPRINTABLE_THROWS } from "../support/unprintable-throws";

/* eslint-disable @typescript-eslint/no-require-imports */
const express5 = require("express") as typeof ExpressType;
const Koa3 = require("koa") as typeof KoaType;

const SECRET_STATUS = "classified";

/** The hooks under test: classified orders are refused; support alone sees customers' emails; refunds cannot be written. */
const access: AuditModelsOptions["access"] = {
  Order: {
    read: (order) => (order.status === SECRET_STATUS ? { allow: false, reason: "This order is classified." } : true),
    write: async (args) => {
      await new Promise((resolve) => setImmediate(resolve));
      const data = (args.data ?? {}) as { status?: string } | { status?: string }[];
      const statuses = Array.isArray(data) ? data.map((d) => d.status) : [data.status, (args.update as { status?: string } | undefined)?.status];
      if (statuses.includes("refunded")) return { allow: false, reason: "Refunds go through the refund desk." };
      if (args.where !== undefined && JSON.stringify(args.where).includes("\"locked\"")) return { allow: false, reason: "Locked orders cannot change." };
      return true;
    },
  },
  Customer: {
    read: (_customer, ctx) => (ctx.extraData.role === "support" ? true : { hide: ["email"] }),
  },
};

describe("auditModels({ access }) on PostgreSQL through the real Prisma client", () => {
  let db: TestDatabase<"postgresql">;
  let client: ReturnType<typeof extend>;
  const extend = (d: TestDatabase<"postgresql">) => d.prisma.$extends(auditModels({ access }));

  beforeAll(async () => {
    db = await openDatabase("postgresql", { name: "model_access" });
    client = extend(db);
  });
  afterAll(async () => {
    configureAudit({});
    await db.close();
  });
  beforeEach(async () => {
    await db.reset();
    configureAudit({ store: prismaStore(db.prisma) });
    await db.prisma.order.createMany({
      data: [
        { id: 1, reference: "A-1", status: "open", total: "10.00" },
        { id: 2, reference: "A-2", status: SECRET_STATUS, total: "20.00" },
        { id: 3, reference: "A-3", status: "open", total: "30.00" },
        { id: 4, reference: "A-4", status: SECRET_STATUS, total: "40.00" },
        { id: 5, reference: "A-5", status: "locked", total: "50.00" },
      ],
    });
    await db.prisma.customer.createMany({
      data: [
        { id: "c1", name: "Ada", email: "ada@example.com" },
        { id: "c2", name: "Bob", email: "bob@example.com" },
      ],
    });
  });

  const eventsOf = async (contentType: string): Promise<AuditEventRecord[]> => (await findEvents({ contentType, order: "asc" })).events;

  describe("read", () => {
    it("returns an allowed record, and refuses a refused one with AuditAccessDeniedError, recorded", async () => {
      await expect(client.order.findUnique({ where: { id: 1 } })).resolves.toMatchObject({ reference: "A-1" });
      const error = await client.order.findUnique({ where: { id: 2 } }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AuditAccessDeniedError);
      expect(error).toMatchObject({ code: "ERR_AUDIT_ACCESS_DENIED", reason: "This order is classified.", model: "Order", operation: "findUnique", status: 403 });
      await expect(client.order.findFirstOrThrow({ where: { reference: "A-4" } })).rejects.toBeInstanceOf(AuditAccessDeniedError);
      const events = await eventsOf("Order");
      expect(events).toHaveLength(2);
      expect(events[0]).toMatchObject({ objectId: "2", action: "Order.findUnique", outcome: "denied", severity: "warning" });
      expect(events[0]!.content).toMatchObject({ reasons: ["This order is classified."], ids: ["2"], refused: 1 });
      expect(events[1]).toMatchObject({ objectId: "4", action: "Order.findFirstOrThrow", outcome: "denied" });
    });

    it("filters findMany record by record, and records the refused ones in one event", async () => {
      const orders = await client.order.findMany({ orderBy: { id: "asc" } });
      expect(orders.map((o) => o.id)).toEqual([1, 3, 5]);
      const events = await eventsOf("Order");
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ objectId: "*", action: "Order.findMany", outcome: "denied" });
      expect(events[0]!.content).toMatchObject({ refused: 2, ids: ["2", "4"] });
    });

    it("hides fields, and records which and from how many records", async () => {
      const customers = await client.customer.findMany({ orderBy: { id: "asc" } });
      expect(customers).toEqual([{ id: "c1", name: "Ada" }, { id: "c2", name: "Bob" }]);
      const one = await client.customer.findUnique({ where: { id: "c1" } });
      expect(one).toEqual({ id: "c1", name: "Ada" });
      const events = await eventsOf("Customer");
      expect(events.map((e) => [e.action, e.objectId, e.outcome, e.content.hidden, e.content.records])).toEqual([
        ["Customer.findMany", "*", "success", ["email"], 2],
        ["Customer.findUnique", "c1", "success", ["email"], 1],
      ]);
    });

    it("decides with the current audit context", async () => {
      const support = new AuditContext({ extraData: { role: "support" } });
      // Prisma queries are lazy: awaited inside the context, so they run in it.
      const seen = await runWithAuditContext(support, async () => await client.customer.findUnique({ where: { id: "c2" } }));
      expect(seen).toEqual({ id: "c2", name: "Bob", email: "bob@example.com" });
      expect(await eventsOf("Customer")).toEqual([]);
    });

    it("never lets a hidden field through, whatever the hide list", async () => {
      const fields = ["id", "name", "email"] as const;
      await fc.assert(
        fc.asyncProperty(fc.subarray([...fields]), fc.constantFrom("findMany", "findUnique", "findFirst"), async (hide, operation) => {
          const hiding = db.prisma.$extends(auditModels({ access: { Customer: { read: () => ({ hide }) } } }));
          const result =
            operation === "findMany"
              ? await hiding.customer.findMany()
              : operation === "findUnique"
                ? [await hiding.customer.findUnique({ where: { id: "c1" } })]
                : [await hiding.customer.findFirst()];
          for (const record of result) {
            for (const field of fields) expect(Object.hasOwn(record!, field)).toBe(!hide.includes(field));
          }
        }),
        { numRuns: 15 },
      );
    });
  });

  describe("write", () => {
    it("runs an allowed write and gives the hook the write's arguments", async () => {
      const seen: unknown[] = [];
      const watching = db.prisma.$extends(auditModels({ access: { Order: { write: (args) => (seen.push(args), true) } } }));
      await watching.order.update({ where: { id: 1 }, data: { status: "shipped" } });
      expect(seen).toEqual([{ where: { id: 1 }, data: { status: "shipped" } }]);
      expect((await db.prisma.order.findUnique({ where: { id: 1 } }))!.status).toBe("shipped");
    });

    it.each([
      ["create", (c: typeof client) => c.order.create({ data: { id: 9, reference: "A-9", status: "refunded", total: "1.00" } })],
      ["createMany", (c: typeof client) => c.order.createMany({ data: [{ id: 9, reference: "A-9", status: "refunded", total: "1.00" }] })],
      ["update", (c: typeof client) => c.order.update({ where: { id: 1 }, data: { status: "refunded" } })],
      ["updateMany", (c: typeof client) => c.order.updateMany({ where: { status: "locked" }, data: { total: "0.00" } })],
      ["upsert", (c: typeof client) => c.order.upsert({ where: { id: 1 }, create: { id: 1, reference: "A-1", status: "open", total: "1.00" }, update: { status: "refunded" } })],
      ["delete", (c: typeof client) => c.order.delete({ where: { id: 5, status: "locked" } })],
      ["deleteMany", (c: typeof client) => c.order.deleteMany({ where: { status: "locked" } })],
    ])("refuses %s before it runs, and records the refusal", async (operation, run) => {
      const before = await db.prisma.order.findMany({ orderBy: { id: "asc" } });
      const error = await run(client).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AuditAccessDeniedError);
      expect(error).toMatchObject({ model: "Order", operation });
      expect(await db.prisma.order.findMany({ orderBy: { id: "asc" } })).toEqual(before);
      const events = await eventsOf("Order");
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ action: `Order.${operation}`, outcome: "denied", severity: "warning" });
      expect([(error as AuditAccessDeniedError).reason]).toContain(events[0]!.content.reason);
    });

    it("fails closed when a hook throws: the query throws and the failure is recorded", async () => {
      const broken = db.prisma.$extends(
        auditModels({
          access: {
            Order: {
              write: () => {
                throw new Error("rules engine down");
              },
            },
          },
        }),
      );
      await expect(broken.order.delete({ where: { id: 1 } })).rejects.toThrow("rules engine down");
      expect(await db.prisma.order.count()).toBe(5);
      const [event] = await eventsOf("Order");
      expect(event).toMatchObject({ action: "Order.delete", objectId: "1", outcome: "failure", severity: "error", content: expect.objectContaining({ error: "rules engine down" }) });
    });
    it.each(UNPRINTABLE_THROWS)("records a read or write hook that throws %s as a failure, described by its kind", async (_name, make, kind) => {
      const thrown = make();
      const broken = db.prisma.$extends(
        auditModels({
          access: {
            Order: {
              read: () => {
                throw thrown;
              },
              write: () => {
                throw thrown;
              },
            },
          },
        }),
      );
      for (const query of [() => broken.order.delete({ where: { id: 1 } }), () => broken.order.findUnique({ where: { id: 3 } })]) {
        let caught: unknown;
        await query().catch((error: unknown) => {
          caught = error;
        });
        expect(caught).toBe(thrown);
      }
      expect(await db.prisma.order.count()).toBe(5);
      const events = await eventsOf("Order");
      expect(events.map((e) => [e.action, e.outcome, e.content.error])).toEqual([
        ["Order.delete", "failure", `[unprintable thrown value: ${kind}]`],
        ["Order.findUnique", "failure", `[unprintable thrown value: ${kind}]`],
      ]);
    });
  });

  describe("through an app", () => {
    it("Express: the app's error handler answers 403, and the refusal carries the request", async () => {
      const app = express5();
      app.use(auditEvents());
      app.use((req, _res, next) => ((req as { user?: unknown }).user = { id: "u-7" }, next()));
      app.get("/orders/:id", async (req, res) => {
        res.json(await client.order.findUniqueOrThrow({ where: { id: Number(req.params.id) } }));
      });
      app.use((err: unknown, _req: ExpressType.Request, res: ExpressType.Response, next: ExpressType.NextFunction) => {
        if (err instanceof AuditAccessDeniedError) return void res.status(403).json({ error: err.reason });
        next(err);
      });
      const server = http.createServer(app);
      await request(server).get("/orders/1").expect(200);
      const response = await request(server).get("/orders/2").set("x-request-id", "r-403").expect(403);
      expect(response.body).toEqual({ error: "This order is classified." });
      const [event] = await eventsOf("Order");
      expect(event).toMatchObject({ requestId: "r-403", userId: "u-7", method: "GET", outcome: "denied" });
      expect(event!.url).toMatch(/\/orders\/2$/);
    });

    it("Koa: its own error handling answers 403 from the error's status", async () => {
      const app = new Koa3();
      app.silent = true;
      app.use(koaAuditEvents());
      app.use(async (ctx) => {
        ctx.body = await client.order.findUniqueOrThrow({ where: { id: Number(ctx.path.slice("/orders/".length)) } });
      });
      const server = http.createServer(app.callback());
      const response = await request(server).get("/orders/4").set("x-request-id", "k-403").expect(403);
      expect(response.text).toBe("This order is classified.");
      const [event] = await eventsOf("Order");
      expect(event).toMatchObject({ requestId: "k-403", outcome: "denied" });
    });
  });
});

describe("auditModels options", () => {
  it("are checked at creation, naming the fix", () => {
    expect(() => auditModels({ access: { order: { read: () => true } } })).toThrow(/\("Order"\), not by the client's property/);
    expect(() => auditModels({ access: { Order: { reed: () => true } as never } })).toThrow(/unknown hook "reed".*read/);
    expect(() => auditModels({ access: { Order: { read: true } as never } })).toThrow(/access.Order.read must be a function/);
    expect(() => auditModels({ access: { Order: {} } })).toThrow(/has no hook/);
    expect(() => auditModels({ acess: {} } as never)).toThrow(AuditConfigError);
    expect(() => auditModels({ access: { "my-model": { read: () => true } } })).toThrow(/is not a Prisma model name/);
  });
});
