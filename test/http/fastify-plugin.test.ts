import type FastifyType from "fastify";
import request from "supertest";
import { AuditConfigError, configureAudit, currentAuditContext, fastifyAuditEvents, memoryStore, type MemoryStore } from "../../src";

/* eslint-disable @typescript-eslint/no-require-imports */
const versions: [string, typeof FastifyType][] = [
  ["Fastify 4", require("fastify4") as typeof FastifyType],
  ["Fastify 5", require("fastify") as typeof FastifyType],
];

let store: MemoryStore;
beforeEach(() => {
  store = memoryStore();
  configureAudit({ store });
});
afterEach(() => configureAudit({}));

describe.each(versions)("fastifyAuditEvents on %s", (_name, Fastify) => {
  it("refuses register(fastifyAuditEvents()) at once, naming the right call", () => {
    const call = fastifyAuditEvents as unknown as (options?: unknown) => unknown;
    for (const wrong of [() => call(), () => call({ includeHeaders: ["user-agent"] })]) {
      expect(wrong).toThrow(AuditConfigError);
      expect(wrong).toThrow("write fastify.register(fastifyAuditEvents, options), not fastify.register(fastifyAuditEvents(options))");
    }
  });

  it("rejects ready() for a misspelt option, suggesting the right name", async () => {
    const app = Fastify();
    app.register(fastifyAuditEvents, { includeHeader: ["user-agent"] } as never);
    await expect(app.ready()).rejects.toThrow(/fastifyAuditEvents\(\): unknown option "includeHeader"\. Did you mean "includeHeaders"\?/);
  });

  it("rejects ready() for an option only configureAudit() takes", async () => {
    const app = Fastify();
    app.register(fastifyAuditEvents, { writeMode: "buffered" });
    await expect(app.ready()).rejects.toMatchObject({ code: "ERR_AUDIT_CONFIG", message: expect.stringContaining("pass it to configureAudit() instead") });
  });

  it("warns once, naming the fix, when an onRequest hook was added before it", async () => {
    const warned: string[] = [];
    configureAudit({ store, logger: { warn: (m) => warned.push(m), error: (m) => warned.push(m) } });
    const app = Fastify();
    app.addHook("onRequest", (_req, _reply, done) => done());
    await app.register(fastifyAuditEvents);
    app.get("/", async () => ({ ok: true }));
    await app.ready();
    expect(warned.filter((m) => m.includes("Register fastifyAuditEvents before any hook"))).toHaveLength(1);
    await app.close();
    const clean = Fastify();
    await clean.register(fastifyAuditEvents);
    await clean.ready();
    expect(warned).toHaveLength(1);
    await clean.close();
  });

  it("rejects ready() when registered twice", async () => {
    const app = Fastify();
    app.register(fastifyAuditEvents).register(fastifyAuditEvents);
    await expect(app.ready()).rejects.toThrow("registered twice");
  });

  it("applies to routes of encapsulated plugins too, and ignores Fastify's own register options", async () => {
    const app = Fastify();
    await app.register(fastifyAuditEvents, { prefix: "/ignored", includeHeaders: ["x-note"] });
    app.get("/root", async (req) => currentAuditContext() === req.auditContext && (await req.auditContext.createEvent({ contentType: "A", objectId: "1" })));
    await app.register(
      async (child) => {
        child.get("/nested", async (req) => req.auditContext.createEvent({ contentType: "A", objectId: "2" }));
      },
      { prefix: "/child" },
    );
    await app.ready();
    const root = await request(app.server).get("/root").set("x-note", "root");
    const nested = await request(app.server).get("/child/nested").set("x-note", "nested");
    expect([root.status, nested.status]).toEqual([200, 200]);
    expect(store.list().map((e) => [e.objectId, e.headers])).toEqual([
      ["1", { "x-note": "root" }],
      ["2", { "x-note": "nested" }],
    ]);
    await app.close();
  });

  it("applies to the instance it is registered on, not to an encapsulated context of its own (fastify-plugin)", async () => {
    const app = Fastify();
    await app.register(async (instance) => {
      await instance.register(fastifyAuditEvents);
      instance.get("/inside", async (req) => ({ hasContext: req.auditContext !== null && currentAuditContext() === req.auditContext }));
    });
    await app.ready();
    expect((await request(app.server).get("/inside")).body).toEqual({ hasContext: true });
    await app.close();
  });

  it("reads the user @fastify/jwt leaves on request.user by its sub, and the host and protocol a trusted proxy forwards", async () => {
    const app = Fastify({ trustProxy: "127.0.0.1" });
    await app.register(fastifyAuditEvents);
    app.addHook("preHandler", async (req) => {
      (req as { user?: unknown }).user = { sub: "auth0|42", iat: 1 };
    });
    app.get("/who", async (req) => req.auditContext.createEvent({ contentType: "A", objectId: "1" }));
    await app.ready();
    const res = await request(app.server).get("/who?x=1").set("x-forwarded-host", "shop.example").set("x-forwarded-proto", "https").set("x-forwarded-for", "198.51.100.7");
    expect(res.body).toMatchObject({ userId: "auth0|42", url: "https://shop.example/who?x=1", remoteAddr: "198.51.100.7" });
    await app.close();
  });

  it("ignores forwarded host, protocol and address from an untrusted peer", async () => {
    const app = Fastify();
    await app.register(fastifyAuditEvents);
    app.get("/who", async (req) => req.auditContext.createEvent({ contentType: "A", objectId: "1" }));
    await app.ready();
    const res = await request(app.server).get("/who").set("x-forwarded-host", "evil.example").set("x-forwarded-proto", "https").set("x-forwarded-for", "6.6.6.6");
    expect(res.body.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/who$/);
    expect(res.body.remoteAddr).toBe("127.0.0.1");
    await app.close();
  });
});
