import http from "node:http";

import express from "express";
import Koa from "koa";

import { auditRouter, koaAuditRouter, memoryStore, type AuditStore } from "../../src";
import { insertAll, manyEvents } from "../support/read-fixtures";

/* eslint-disable @typescript-eslint/no-require-imports */
const express4 = require("express4") as typeof express;
const Koa2 = require("koa2") as typeof Koa;

function slow(inner: AuditStore, firstDelay: number) {
  const stats = { reads: 0 };
  const store: AuditStore = {
    ...inner,
    name: "slow",
    queryEvents: async (f, p) => {
      stats.reads++;
      await new Promise((r) => setTimeout(r, stats.reads === 1 ? firstDelay : 5));
      return inner.queryEvents(f, p);
    },
    countEvents: (f) => inner.countEvents(f),
    summarizeEvents: (f) => inner.summarizeEvents(f),
    getEvent: (id) => inner.getEvent(id),
    getArchivedEvent: (id) => inner.getArchivedEvent(id),
  };
  return { store, stats };
}

const appErrors: unknown[] = [];
const apps: Array<[string, (store: AuditStore) => http.Server]> = [
  ["Express 5", (store) => http.createServer(express().use("/audit", auditRouter({ store, authorize: () => true })).use((e: unknown, _q: unknown, res: express.Response, _n: unknown) => { appErrors.push(e); res.status(500).end(); }))],
  ["Express 4", (store) => http.createServer(express4().use("/audit", auditRouter({ store, authorize: () => true })).use((e: unknown, _q: unknown, res: express.Response, _n: unknown) => { appErrors.push(e); res.status(500).end(); }))],
  ["Koa 3", (store) => { const a = new Koa(); a.on("error", (e) => appErrors.push(e)); return http.createServer(a.use(koaAuditRouter({ prefix: "/audit", store, authorize: () => true })).callback()); }],
  ["Koa 2", (store) => { const a = new Koa2(); a.on("error", (e) => appErrors.push(e)); return http.createServer(a.use(koaAuditRouter({ prefix: "/audit", store, authorize: () => true })).callback()); }],
];

let base: AuditStore;
beforeAll(async () => {
  base = memoryStore();
  await insertAll(base, manyEvents(60_000));
});

describe.each(apps)("%s: a client that leaves while the first page is read", (_name, make) => {
  it.each(["ndjson", "csv"])("reads no further and reports no error to the app (%s)", async (format) => {
    appErrors.length = 0;
    const { store, stats } = slow(base, 400);
    const server = make(store);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const { port } = server.address() as { port: number };
    const req = http.get({ host: "127.0.0.1", port, path: `/audit/events/export?format=${format}` });
    req.on("error", () => undefined);
    await new Promise((r) => setTimeout(r, 100));
    req.destroy();
    await new Promise((r) => setTimeout(r, 1500));
    server.close();
    // The page being read when the client left, the one read ahead, and one more a stream buffer took.
    expect({ reads: stats.reads, errors: appErrors.map((e) => (e as Error).message) }).toEqual({ reads: Math.min(stats.reads, 3), errors: [] });
  });
});
