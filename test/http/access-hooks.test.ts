import fc from "fast-check";
import request from "supertest";

import {
  ACCESS_FAILED_BODY,
  accessDecisionOf,
  auditAccess,
  auditEvents,
  auditMetrics,
  AuditConfigError,
  configureAudit,
  CUT_MARKER,
  fastifyAuditAccess,
  koaAuditAccess,
  koaAuditEvents,
  MAX_REASON_CHARS,
  memoryStore,
  requestEventLevel,
  type AccessDecision,
  type AuditEventRecord,
  type MemoryStore,
} from "../../src";
import { frameworks, type RouteApp } from "../support/request-event-apps";
import { UNPRINTABLE_THROWS } from "../support/unprintable-throws";

/** Waits for `count` events, lets later writes land, and returns every event stored. */
async function recorded(store: MemoryStore, count = 1): Promise<AuditEventRecord[]> {
  const deadline = Date.now() + 3000;
  while (store.list().length < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
  await new Promise((resolve) => setTimeout(resolve, 60));
  return store.list();
}

/** A JWT (its payload `{"sub":"jwt-leak-66"}`) that no event or log line may hold. */
const LEAKED_JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJqd3QtbGVhay02NiJ9.c2lnLWxlYWstNjY";

/** Where the refusal is recorded: its own event, or the request event that `requestEvents` writes. */
const modes = [
  { name: "without requestEvents", requestEvents: false, action: "access.request" },
  { name: "with requestEvents", requestEvents: true, action: "GET /guarded/:id" },
] as const;

describe.each(frameworks)("access hooks on $name", (framework) => {
  let store: MemoryStore;
  let app: RouteApp | undefined;
  const logged: string[] = [];

  beforeEach(() => {
    store = memoryStore();
    logged.length = 0;
    configureAudit({ store, logger: { warn: (m) => logged.push(m), error: (m) => logged.push(m) } });
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  describe.each(modes)("$name", (mode) => {
    async function start(access: (req: unknown) => AccessDecision | Promise<AccessDecision>) {
      app = await framework.start({ middleware: { requestEvents: mode.requestEvents }, access });
      return app.server;
    }

    it("lets an allowed request through and records no refusal", async () => {
      const server = await start(() => true);
      const response = await request(server).get("/guarded/1").expect(200);
      expect(response.body).toEqual({ handled: true });
      const events = await recorded(store, mode.requestEvents ? 1 : 0);
      expect(events.map((e) => [e.action, e.outcome])).toEqual(mode.requestEvents ? [["GET /guarded/:id", "success"]] : []);
      for (const e of events) expect(e.content).not.toHaveProperty("reason");
    });

    it("answers a refusal 403 with its reason and records it as one denied event", async () => {
      const server = await start(() => ({ allow: false, reason: "Only the owner may see this order." }));
      const response = await request(server).get("/guarded/77").set("x-request-id", "deny-1").expect(403);
      expect(response.body).toEqual({ error: "Only the owner may see this order." });
      const events = await recorded(store);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({
        contentType: "HttpRequest",
        objectId: "deny-1",
        action: mode.action,
        outcome: "denied",
        severity: "warning",
        content: expect.objectContaining({ reason: "Only the owner may see this order.", route: "/guarded/:id" }),
      });
      if (mode.requestEvents) expect(events[0]!.content.status).toBe(403);
    });

    it("waits for an async refusal", async () => {
      const server = await start(async () => {
        await new Promise((resolve) => setTimeout(resolve, 10));
        return { allow: false, reason: "Later no." };
      });
      const response = await request(server).get("/guarded/2").expect(403);
      expect(response.body).toEqual({ error: "Later no." });
      expect((await recorded(store)).map((e) => e.outcome)).toEqual(["denied"]);
    });

    it("fails closed when the hook throws: 500, no handler, one event recording the failure, logged", async () => {
      const server = await start(() => {
        throw new Error("policy service unreachable");
      });
      const response = await request(server).get("/guarded/3").expect(500);
      expect(response.body).toEqual(ACCESS_FAILED_BODY);
      expect(response.body).not.toHaveProperty("handled");
      const events = await recorded(store);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ action: mode.action, outcome: "failure", severity: "error", content: expect.objectContaining({ error: "policy service unreachable" }) });
      expect(logged.some((m) => m.includes("policy service unreachable"))).toBe(true);
    });

    it.each(UNPRINTABLE_THROWS)("records a hook that throws %s as a failure, described by its kind", async (_name, make, kind) => {
      const server = await start(() => {
        throw make();
      });
      const response = await request(server).get("/guarded/5").expect(500);
      expect(response.body).toEqual(ACCESS_FAILED_BODY);
      const events = await recorded(store);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ action: mode.action, outcome: "failure", severity: "error", content: expect.objectContaining({ error: `[unprintable thrown value: ${kind}]` }) });
      expect(logged.some((m) => m.includes(`[unprintable thrown value: ${kind}]`))).toBe(true);
    });

    it.each([
      ["false", false],
      ["undefined", undefined],
      ["{ allow: true }", { allow: true }],
      ["a refusal without a reason", { allow: false }],
      ["a truthy string", "yes"],
    ])("fails closed when the hook answers %s", async (_name, answer) => {
      const server = await start(() => answer as never);
      await request(server).get("/guarded/4").expect(500);
      expect((await recorded(store)).map((e) => e.outcome)).toEqual(["failure"]);
    });

    it("answers without waiting for a store that hangs, and writes the refusal once the store answers", async () => {
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const insert = store.insert.bind(store);
      store.insert = async (...args) => {
        await gate;
        return insert(...args);
      };
      const server = await start(() => ({ allow: false, reason: "Held." }));
      // Far beyond the bounded wait: only a refusal that waits for the store runs into it.
      const response = await request(server).get("/guarded/8").timeout(5000);
      expect(response.status).toBe(403);
      expect(store.list()).toEqual([]);
      release();
      const events = await recorded(store);
      expect(events.map((e) => [e.action, e.outcome, e.content.reason])).toEqual([[mode.action, "denied", "Held."]]);
    });

    it("refuses all the same when the refusal cannot be recorded, and logs and counts it, however late the failure", async () => {
      const failing = memoryStore();
      failing.insert = async () => {
        await new Promise((resolve) => setTimeout(resolve, 400));
        throw new Error(`disk full on ${framework.name}`);
      };
      configureAudit({ store: failing, logger: { warn: (m) => logged.push(m), error: (m) => logged.push(m) } });
      const server = await start(() => ({ allow: false, reason: "No." }));
      await request(server).get("/guarded/5").expect(403);
      const deadline = Date.now() + 3000;
      while (!logged.some((m) => m.includes(`disk full on ${framework.name}`)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(logged.filter((m) => m.includes(`disk full on ${framework.name}`))).toHaveLength(1);
      expect(auditMetrics().lastError).toContain(`disk full on ${framework.name}`);
    });
  });

  describe.each(modes)("when something else answered first, $name", (mode) => {
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown) => void rejections.push(reason);
    beforeEach(() => {
      rejections.length = 0;
      process.on("unhandledRejection", onRejection);
    });
    afterEach(() => void process.off("unhandledRejection", onRejection));

    it.each([
      ["refuses", async () => {
        await new Promise((resolve) => setTimeout(resolve, 150));
        return { allow: false as const, reason: "Too late no." };
      }, "denied"],
      ["fails", async () => {
        await new Promise((resolve) => setTimeout(resolve, 150));
        throw new Error("late failure");
      }, "failure"],
    ])("a hook that %s after the response was sent: the answer stands, nothing escapes, the refusal is recorded", async (_name, hook, outcome) => {
      app = await framework.start({ middleware: { requestEvents: mode.requestEvents }, access: hook, answerFirstMs: 30 });
      const response = await request(app.server).get("/guarded/10").set("x-request-id", "late-1");
      expect(response.status).toBe(503);
      await new Promise((resolve) => setTimeout(resolve, 300));
      const events = await recorded(store, mode.requestEvents ? 2 : 1);
      const refusals = events.filter((e) => e.content.reason !== undefined || e.content.error !== undefined);
      expect(refusals.map((e) => [e.action, e.outcome, e.objectId])).toEqual([["access.request", outcome, "late-1"]]);
      expect(rejections).toEqual([]);
    });
  });

  describe.each(modes)("bounds and masks, $name", (mode) => {
    it("stores and logs a failing hook's message masked", async () => {
      app = await framework.start({
        middleware: { requestEvents: mode.requestEvents },
        access: () => {
          throw new Error(
            `policy call failed: password=tok-leak-77 at https://u:pw-leak-88@policy.local/check?apiKey=key-leak-99 with Authorization: Bearer ${LEAKED_JWT}, body {"user":{"password":"json-leak-55"}}`,
          );
        },
      });
      await request(app.server).get("/guarded/11").expect(500);
      const events = await recorded(store);
      const stored = JSON.stringify(events);
      expect(events.map((e) => e.outcome)).toEqual(["failure"]);
      expect(String(events[0]!.content.error)).toContain("policy call failed");
      for (const secret of ["tok-leak-77", "pw-leak-88", "key-leak-99", LEAKED_JWT.split(".")[1]!, "json-leak-55"]) {
        expect(stored).not.toContain(secret);
        expect(logged.join("\n")).not.toContain(secret);
      }
    });

    it("caps a long refusal reason in the answer and the event", async () => {
      const reason = `Refused: ${"x".repeat(100_000)}`;
      app = await framework.start({ middleware: { requestEvents: mode.requestEvents }, access: () => ({ allow: false, reason }) });
      const response = await request(app.server).get("/guarded/12").expect(403);
      const told = (response.body as { error: string }).error;
      expect(told.length).toBeLessThanOrEqual(MAX_REASON_CHARS);
      expect(told).toMatch(CUT_MARKER);
      const [event] = await recorded(store);
      expect(event!.content.reason).toBe(told);
    });

    it("masks the stored reason as other content, and tells the client the reason as given", async () => {
      const reason = "Refused: the request carried password=hunter2-secret in its query.";
      app = await framework.start({ middleware: { requestEvents: mode.requestEvents }, access: () => ({ allow: false, reason }) });
      const response = await request(app.server).get("/guarded/14").expect(403);
      expect(response.body).toEqual({ error: reason });
      const [event] = await recorded(store);
      expect(String(event!.content.reason)).toContain("Refused: the request carried password=");
      expect(JSON.stringify(event)).not.toContain("hunter2-secret");
    });

    it("takes a hook that never answers as failed once hookTimeoutMs has passed", async () => {
      app = await framework.start({ middleware: { requestEvents: mode.requestEvents }, access: () => new Promise<never>(() => undefined), hookTimeoutMs: 80 });
      const response = await request(app.server).get("/guarded/13").timeout(3000);
      expect(response.status).toBe(500);
      expect(response.body).toEqual(ACCESS_FAILED_BODY);
      const events = await recorded(store);
      expect(events.map((e) => e.outcome)).toEqual(["failure"]);
      expect(String(events[0]!.content.error)).toMatch(/did not answer within 80 ms.*hookTimeoutMs/);
    });
  });

  it("records the refusal of a request the app marked skipped: a refusal is never dropped", async () => {
    app = await framework.start({ middleware: { requestEvents: true }, access: () => ({ allow: false, reason: "Quietly no." }), skipBeforeAccess: true });
    await request(app.server).get("/guarded/9").expect(403);
    const events = await recorded(store);
    expect(events.map((e) => [e.action, e.outcome, e.content.reason])).toEqual([["GET /guarded/:id", "denied", "Quietly no."]]);
  });
});

describe("access hook options", () => {
  it("are checked at creation, naming the fix", () => {
    for (const make of [auditAccess, koaAuditAccess] as ((o: unknown) => unknown)[]) {
      expect(() => make(undefined)).toThrow(AuditConfigError);
      expect(() => make({})).toThrow(/needs a request hook/);
      expect(() => make({ requets: () => true })).toThrow(/unknown option "requets".*request/);
      for (const hookTimeoutMs of [0, -1, 1.5, "100", 600_001]) expect(() => make({ request: () => true, hookTimeoutMs })).toThrow(/hookTimeoutMs must be a whole number of milliseconds from 1 to 600000/);
      expect(() => make({ request: () => true, hookTimeoutMs: 5 })).not.toThrow();
    }
  });
});

describe("a request-layer middleware given to the wrong framework", () => {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const express = require("express4") as typeof import("express");
  const Koa = require("koa") as typeof import("koa");
  const fastify = require("fastify") as typeof import("fastify");
  /* eslint-enable @typescript-eslint/no-require-imports */

  it.each([
    ["koaAuditEvents()", () => koaAuditEvents()],
    ["koaAuditAccess()", () => koaAuditAccess({ request: () => true })],
  ])("%s on Express fails the request with ERR_AUDIT_CONFIG naming the Express middleware", async (_name, make) => {
    configureAudit({ store: memoryStore() });
    const app = express();
    let caught: unknown;
    app.use(make() as unknown as import("express").RequestHandler);
    app.get("/", (_req, res) => void res.send("ran"));
    app.use((error: unknown, _req: unknown, res: import("express").Response, _next: unknown) => {
      caught = error;
      res.status(500).end();
    });
    await request(app).get("/").expect(500);
    expect(caught).toBeInstanceOf(AuditConfigError);
    expect((caught as Error).message).toMatch(/is Koa middleware.*On Express: app\.use\(auditEvents\(\)\)/);
  });

  it.each([
    ["auditEvents()", () => auditEvents()],
    ["auditAccess()", () => auditAccess({ request: () => true })],
  ])("%s on Koa fails the request with ERR_AUDIT_CONFIG naming the Koa middleware", async (_name, make) => {
    configureAudit({ store: memoryStore() });
    const app = new Koa();
    app.silent = true;
    let caught: unknown;
    app.use(async (ctx, next) => {
      try {
        await next();
      } catch (error) {
        caught = error;
        ctx.status = 500;
      }
    });
    app.use(make() as unknown as import("koa").Middleware);
    await request(app.callback()).get("/").expect(500);
    expect(caught).toBeInstanceOf(AuditConfigError);
    expect((caught as Error).message).toMatch(/is Express middleware.*on Koa: app\.use\(koaAuditEvents\(\)\)/);
  });

  it("fastify.register(fastifyAuditAccess(...)) is refused, naming the preHandler hook", async () => {
    const app = fastify();
    await expect(app.register(fastifyAuditAccess({ request: () => true }) as never).ready()).rejects.toThrow(/makes a preHandler hook, not a plugin: write fastify\.addHook\("preHandler"/);
    await app.close();
  });
});

describe("accessDecisionOf", () => {
  it("lets through exactly true, and refuses exactly { allow: false, reason }", () => {
    fc.assert(
      fc.property(fc.anything(), (answer) => {
        let read: ReturnType<typeof accessDecisionOf> | "threw";
        try {
          read = accessDecisionOf(answer, "hook");
        } catch (error) {
          expect(error).toBeInstanceOf(AuditConfigError);
          read = "threw";
        }
        if (answer === true) expect(read).toEqual({ allow: true });
        else expect(read === "threw" || read.allow === false).toBe(true);
      }),
    );
  });
});

describe("requestEventLevel", () => {
  it("maps every status to its outcome and severity", () => {
    fc.assert(
      fc.property(fc.integer({ min: 100, max: 599 }), fc.boolean(), (status, aborted) => {
        const { outcome, severity } = requestEventLevel(status, aborted);
        if (aborted) return expect({ outcome, severity }).toEqual({ outcome: "failure", severity: "warning" });
        expect(severity).toBe(status >= 500 ? "error" : status >= 400 ? "warning" : "info");
        expect(outcome).toBe(status >= 500 ? "failure" : status === 401 || status === 403 ? "denied" : "success");
      }),
    );
  });
});
