import http from "node:http";
import { readFileSync, rmSync } from "node:fs";
import path from "node:path";

import express from "express";
import Koa from "koa";
import request from "supertest";

import { auditRouter, exportEvents, koaAuditRouter, prismaStore, sealEvent, verifySeal, type AuditEventRecord, type AuditStore } from "../../src";
import { openDatabase, type TestDatabase } from "../support/databases";
import { byPosition, insertAll, manyEvents, TextSink } from "../support/read-fixtures";
import { buildPackage, createProject, prismaConfig, type Project } from "../cli/cli-package";
import { cloudEventProblems } from "./cloud-event-checker";

const COUNT = 6_000;
const KEY = "an integrity key of 32 characters!";

type Line = Record<string, unknown> & { id: string; source: string; data: Record<string, unknown> };

function linesOf(text: string): Line[] {
  expect(text.endsWith("\n")).toBe(true);
  return text.trimEnd().split("\n").map((line) => JSON.parse(line) as Line);
}

/** Checks that `lines` are valid CloudEvents carrying exactly `expected`, in order. */
function expectCloudEvents(lines: Line[], expected: AuditEventRecord[], source = "audit-events"): void {
  expect(lines.map((line) => line.id)).toEqual(expected.map((event) => event.id));
  for (const line of lines) expect(cloudEventProblems(line)).toEqual([]);
  expect(new Set(lines.map((line) => line.source))).toEqual(new Set([source]));
  expect(lines.map((line) => line.data)).toEqual(JSON.parse(JSON.stringify(expected)));
}

let db: TestDatabase<"postgresql">;
let store: AuditStore;
let events: AuditEventRecord[];

beforeAll(async () => {
  db = await openDatabase("postgresql", { name: "cloud_event_export" });
  store = prismaStore(db.prisma);
  events = manyEvents(COUNT, 41).map((event, i) => (i % 3 === 0 ? { ...event, action: `order.${i % 2 === 0 ? "refund" : "ship"}`, tenantId: "acme", severity: "warning" as const } : event));
  await insertAll(store, events);
}, 60_000);
afterAll(async () => {
  await db?.close();
});

describe("exportEvents({ format: \"cloudevents\" }) on PostgreSQL", () => {
  it("writes one valid CloudEvent a line, across pages, each carrying the stored event", async () => {
    const sink = new TextSink();
    const progress: number[] = [];
    const result = await exportEvents({ store, format: "cloudevents", order: "asc" }, sink, { onProgress: (n) => progress.push(n), cloudEventSource: "https://shop.example" });
    expect(result).toEqual({ exported: COUNT });
    expect(progress.at(-1)).toBe(COUNT);
    expectCloudEvents(linesOf(sink.text), [...events].sort(byPosition), "https://shop.example");
  });

  it("takes the filters, and routes by type", async () => {
    const sink = new TextSink();
    await exportEvents({ store, format: "cloudevents", action: "order.refund", order: "desc" }, sink);
    const expected = events.filter((e) => e.action === "order.refund").sort(byPosition).reverse();
    expect(expected.length).toBeGreaterThan(100);
    const lines = linesOf(sink.text);
    expectCloudEvents(lines, expected);
    expect(new Set(lines.map((line) => line.type))).toEqual(new Set(["audit-events.order.refund"]));
    expect(new Set(lines.map((line) => line.tenantid))).toEqual(new Set(["acme"]));
  });

  it("gives events whose seal, made from the store's record, verifies on the exported data", async () => {
    const sink = new TextSink();
    await exportEvents({ store, format: "cloudevents", contentType: "Order", order: "asc" }, sink);
    const lines = linesOf(sink.text);
    const stored = new Map(events.map((event) => [event.id, event]));
    for (const line of lines.slice(0, 200)) {
      expect(verifySeal(line.data as unknown as AuditEventRecord, sealEvent(stored.get(line.id)!, KEY), KEY)).toBe(true);
    }
  });

  it("refuses a bad source before writing anything", async () => {
    const sink = new TextSink();
    await expect(exportEvents({ store, format: "cloudevents" }, sink, { cloudEventSource: "not a uri" })).rejects.toMatchObject({ code: "ERR_AUDIT_CONFIG" });
    expect(sink.text).toBe("");
  });
});

describe("GET /events/export?format=cloudevents", () => {
  const authorize = () => true;
  const servers: Array<[string, () => http.Server]> = [
    ["Express", () => http.createServer(express().use("/audit", auditRouter({ store, authorize })))],
    ["Koa", () => http.createServer(new Koa().use(koaAuditRouter({ prefix: "/audit", store, authorize })).callback())],
  ];

  it.each(servers)("%s: streams NDJSON of CloudEvents as a download, with its filters", async (_name, makeServer) => {
    const res = await request(makeServer()).get("/audit/events/export?format=cloudevents&tenantId=acme&order=asc").expect(200);
    expect(res.headers["content-type"]).toBe("application/x-ndjson; charset=utf-8");
    expect(res.headers["content-disposition"]).toMatch(/filename="audit-events\.cloudevents\.ndjson"/);
    expectCloudEvents(linesOf(res.text), events.filter((e) => e.tenantId === "acme").sort(byPosition));
  });

  it("keeps a tenant's reader to that tenant's events", async () => {
    const app = express().use("/audit", auditRouter({ store, authorize: () => ({ tenantId: "acme" }) }));
    const res = await request(http.createServer(app)).get("/audit/events/export?format=cloudevents&order=asc").expect(200);
    expectCloudEvents(linesOf(res.text), events.filter((e) => e.tenantId === "acme").sort(byPosition));
  });
});

describe("audit-events export --format cloudevents", () => {
  let packageDir: string;
  let project: Project;

  beforeAll(() => {
    packageDir = buildPackage();
    project = createProject(packageDir);
    project.write("audit-events.config.ts", prismaConfig("postgresql", db.url));
  }, 120_000);
  afterAll(() => {
    project?.remove();
    if (packageDir) rmSync(packageDir, { recursive: true, force: true });
  });

  it("writes the events as CloudEvents with the source given", async () => {
    const run = await project.run(["export", "--format", "cloudevents", "--ce-source", "urn:example:shop", "--object-id", "O1", "--order", "asc", "--out", "o1.ndjson"]);
    const file = path.join(project.dir, "o1.ndjson");
    const expected = events.filter((e) => e.objectId === "O1").sort(byPosition);
    expect(run).toMatchObject({ code: 0, stdout: `Exported ${expected.length} event(s) as cloudevents to ${file}.\n` });
    expectCloudEvents(linesOf(readFileSync(file, "utf8")), expected, "urn:example:shop");
  });

  it("refuses a --ce-source that is no URI-reference, or without --format cloudevents, with exit code 2", async () => {
    const bad = await project.run(["export", "--format", "cloudevents", "--ce-source", "my app", "--out", "bad.ndjson"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--ce-source: source must be a non-empty URI-reference/);
    const alone = await project.run(["export", "--format", "ndjson", "--ce-source", "urn:x"]);
    expect(alone.code).toBe(2);
    expect(alone.stderr).toMatch(/add --format cloudevents/);
  });
});
