import http from "node:http";

import express from "express";
import Koa from "koa";
import request from "supertest";

import { auditRouter, koaAuditRouter, memoryStore } from "../../src";

/* eslint-disable @typescript-eslint/no-require-imports */
const express4 = require("express4") as typeof express;
const Koa2 = require("koa2") as typeof Koa;

/**
 * README: "a refused request gets 403 and is itself recorded as an event ... with the
 * request's user and IP". An app whose authentication leaves a user object without an
 * `id` (e.g. { email, role }) and that does not mount auditEvents() (as the README's
 * Tenancy example does not).
 */
describe.each([
  ["Express 5", express],
  ["Express 4", express4],
] as const)("denial with a user object that has no id, %s", (_n, make) => {
  it("answers 403 and records the denial", async () => {
    const store = memoryStore();
    const app = make();
    app.use((req, _res, next) => {
      (req as unknown as { user: unknown }).user = { email: "mallory@example.com", role: "clerk" };
      next();
    });
    app.use("/audit", auditRouter({ store, authorize: () => false }));
    app.use((error: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => void res.status(500).json({ error: error.message }));
    const answer = await request(http.createServer(app)).get("/audit/events");
    expect({ status: answer.status, body: answer.body }).toEqual({ status: 403, body: { error: expect.stringContaining("not allowed") } });
    expect(store.list()).toHaveLength(1);
    expect(store.list()[0]).toMatchObject({ action: "audit.read", outcome: "denied", userId: null, content: { userUnresolved: true } });
  });
});

describe.each([
  ["Koa 3", Koa],
  ["Koa 2", Koa2],
] as const)("denial with a user object that has no id, %s", (_n, Make) => {
  it("answers 403 and records the denial", async () => {
    const store = memoryStore();
    const app = new Make();
    app.silent = true;
    app.use(async (ctx, next) => {
      ctx.state.user = { email: "mallory@example.com", role: "clerk" };
      await next();
    });
    app.use(koaAuditRouter({ prefix: "/audit", store, authorize: () => false }));
    const answer = await request(http.createServer(app.callback())).get("/audit/events");
    expect(answer.status).toBe(403);
    expect(store.list()).toHaveLength(1);
    expect(store.list()[0]).toMatchObject({ action: "audit.read", outcome: "denied", userId: null, content: { userUnresolved: true } });
  });
});
