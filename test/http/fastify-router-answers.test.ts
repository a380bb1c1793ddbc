import http from "node:http";
import type FastifyType from "fastify";

import { configureAudit, fastifyAuditEvents, memoryStore, type MemoryStore } from "../../src";
import { listeningServer, statusOf, eventsSettled } from "../support/listening-server";

/* eslint-disable @typescript-eslint/no-require-imports */
const fastify4 = require("fastify4") as typeof FastifyType;
const fastify5 = require("fastify") as typeof FastifyType;

/**
 * What each request asks and how Fastify 4 and 5 answer it: the first two from the
 * router, before any hook; the last two within the server's request listener, every hook
 * and the handler being synchronous (Fastify 4 routes `/health;x` to `/health`, a skip
 * path; Fastify 5 answers it 404).
 */
const CASES = [
  { id: "bad-url", path: "/orders/%E0%A4?token=t0k-1", answered: { 4: 400, 5: 400 } },
  { id: "long-param", path: `/orders/${"x".repeat(30)}`, answered: { 4: 404, 5: 414 } },
  { id: "skipped-bad-url", path: "/status/%E0", answered: { 4: 400, 5: 400 } },
  { id: "answered-at-once", path: "/quick", answered: { 4: 200, 5: 200 } },
  { id: "skipped-route", path: "/health;x", answered: { 4: 200, 5: 404 } },
] as const;

describe.each([
  ["Fastify 4", fastify4, 4],
  ["Fastify 5", fastify5, 5],
] as const)("requestEvents on %s, for a request its router answers before any hook", (_name, fastify, major) => {
  let store: MemoryStore;
  const server = listeningServer(async () => {
    configureAudit({});
    const app = major === 5 ? fastify({ routerOptions: { maxParamLength: 20 } }) : fastify({ maxParamLength: 20 });
    await app.register(fastifyAuditEvents, { requestEvents: { skipPaths: ["/health", /^\/status\//] } });
    app.get("/orders/:id", async () => ({ ok: true }));
    // Answered within the server's request listener: every hook and the handler synchronous.
    app.get("/quick", (_req, reply) => void reply.send("ok"));
    app.get("/health", (_req, reply) => void reply.send("ok"));
    await app.ready();
    return app.server as http.Server;
  });
  beforeEach(() => {
    store = memoryStore();
    configureAudit({ store });
  });
  const get = (path: string, id: string) => statusOf(server(), { path, headers: { "x-request-id": id } });

  it("records it once, unmatched and with its masked URL, unless its path is skipped; a routed one as before", async () => {
    const statuses = [];
    for (const { id, path } of CASES) statuses.push(await get(path, id));
    expect(statuses).toEqual(CASES.map((c) => c.answered[major]));
    // Time for an event of a skipped request, or a second one, if one were coming.
    await eventsSettled(store, major === 5 ? 4 : 3);
    expect(store.list().map((e) => [e.requestId, e.action, e.content.status])).toEqual([
      ["bad-url", "GET (unmatched)", 400],
      ["long-param", "GET (unmatched)", major === 5 ? 414 : 404],
      ["answered-at-once", "GET /quick", 200],
      ...(major === 5 ? [["skipped-route", "GET (unmatched)", 404]] : []),
    ]);
    expect(store.list()[0]!.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/orders\/%E0%A4\?token=/);
    expect(JSON.stringify(store.list())).not.toContain("t0k-1");
  });
});

describe("requestEvents on Fastify 5, with a constraint derived asynchronously", () => {
  it("leaves a request routed after the server's request listener returned to the plugin's hook: one event, by its route", async () => {
    const store = memoryStore();
    configureAudit({ store });
    const handlers = new Map<unknown, unknown>();
    // Fastify routes every request of such an app once the server's request listener has returned.
    const tenant = {
      name: "tenant",
      storage: () => ({ get: (value: unknown) => handlers.get(value) ?? null, set: (value: unknown, store: unknown) => void handlers.set(value, store) }),
      deriveConstraint: (req: http.IncomingMessage, _ctx: unknown, done: (error: Error | null, value?: unknown) => void) => void setImmediate(() => done(null, req.headers["x-tenant"])),
      mustMatchWhenDerived: false,
      validate() {},
    };
    const app = fastify5({ routerOptions: { constraints: { tenant } as never } });
    await app.register(fastifyAuditEvents, { requestEvents: true });
    app.get("/tenant", { constraints: { tenant: "a" } }, async () => ({ ok: true }));
    await app.listen({ port: 0, host: "127.0.0.1" });
    try {
      expect(await statusOf(app.server, { path: "/tenant", headers: { "x-request-id": "routed-later", "x-tenant": "a" } })).toBe(200);
      await eventsSettled(store, 1);
      expect(store.list().map((e) => [e.requestId, e.action])).toEqual([["routed-later", "GET /tenant"]]);
    } finally {
      await app.close();
    }
  });
});
