import http from "node:http";
import type ExpressType from "express";
import type FastifyType from "fastify";
import type KoaType from "koa";
import request from "supertest";

import {
  auditEvents,
  configureAudit,
  currentAuditContext,
  fastifyAuditEvents,
  koaAuditEvents,
  MASK,
  memoryStore,
  type AuditEventRecord,
  type AuditOptions,
  type MemoryStore,
} from "../../src";

/* eslint-disable @typescript-eslint/no-require-imports */
const express4 = require("express4") as typeof ExpressType;
const express5 = require("express") as typeof ExpressType;
const Koa2 = require("koa2") as typeof KoaType;
const Koa3 = require("koa") as typeof KoaType;
const fastify4 = require("fastify4") as typeof FastifyType;
const fastify5 = require("fastify") as typeof FastifyType;

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const TRACEPARENT = `00-${TRACE_ID}-00f067aa0ba902b7-01`;

/** What the test route answers: the request id it echoes, and the events it wrote. */
interface Answer {
  requestId: string;
  records: AuditEventRecord[];
}

const sleep = () => new Promise((resolve) => setTimeout(resolve, Math.random() * 5));

/**
 * The route's work: four events of one request, written four ways with async hops
 * between them, through `currentAuditContext()`.
 */
async function work(given: string | undefined): Promise<Answer> {
  const marker = given || "m";
  const ctx = currentAuditContext();
  const first = await ctx.createEvent({ contentType: "Order", objectId: marker }, { marker }, { action: "order.view" });
  await sleep();
  const batch = await ctx.createEvents([
    { contentObject: { contentType: "Order", objectId: marker }, content: { marker }, action: "order.pay" },
    { contentObject: { contentType: "Invoice", objectId: marker }, content: { marker }, action: "invoice.create" },
  ]);
  await sleep();
  const draft = ctx.newEvent({ contentType: "Order", objectId: marker });
  draft.content = { marker };
  const last = await draft.save({ action: "order.ship" });
  return { requestId: ctx.requestId!, records: [first, ...batch, last] };
}

type Start = (options?: Partial<AuditOptions>) => http.Server;

function expressApp(express: typeof ExpressType): Start {
  return (options) => {
    const app = express();
    app.use(auditEvents(options));
    app.get("/work", async (req, res) => {
      try {
        const answer = await work(req.get("x-marker"));
        res.set("x-request-id", req.auditContext.requestId ?? "").json(answer);
      } catch (error) {
        res.status(500).json({ code: (error as { code?: string }).code, error: (error as Error).message });
      }
    });
    return http.createServer(app);
  };
}

function koaApp(Koa: typeof KoaType): Start {
  return (options) => {
    const app = new Koa();
    app.use(koaAuditEvents(options));
    app.use(async (ctx) => {
      try {
        const answer = await work(ctx.get("x-marker"));
        ctx.set("x-request-id", ctx.auditContext.requestId ?? "");
        ctx.body = answer;
      } catch (error) {
        ctx.status = 500;
        ctx.body = { code: (error as { code?: string }).code, error: (error as Error).message };
      }
    });
    return http.createServer(app.callback());
  };
}

function fastifyApp(Fastify: typeof FastifyType): Start {
  return (options) => {
    const app = Fastify();
    app.register(fastifyAuditEvents, options ?? {});
    app.get("/work", async (request, reply) => {
      try {
        const answer = await work(request.headers["x-marker"] as string | undefined);
        reply.header("x-request-id", request.auditContext.requestId ?? "");
        return answer;
      } catch (error) {
        return reply.code(500).send({ code: (error as { code?: string }).code, error: (error as Error).message });
      }
    });
    // A plain server, as the other apps give, that answers once Fastify has loaded its plugins.
    const ready = app.ready();
    return http.createServer((req, res) => void ready.then(() => app.routing(req, res)));
  };
}

const apps: [string, Start][] = [
  ["Express 4", expressApp(express4)],
  ["Express 5", expressApp(express5)],
  ["Koa 2", koaApp(Koa2)],
  ["Koa 3", koaApp(Koa3)],
  ["Fastify 4", fastifyApp(fastify4)],
  ["Fastify 5", fastifyApp(fastify5)],
];

/** The request's tenant, as an app's own auth would know it: here a header, read through Express's req, Koa's ctx or Fastify's request. */
const tenantFromHeader = (req: { headers: http.IncomingHttpHeaders }) => (req.headers["x-tenant"] as string | undefined) ?? null;

let store: MemoryStore;
beforeEach(() => {
  store = memoryStore();
  configureAudit({ store });
});
afterEach(() => configureAudit({}));

describe.each(apps)("request ids on %s", (_name, start) => {
  /** Every event of a request carries the id the route answered, and the store holds them all. */
  function expectOneId(answer: Answer): string {
    const ids = new Set(answer.records.map((r) => r.requestId));
    expect([...ids]).toEqual([answer.requestId]);
    const stored = store.list().filter((r) => answer.records.some((a) => a.id === r.id));
    expect(stored.map((r) => r.requestId)).toEqual(answer.records.map(() => answer.requestId));
    return answer.requestId;
  }

  it("gives every event of one request the same new UUID v7, and 200 concurrent requests 200 different ones", async () => {
    const server = start();
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) => request(server).get("/work").set("x-marker", String(i)).expect(200)),
    );
    const ids = answers.map((res, i) => {
      const body = res.body as Answer;
      expect(body.records.every((r) => (r.content as { marker: string }).marker === String(i))).toBe(true);
      expect(res.headers["x-request-id"]).toBe(body.requestId);
      return expectOneId(body);
    });
    expect(ids.every((id) => UUID_V7.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(200);
    expect(store.list()).toHaveLength(800);
  });

  it("takes x-request-id when it is there, before a traceparent", async () => {
    const res = await request(start()).get("/work").set("x-request-id", "edge-7f3a;pod=2").set("traceparent", TRACEPARENT).expect(200);
    expect(expectOneId(res.body)).toBe("edge-7f3a;pod=2");
  });

  it("takes the header requestIdHeader names instead (any case), and then ignores x-request-id", async () => {
    const server = start({ requestIdHeader: "X-Correlation-Id" });
    const named = await request(server).get("/work").set("x-correlation-id", "corr-1").set("x-request-id", "other").expect(200);
    expect(expectOneId(named.body)).toBe("corr-1");
    const unnamed = await request(server).get("/work").set("x-request-id", "other").expect(200);
    expect(expectOneId(unnamed.body)).toMatch(UUID_V7);
  });

  it("takes the trace id of a valid W3C traceparent when no request id header is there", async () => {
    const res = await request(start()).get("/work").set("traceparent", TRACEPARENT).expect(200);
    expect(expectOneId(res.body)).toBe(TRACE_ID);
  });

  it("reads a later traceparent version by version 00's layout, extra fields and all", async () => {
    for (const traceparent of [`01-${TRACE_ID}-00f067aa0ba902b7-01`, `cc-${TRACE_ID}-00f067aa0ba902b7-01-what-the-future-adds`]) {
      const res = await request(start()).get("/work").set("traceparent", traceparent).expect(200);
      expect({ traceparent, id: expectOneId(res.body) }).toEqual({ traceparent, id: TRACE_ID });
    }
  });

  it("ignores an invalid traceparent and makes a new id", async () => {
    const invalid = [
      `ff-${TRACE_ID}-00f067aa0ba902b7-01`, // version ff is invalid
      `00-${TRACE_ID.toUpperCase()}-00f067aa0ba902b7-01`, // upper-case hex
      `00-${"0".repeat(32)}-00f067aa0ba902b7-01`, // all-zero trace id
      `00-${TRACE_ID}-${"0".repeat(16)}-01`, // all-zero parent id
      `00-${TRACE_ID.slice(1)}-00f067aa0ba902b7-01`, // short
      `00-${TRACE_ID}-00f067aa0ba902b7-01-extra`,
      "garbage",
    ];
    for (const traceparent of invalid) {
      const res = await request(start()).get("/work").set("traceparent", traceparent).expect(200);
      expect({ traceparent, id: expectOneId(res.body) }).toEqual({ traceparent, id: expect.stringMatching(UUID_V7) });
    }
  });

  it("never stores a hostile request id: spaces and tabs, 10 000 characters, non-ASCII bytes give a new id", async () => {
    const hostile = ["a\tb", "evil id", "x".repeat(10_000), "x".repeat(192), Buffer.from("ünïcode‮", "utf8").toString("latin1"), "\u00e9t\u00e9"];
    for (const id of hostile) {
      const res = await request(start()).get("/work").set("x-request-id", id).set("traceparent", TRACEPARENT).expect(200);
      // The traceparent is the next source; the hostile header is gone either way.
      expect(expectOneId(res.body)).toBe(TRACE_ID);
    }
    const longest = "y".repeat(191);
    const res = await request(start()).get("/work").set("x-request-id", longest).expect(200);
    expect(expectOneId(res.body)).toBe(longest);
  });
});

describe.each(apps)("tenantResolver on %s", (_name, start) => {
  it("gives each request's events its own tenant, never another's, over 200 concurrent requests of two tenants", async () => {
    const server = start({ tenantResolver: tenantFromHeader });
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) => {
        const tenant = i % 2 === 0 ? "tenant-a" : "tenant-b";
        return request(server).get("/work").set("x-tenant", tenant).set("x-marker", `${tenant}:${i}`).expect(200);
      }),
    );
    for (const [i, res] of answers.entries()) {
      const tenant = i % 2 === 0 ? "tenant-a" : "tenant-b";
      expect((res.body as Answer).records.map((r) => r.tenantId)).toEqual([tenant, tenant, tenant, tenant]);
    }
    const stored = store.list();
    expect(stored).toHaveLength(800);
    expect(stored.every((r) => (r.content as { marker: string }).marker.startsWith(`${r.tenantId}:`))).toBe(true);
  });

  it("is configured process-wide too, and a request without a tenant stores null", async () => {
    configureAudit({ store, tenantResolver: tenantFromHeader });
    const server = start();
    const withTenant = await request(server).get("/work").set("x-tenant", "acme\u00e9").expect(200);
    expect((withTenant.body as Answer).records[0]!.tenantId).toBe("acme\u00e9");
    const without = await request(server).get("/work").expect(200);
    expect((without.body as Answer).records[0]!.tenantId).toBeNull();
  });

  it("refuses a tenant id it would have to cut or clean up (ERR_AUDIT_RESOLVER), writing nothing", async () => {
    const refused: Array<[string, string]> = [["t".repeat(5_000), "longer than 191"], ["acme ", "ends with a space"], ["ac\u0001me", "control or format"], ["ac\u202eme", "control or format"]];
    for (const [tenant, problem] of refused) {
      const res = await request(start({ tenantResolver: () => tenant })).get("/work").expect(500);
      expect(res.body).toMatchObject({ code: "ERR_AUDIT_RESOLVER", error: expect.stringContaining(problem) });
    }
    expect(store.list()).toEqual([]);
  });

  it("answers ERR_AUDIT_RESOLVER, writing nothing, when the resolver throws or returns no id", async () => {
    const throwing = await request(start({ tenantResolver: () => { throw new Error("no org"); } })).get("/work").expect(500);
    expect(throwing.body).toMatchObject({ code: "ERR_AUDIT_RESOLVER", error: expect.stringContaining("tenantResolver option threw: no org") });
    const object = await request(start({ tenantResolver: () => ({ id: 1 }) as never })).get("/work").expect(500);
    expect(object.body).toMatchObject({ code: "ERR_AUDIT_RESOLVER", error: expect.stringContaining("returned an object") });
    expect(store.list()).toEqual([]);
  });
});

describe.each(apps)("enrichers on %s", (_name, start) => {
  it("see the request's id and tenant, and what they add is masked", async () => {
    const server = start({
      tenantResolver: tenantFromHeader,
      enrichers: [(event) => ({ apiKey: "sk-live-1", seenRequest: event.requestId, seenTenant: event.tenantId })],
    });
    const res = await request(server).get("/work").set("x-tenant", "acme").set("x-request-id", "r-77").expect(200);
    for (const record of (res.body as Answer).records) {
      expect(record.content).toMatchObject({ apiKey: MASK, seenRequest: "r-77", seenTenant: "acme" });
    }
    expect(JSON.stringify(store.list())).not.toContain("sk-live-1");
  });
});
