import http from "node:http";

import express from "express";
import Koa from "koa";
import request from "supertest";

import { auditRouter, koaAuditRouter, memoryStore, prismaStore, type AuditEventRecord, type AuditStore } from "../../src";
import { connectClient, openDatabase, type TestDatabase } from "../support/databases";
import { insertAll, manyEvents } from "../support/read-fixtures";
import { startTcpProxy, throughProxy, type TcpProxy } from "../support/tcp-proxy";

/* eslint-disable @typescript-eslint/no-require-imports */
const express4 = require("express4") as typeof express;
const Koa2 = require("koa2") as typeof Koa;

/**
 * The README promises that a store failure (database down) "goes to the app's error
 * handling, as any other error". Every route of both routers is asked with the database
 * cut off, on Express 4/5 and Koa 2/3 with the app's own error handler, which answers
 * 503 with its own body: exports included, whose headers and first bytes must not go out
 * before the store has answered its first read.
 */
const APP_ERROR = { error: "the audit trail is unavailable, try again later" };

const ROUTES = [
  "/audit/events",
  "/audit/events?userId=u1&limit=5",
  "/audit/events/summary",
  "/audit/events/0b7c5d39-5c1e-4f0e-9a53-0c7a0c2d8e11",
  "/audit/events/export",
  "/audit/events/export?format=ndjson",
  "/audit/events/export?format=csv",
  "/audit/events/export?format=json",
  "/audit/events/export?format=cloudevents",
] as const;

type AppMaker = (store: AuditStore) => http.Server;

function expressApp(make: typeof express): AppMaker {
  return (store) => {
    const app = make();
    app.use("/audit", auditRouter({ store, authorize: () => true }));
    app.use((_error: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      res.status(503).json(APP_ERROR);
    });
    return http.createServer(app);
  };
}

function koaApp(Make: typeof Koa): AppMaker {
  return (store) => {
    const app = new Make();
    app.silent = true;
    app.use(async (ctx, next) => {
      try {
        await next();
      } catch {
        ctx.status = 503;
        ctx.body = APP_ERROR;
      }
    });
    app.use(koaAuditRouter({ prefix: "/audit", store, authorize: () => true }));
    return http.createServer(app.callback());
  };
}

const FRAMEWORKS: Array<[string, AppMaker]> = [
  ["Express 5", expressApp(express)],
  ["Express 4", expressApp(express4)],
  ["Koa 3", koaApp(Koa)],
  ["Koa 2", koaApp(Koa2)],
];

describe.each(["postgresql", "mysql"] as const)("the audit routers with %s cut off", (provider) => {
  let db: TestDatabase<"postgresql" | "mysql">;
  let proxy: TcpProxy;
  let client: { $disconnect(): Promise<void> } | undefined;
  let store: AuditStore;

  beforeAll(async () => {
    db = await openDatabase(provider);
    const { hostname, port } = new URL(db.url);
    proxy = await startTcpProxy({ host: hostname, port: Number(port) });
    // The mariadb driver waits 10 s for a connection by default; the outage is the same after 1 s.
    const cutOff = connectClient({ provider, url: throughProxy(db.url, proxy) }, provider === "mysql" ? { acquireTimeout: 1_000 } : {});
    client = cutOff;
    store = prismaStore(cutOff);
    await insertAll(prismaStore(db.prisma), manyEvents(30, 3));
  });

  afterAll(async () => {
    await client?.$disconnect();
    await proxy?.close();
    await db?.close();
  });

  it("answers every route while the database answers", async () => {
    const server = FRAMEWORKS[0]![1](store);
    for (const route of ROUTES) {
      const answer = await request(server).get(route);
      expect([route, answer.status]).toEqual([route, route.includes("0b7c5d39") ? 404 : 200]);
    }
  });

  describe.each(FRAMEWORKS)("on %s", (_name, makeApp) => {
    beforeAll(() => proxy.cut());
    afterAll(() => proxy.restore());

    it.each(ROUTES)("leaves GET %s to the app's error handling", async (route) => {
      const answer = await request(makeApp(store)).get(route);
      expect({ status: answer.status, body: answer.body, type: answer.headers["content-type"] }).toEqual({
        status: 503,
        body: APP_ERROR,
        type: "application/json; charset=utf-8",
      });
      expect(answer.headers["x-content-type-options"]).toBe("nosniff");
      expect(answer.headers["content-disposition"]).toBeUndefined();
    });
  });
});

/**
 * A store that answers its first `reads` page reads, then fails: what a database that goes
 * away during a long export looks like, once the answer has begun.
 */
function failingAfter(reads: number, inner: AuditStore): AuditStore {
  let left = reads;
  const fail = () => {
    if (left-- <= 0) throw new Error("the database went away");
  };
  return {
    ...inner,
    queryEvents: async (...args: Parameters<AuditStore["queryEvents"]>) => (fail(), inner.queryEvents(...args)),
    queryEventsAsJson: undefined,
  } as AuditStore;
}

describe.each(FRAMEWORKS)("an export on %s whose store fails after its first page", (_name, makeApp) => {
  const inner = memoryStore();
  const events: AuditEventRecord[] = manyEvents(12_000, 10);

  beforeAll(() => insertAll(inner, events));

  it.each(["ndjson", "csv", "json", "cloudevents"])("is cut, so the client sees it incomplete (%s)", async (format) => {
    const server = makeApp(failingAfter(1, inner));
    const answer = request(server).get(`/audit/events/export?format=${format}`);
    await expect(answer).rejects.toThrow(/aborted|socket hang up|ECONNRESET/);
  });
});
