import http from "node:http";

import express from "express";
import Koa from "koa";
import request from "supertest";
import { v7 as uuidv7 } from "uuid";

import { auditRouter, koaAuditRouter, memoryStore, type AuditEventRecord, type AuditStore } from "../../src";

/* eslint-disable @typescript-eslint/no-require-imports */
const express4 = require("express4") as typeof express;
const Koa2 = require("koa2") as typeof Koa;

/**
 * An app that serves "my own events" by rewriting the request's URL to the router's
 * list route with a userId filter (Express: `req.url = ...`; Koa: `ctx.url = ...`), the
 * usual way to reuse a mounted handler. The router picks its route from the rewritten URL
 * (req.url / ctx.path) but reads its filters from the original one (originalUrl), so the
 * filter the app added is silently dropped and every user's events are answered.
 */
function events(): AuditEventRecord[] {
  return ["alice", "bob", "carol"].map((userId, i) => ({
    id: uuidv7(), timestamp: new Date(Date.UTC(2026, 4, 1, i)), contentType: "Order", objectId: String(i), content: {}, userId,
    url: null, method: null, remoteAddr: null, queryParams: {}, postData: {}, headers: {},
    action: null, outcome: "success", severity: "info", tenantId: null, requestId: null, chainId: null, seq: null, prevHash: null, hash: null,
  })) as unknown as AuditEventRecord[];
}

async function filled(): Promise<AuditStore> {
  const store = memoryStore();
  await store.insert(events(), { context: undefined as never });
  return store;
}

describe.each([
  ["Express 5", express],
  ["Express 4", express4],
] as const)("%s: a handler that rewrites req.url to the router's list route", (_n, make) => {
  it("answers the rewritten query (alice's events only)", async () => {
    const router = auditRouter({ store: await filled(), authorize: () => true });
    const app = make();
    app.get("/me/audit", (req, res, next) => {
      const me = "alice"; // the signed-in user
      req.url = `/events?userId=${me}`;
      void router(req, res, next);
    });
    const answer = await request(http.createServer(app)).get("/me/audit");
    expect(answer.status).toBe(200);
    expect((answer.body.events as AuditEventRecord[]).map((e) => e.userId)).toEqual(["alice"]);
  });
});

describe.each([
  ["Koa 3", Koa],
  ["Koa 2", Koa2],
] as const)("%s: a middleware that rewrites ctx.url to the router's list route", (_n, Make) => {
  it("answers the rewritten query (alice's events only)", async () => {
    const app = new Make();
    app.silent = true;
    app.use(async (ctx, next) => {
      if (ctx.path === "/me/audit") ctx.url = "/audit/events?userId=alice";
      await next();
    });
    app.use(koaAuditRouter({ prefix: "/audit", store: await filled(), authorize: () => true }));
    const answer = await request(http.createServer(app.callback())).get("/me/audit");
    expect(answer.status).toBe(200);
    expect((answer.body.events as AuditEventRecord[]).map((e) => e.userId)).toEqual(["alice"]);
  });
});
