import http from "node:http";

import express from "express";
import request from "supertest";
import { parse } from "csv-parse/sync";
import { v7 as uuidv7 } from "uuid";

import { auditEvents, auditRouter, configureAudit, memoryStore, type AuditEventRecord } from "../../src";

const FORMULA = /^[=+\-@\t\r]/;
const PAYLOAD = "ok;=cmd|' /C calc'!A0;@SUM(1+1)";

function event(field: keyof AuditEventRecord, value: string): AuditEventRecord {
  const base: AuditEventRecord = {
    id: uuidv7(), timestamp: new Date("2026-05-01T00:00:00Z"), contentType: "Order", objectId: "1", content: {}, userId: "u1",
    url: "https://shop.example/", method: "GET", remoteAddr: "198.51.100.1", queryParams: {}, postData: {}, headers: {},
    action: "a", outcome: "success", severity: "info", tenantId: null, requestId: null, chainId: null, seq: null, prevHash: null, hash: null,
  };
  return { ...base, [field]: value } as AuditEventRecord;
}

/**
 * README: "A CSV cell that a spreadsheet would run as a formula ... is prefixed with '".
 * A spreadsheet whose list separator is ";" (Excel in most of continental Europe opens a
 * .csv with it) splits an unquoted field at ";": the text after it starts a new cell,
 * which OWASP's CSV-injection advice names ("take care of the field separator").
 */
describe("CSV export read with ';' as the separator", () => {
  it.each(["objectId", "userId", "action", "contentType", "requestId", "url"] as const)("starts no cell with a formula character (%s)", async (field) => {
    const store = memoryStore();
    await store.insert([event(field, PAYLOAD)], { context: undefined as never });
    const app = express().use("/audit", auditRouter({ store, authorize: () => true }));
    const answer = await request(http.createServer(app)).get("/audit/events/export?format=csv");
    expect(answer.status).toBe(200);
    const rows = parse(answer.text, { delimiter: ";", relax_quotes: true, relax_column_count: true }) as string[][];
    const cells = rows.flat().map((c) => c.trim());
    expect(cells.filter((c) => FORMULA.test(c))).toEqual([]);
  });
});

describe("end to end: an anonymous client's request path", () => {
  afterEach(() => configureAudit({}));
  it("cannot put a formula cell into an auditor's CSV export (';' separator)", async () => {
    const store = memoryStore();
    configureAudit({ store });
    const app = express();
    app.use(auditEvents());
    app.get(/^\/orders.*/, async (req, res) => {
      await (req as unknown as { auditContext: { createEvent(o: unknown, c: unknown): Promise<unknown> } }).auditContext.createEvent({ contentType: "Order", objectId: 1 }, {});
      res.end("ok");
    });
    app.use("/audit", auditRouter({ store, authorize: () => true }));
    const server = http.createServer(app);
    expect((await request(server).get("/orders;=1+1;@SUM(A1:A9)")).status).toBe(200);
    const answer = await request(server).get("/audit/events/export?format=csv");
    const rows = parse(answer.text, { delimiter: ";", relax_quotes: true, relax_column_count: true }) as string[][];
    expect(store.list()[0]!.url).toContain(";=1+1");
    expect(rows.flat().filter((c) => FORMULA.test(c.trim()))).toEqual([]);
  });
});
