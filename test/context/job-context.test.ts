import express from "express";
import request from "supertest";
import {
  AuditContext,
  auditEvents,
  configureAudit,
  currentAuditContext,
  MASK,
  memoryStore,
  restoreAuditContext,
  runWithAuditContext,
  serializeAuditContext,
  type MemoryStore,
} from "../../src";

let store: MemoryStore;

beforeEach(() => {
  store = memoryStore();
  configureAudit({ store, includePostData: true, includeQueryParams: true, includeHeaders: ["user-agent", "authorization"] });
});
afterEach(() => configureAudit({}));

/** An app that queues work: the queue is an array of JSON strings, as a real broker would hold. */
function queueingApp(queue: string[]) {
  const app = express();
  app.use(express.json());
  app.use(auditEvents());
  app.use((req, _res, next) => {
    (req as { user?: unknown }).user = { id: "u-9" };
    req.auditContext.extraData.tenant = "acme";
    next();
  });
  app.post("/exports", (req, res) => {
    queue.push(JSON.stringify({ audit: serializeAuditContext(), format: req.body.format }));
    res.sendStatus(202);
  });
  return app;
}

describe("serializeAuditContext and restoreAuditContext", () => {
  it("carry a request's user, URL, IP, masked data and extraData into a queued job's events", async () => {
    const queue: string[] = [];
    await request(queueingApp(queue))
      .post("/exports?page=1")
      .set("User-Agent", "ui/2")
      .set("Authorization", "Bearer secret")
      .send({ format: "csv", password: "p" })
      .expect(202);

    const job = JSON.parse(queue[0]!);
    const audit = restoreAuditContext(job.audit, { extraData: { job: "export-1" } });
    const record = await runWithAuditContext(audit, () => currentAuditContext().createEvent({ contentType: "Export", objectId: 1 }, { action: "run" }));

    expect(record).toMatchObject({
      userId: "u-9",
      method: "POST",
      remoteAddr: expect.stringMatching(/127\.0\.0\.1/),
      queryParams: { page: "1" },
      postData: { format: "csv", password: MASK },
      headers: { "user-agent": "ui/2", authorization: MASK },
      content: { tenant: "acme", job: "export-1", action: "run" },
    });
    expect(record.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/exports\?page=1$/);
    expect(queue[0]).not.toContain("secret");
  });

  it("serializes a background job's own context too", () => {
    const serialized = serializeAuditContext(new AuditContext({ user: 5, tenantId: "acme", requestId: "req-1", extraData: { job: "sync", at: new Date(0) } }));
    expect(serialized).toEqual({
      v: 1,
      userId: "5",
      tenantId: "acme",
      requestId: "req-1",
      url: null,
      method: null,
      remoteAddr: null,
      queryParams: {},
      postData: {},
      headers: {},
      extraData: { job: "sync", at: "1970-01-01T00:00:00.000Z" },
    });
  });

  it("refuses what serializeAuditContext did not produce", () => {
    const good = serializeAuditContext(new AuditContext());
    for (const bad of [null, "x", { ...good, v: 2 }, { ...good, headers: { a: 1 } }, { ...good, userId: 7 }, { ...good, extraData: [] }, { ...good, tenantId: 3 }, { ...good, requestId: " " }]) {
      expect(() => restoreAuditContext(bad)).toThrow(expect.objectContaining({ code: "ERR_AUDIT_SNAPSHOT" }));
    }
  });
});
