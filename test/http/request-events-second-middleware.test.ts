import http from "node:http";
import type ExpressType from "express";
import type KoaType from "koa";
import KoaRouter from "@koa/router";

import { auditAccess, auditEvents, configureAudit, koaAuditAccess, koaAuditEvents, memoryStore, skipRequestEvent, type MemoryStore } from "../../src";
import { listeningServer, statusOf, eventsSettled } from "../support/listening-server";

/* eslint-disable @typescript-eslint/no-require-imports */
const express4 = require("express4") as typeof ExpressType;
const express5 = require("express") as typeof ExpressType;
const Koa2 = require("koa2") as typeof KoaType;
const Koa3 = require("koa") as typeof KoaType;

const refuse = () => ({ allow: false as const, reason: "Admins only." });

/**
 * Apps with a `requestEvents` middleware at the root and a second one on the way to
 * `/admin/*` (an Express router, a later Koa middleware), as a router or sub-application
 * that brings its own does: `/admin/users/:id` answers, `/admin/quiet` marks itself
 * skipped through the later context, `/admin/guarded` is refused by an access hook.
 */
const apps: [string, () => http.Server][] = [
  ...([["Express 4", express4], ["Express 5", express5]] as const).map(([name, express]): [string, () => http.Server] => [
    name,
    () => {
      const app = express();
      app.use(auditEvents({ requestEvents: true }));
      const admin = express.Router();
      admin.use(auditEvents({ requestEvents: true }));
      admin.get("/users/:id", (req, res) => void res.json({ id: req.params.id }));
      admin.get("/quiet", (_req, res) => {
        skipRequestEvent();
        res.json({ ok: true });
      });
      admin.get("/guarded", auditAccess({ request: refuse }), (_req, res) => void res.json({ handled: true }));
      app.use("/admin", admin);
      return http.createServer(app);
    },
  ]),
  ...([["Koa 2", Koa2], ["Koa 3", Koa3]] as const).map(([name, Koa]): [string, () => http.Server] => [
    name,
    () => {
      const app = new Koa();
      app.silent = true;
      app.use(koaAuditEvents({ requestEvents: true }));
      app.use(koaAuditEvents({ requestEvents: true }));
      const admin = new KoaRouter({ prefix: "/admin" });
      admin.get("/users/:id", (ctx) => void (ctx.body = { id: ctx.params.id }));
      admin.get("/quiet", (ctx) => {
        skipRequestEvent();
        ctx.body = { ok: true };
      });
      admin.get("/guarded", koaAuditAccess({ request: refuse }) as KoaType.Middleware, (ctx) => void (ctx.body = { handled: true }));
      app.use(admin.routes());
      return http.createServer(app.callback());
    },
  ]),
];

describe.each(apps)("requestEvents on %s, with a second requestEvents middleware on the request's way", (_name, create) => {
  let store: MemoryStore;
  const server = listeningServer(create);
  beforeEach(() => {
    store = memoryStore();
    configureAudit({ store });
  });
  const get = (path: string, id: string) => statusOf(server(), { path, headers: { "x-request-id": id } });

  it("records each request once: a skip and a refusal made through the later context count", async () => {
    expect([await get("/admin/users/4", "answered"), await get("/admin/quiet", "quiet"), await get("/admin/guarded", "refused")]).toEqual([200, 200, 403]);
    await eventsSettled(store, 2);
    expect(store.list().map((e) => [e.requestId, e.action, e.outcome, e.content.status, e.content.reason])).toEqual([
      ["answered", "GET /admin/users/:id", "success", 200, undefined],
      ["refused", "GET /admin/guarded", "denied", 403, "Admins only."],
    ]);
  });
});
