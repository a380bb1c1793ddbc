import http from "node:http";
import net from "node:net";

import express from "express";
import Koa from "koa";

import { auditRouter, koaAuditRouter, memoryStore, type AuditStore } from "../../src";
import { insertAll, manyEvents } from "../support/read-fixtures";

/* eslint-disable @typescript-eslint/no-require-imports */
const express4 = require("express4") as typeof express;
const Koa2 = require("koa2") as typeof Koa;

/** Sends one raw request and returns status line and body. */
async function raw(server: http.Server, target: string): Promise<{ status: number; body: string }> {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const { port } = server.address() as net.AddressInfo;
  const text = await new Promise<string>((resolve) => {
    const socket = net.connect(port, "127.0.0.1", () => socket.write(`GET ${target} HTTP/1.1\r\nHost: shop.example\r\nConnection: close\r\n\r\n`));
    let data = "";
    socket.on("data", (chunk) => (data += chunk));
    socket.on("end", () => resolve(data));
  });
  server.close();
  return { status: Number(text.split(" ")[1]), body: text.slice(text.indexOf("\r\n\r\n") + 4) };
}

const apps: Array<[string, (store: AuditStore) => http.Server]> = [
  ["Express 5", (store) => http.createServer(express().use("/audit", auditRouter({ store, authorize: () => true })))],
  ["Express 4", (store) => http.createServer(express4().use("/audit", auditRouter({ store, authorize: () => true })))],
  ["Koa 3", (store) => { const a = new Koa(); a.silent = true; return http.createServer(a.use(koaAuditRouter({ prefix: "/audit", store, authorize: () => true })).callback()); }],
  ["Koa 2", (store) => { const a = new Koa2(); a.silent = true; return http.createServer(a.use(koaAuditRouter({ prefix: "/audit", store, authorize: () => true })).callback()); }],
];

describe.each(apps)("%s: an absolute-form request target (RFC 9112 §3.2.2)", (_name, make) => {
  let store: AuditStore;
  beforeAll(async () => {
    store = memoryStore();
    await insertAll(store, manyEvents(10));
  });
  it("is served like its origin form, and its next link names no host the client made up", async () => {
    const origin = await raw(make(store), "/audit/events?limit=2");
    const absolute = await raw(make(store), "http://attacker.example/audit/events?limit=2");
    expect(origin.status).toBe(200);
    expect(absolute.status).toBe(200);
    const next = /"next":("[^"]*"|null)/.exec(absolute.body)?.[1];
    expect(next).toMatch(/^"\/audit\/events\?/);
  });
});
