import http from "node:http";
import type ExpressType from "express";
import type FastifyType from "fastify";

import { auditEvents, configureAudit, fastifyAuditEvents, memoryStore, type MemoryStore } from "../../src";
import { listeningServer, statusOf, eventsSettled } from "../support/listening-server";

/* eslint-disable @typescript-eslint/no-require-imports */
const express4 = require("express4") as typeof ExpressType;
const express5 = require("express") as typeof ExpressType;
const fastify4 = require("fastify4") as typeof FastifyType;
const fastify5 = require("fastify") as typeof FastifyType;

/**
 * Apps whose `GET /answered-then-failed` answers 200 and then, the response sent, sets
 * its status to 500: on Express, the handler calls `next(error)` and the error handler
 * runs `res.status(500).json(...)` (which throws, the head being sent); on Fastify, the
 * handler calls `reply.code(500)` after `reply.send()`.
 */
const apps: [string, () => Promise<http.Server>][] = [
  ...([["Express 4", express4], ["Express 5", express5]] as const).map(([name, express]): [string, () => Promise<http.Server>] => [
    name,
    async () => {
      const app = express();
      app.use(auditEvents({ requestEvents: true }));
      app.get("/answered-then-failed", (_req, res, next) => {
        res.json({ ok: true });
        next(new Error("after the answer"));
      });
      app.use((error: Error, _req: ExpressType.Request, res: ExpressType.Response, _next: ExpressType.NextFunction) => {
        try {
          res.status(500).json({ error: error.message });
        } catch {
          // The head is sent: nothing more reaches the client.
        }
      });
      return http.createServer(app);
    },
  ]),
  ...([["Fastify 4", fastify4], ["Fastify 5", fastify5]] as const).map(([name, fastify]): [string, () => Promise<http.Server>] => [
    name,
    async () => {
      const app = fastify();
      await app.register(fastifyAuditEvents, { requestEvents: true });
      app.get("/answered-then-failed", (_req, reply) => {
        void reply.send({ ok: true });
        void reply.code(500);
      });
      await app.ready();
      return app.server;
    },
  ]),
];

describe.each(apps)("requestEvents on %s, for a response whose status is changed after it was sent", (_name, create) => {
  let store: MemoryStore;
  const server = listeningServer(create);
  beforeEach(() => {
    store = memoryStore();
    configureAudit({ store });
  });

  it("records the status the client got", async () => {
    expect(await statusOf(server(), { path: "/answered-then-failed" })).toBe(200);
    await eventsSettled(store, 1);
    expect(store.list().map((e) => [e.action, e.outcome, e.content.status])).toEqual([["GET /answered-then-failed", "success", 200]]);
  });
});
