import http from "node:http";
import type FastifyType from "fastify";

import { configureAudit, fastifyAuditEvents, memoryStore, type MemoryStore } from "../../src";
import { listeningServer, statusOf, eventsSettled } from "../support/listening-server";

/* eslint-disable @typescript-eslint/no-require-imports */
const fastify4 = require("fastify4") as typeof FastifyType;
const fastify5 = require("fastify") as typeof FastifyType;

/**
 * An app whose `onRequest` hook, added before the plugin, is done with three routes
 * before the plugin's hook runs: it answers `/health` (a skip path) itself, fails on
 * `/orders/:id/fail` (Fastify's error handler answers 500), and hijacks the reply of
 * `/orders/:id/raw`, writing it on the raw response.
 */
async function start(fastify: typeof FastifyType): Promise<http.Server> {
  const app = fastify();
  app.addHook("onRequest", (request, reply, done) => {
    const route = request.routeOptions.url;
    if (route === "/health") return void reply.send({ early: true });
    if (route === "/orders/:id/fail") return done(new Error("refused early"));
    if (route === "/orders/:id/raw") {
      reply.hijack();
      reply.raw.writeHead(202, { "content-type": "text/plain" }).end("raw");
      return;
    }
    done();
  });
  await app.register(fastifyAuditEvents, { requestEvents: { skipPaths: ["/health"] } });
  for (const path of ["/health", "/orders/:id/fail", "/orders/:id/raw"]) app.get(path, async () => ({ handled: true }));
  await app.ready();
  return app.server;
}

describe.each([
  ["Fastify 4", fastify4],
  ["Fastify 5", fastify5],
] as const)("requestEvents on %s, for a request an onRequest hook added before the plugin was done with", (_name, fastify) => {
  let store: MemoryStore;
  const server = listeningServer(() => {
    // The plugin warns of the hook added before it, as it should.
    configureAudit({ logger: { warn: () => undefined } });
    return start(fastify);
  });
  beforeEach(() => {
    store = memoryStore();
    configureAudit({ store, logger: { warn: () => undefined } });
  });
  const get = (path: string, id: string) => statusOf(server(), { path, headers: { "x-request-id": id } });

  it("records a failed or hijacked one once, by its route, and a skipped route's not at all", async () => {
    expect([await get("/health", "skipped"), await get("/orders/1/fail", "failed"), await get("/orders/2/raw", "hijacked")]).toEqual([200, 500, 202]);
    // Time for an event of the skipped request, or a second one, if one were coming.
    await eventsSettled(store, 2);
    expect(store.list().map((e) => [e.requestId, e.action, e.outcome, e.content.status, e.content.aborted])).toEqual([
      ["failed", "GET /orders/:id/fail", "failure", 500, undefined],
      ["hijacked", "GET /orders/:id/raw", "success", 202, undefined],
    ]);
  });
});
