import http from "node:http";

import express from "express";
import Koa from "koa";
import request from "supertest";

import { auditRouter, koaAuditRouter, memoryStore, type MemoryStore } from "../../src";

/* eslint-disable @typescript-eslint/no-require-imports */
const express4 = require("express4") as typeof express;
const Koa2 = require("koa2") as typeof Koa;

const apps: Array<[string, (store: MemoryStore) => http.Server]> = [
  ["Express 5", (store) => http.createServer(express().set("trust proxy", false).use("/audit", auditRouter({ store, authorize: () => false })))],
  ["Express 4", (store) => http.createServer(express4().use("/audit", auditRouter({ store, authorize: () => false })))],
  ["Koa 3", (store) => { const a = new Koa(); a.silent = true; return http.createServer(a.use(koaAuditRouter({ prefix: "/audit", store, authorize: () => false })).callback()); }],
  ["Koa 2", (store) => { const a = new Koa2(); a.silent = true; return http.createServer(a.use(koaAuditRouter({ prefix: "/audit", store, authorize: () => false })).callback()); }],
];

const PATHS = [
  "/audit/events",
  "/audit/events/",
  "/audit/events/export?format=csv",
  "/audit/events/summary/",
  "/audit/events/0b7c5d39-5c1e-4f0e-9a53-0c7a0c2d8e11",
  `/audit/events/${"a".repeat(8000)}`,
  `/audit/events?search=${"x".repeat(8000)}`,
  "/audit/events/%E2%80%AE%00",
  "/audit/events/..%2F..%2Fsecret",
];

describe.each(apps)("%s: refused requests", (_name, make) => {
  it.each(PATHS.map((p, i) => [i, p]))("answers 403 with nosniff and records one denial: path #%i", async (_i, path) => {
    const store = memoryStore();
    const answer = await request(make(store)).get(path).set("Host", "evil.example");
    const denial = store.list();
    expect({ status: answer.status, nosniff: answer.headers["x-content-type-options"], denials: denial.length }).toEqual({ status: 403, nosniff: "nosniff", denials: 1 });
    expect(denial[0]).toMatchObject({ action: "audit.read", outcome: "denied", contentType: "AuditTrail" });
  });
});
