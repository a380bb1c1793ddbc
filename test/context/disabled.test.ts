import express from "express";
import request from "supertest";

import {
  AuditConfigError,
  AuditContext,
  auditEvents,
  auditMetrics,
  configureAudit,
  currentAuditContext,
  flushAudit,
  memoryStore,
} from "../../src";

const ORDER = { contentType: "Order", objectId: "1" };

afterEach(() => configureAudit({}));

describe("configureAudit({ disabled: true })", () => {
  it("builds and returns events without any store", async () => {
    configureAudit({ disabled: true });

    const record = await currentAuditContext().createEvent(ORDER, { action: "ship", at: new Date(0) });

    expect(record).toMatchObject({ contentType: "Order", objectId: "1", content: { action: "ship", at: "1970-01-01T00:00:00.000Z" } });
    expect(record.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("writes nothing to the configured store, a context's own store, or through the buffered writer", async () => {
    const configured = memoryStore();
    const own = memoryStore();
    configureAudit({ disabled: true, store: configured, writeMode: "buffered" });
    const written = auditMetrics().written;

    await currentAuditContext().createEvent(ORDER);
    await new AuditContext({ store: own }).createFieldsEvent({ ...ORDER, status: "paid" }, ["status"]);
    await new AuditContext().newEvent(ORDER).save();
    await flushAudit();

    expect(configured.list()).toEqual([]);
    expect(own.list()).toEqual([]);
    expect(auditMetrics().written).toBe(written);
  });

  it("still validates every event as a real write would", async () => {
    configureAudit({ disabled: true });
    const ctx = new AuditContext();

    await expect(ctx.createEvent({ id: 1 })).rejects.toMatchObject({ code: "ERR_AUDIT_CONTENT_OBJECT" });
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    await expect(ctx.createEvent(ORDER, { cycle })).rejects.toMatchObject({ code: "ERR_AUDIT_SERIALIZE" });
    await expect(ctx.createEvent(ORDER, { fn: () => 1 })).rejects.toMatchObject({ code: "ERR_AUDIT_SERIALIZE" });
    await expect(ctx.createEvent(ORDER, {}, { user: {} })).rejects.toMatchObject({ code: "ERR_AUDIT_USER" });
  });

  it("records through a real Express app without a store", async () => {
    configureAudit({ disabled: true });
    const app = express();
    app.use(auditEvents());
    app.post("/orders/:id", async (req, res) => {
      res.json(await req.auditContext.createEvent({ contentType: "Order", objectId: req.params.id }, { action: "create" }));
    });

    const answer = await request(app).post("/orders/9?x=1").expect(200);

    expect(answer.body).toMatchObject({ objectId: "9", method: "POST", url: expect.stringMatching(/\/orders\/9\?x=1$/) });
  });

  it("is refused when it is not a boolean, and by the middleware, since it is process-wide", () => {
    expect(() => configureAudit({ disabled: "yes" as never })).toThrow(AuditConfigError);
    expect(() => auditEvents({ disabled: true })).toThrow(/disabled set\(s\) up the process's one write path; pass it to configureAudit\(\)/);
  });
});

describe("with nothing configured", () => {
  it("names both ways to test an app in the error", async () => {
    await expect(currentAuditContext().createEvent(ORDER)).rejects.toMatchObject({
      code: "ERR_AUDIT_NO_STORE",
      message: expect.stringMatching(/configureAudit\(\{ store: memoryStore\(\) \}\).*configureAudit\(\{ disabled: true \}\)/),
    });
  });
});
