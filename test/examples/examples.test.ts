import { execFileSync } from "node:child_process";
import path from "node:path";
import request from "supertest";
import { configureAudit, MASK, prismaStore } from "../../src";
import { nightlyPaymentSync } from "../../examples/background-job";
import { createExpressApp } from "../../examples/express-app";
import { createKoaApp } from "../../examples/koa-app";
import type { PrismaClient } from "../../examples/sqlite-database";
import { openDatabase, providers, type TestDatabase } from "../support/databases";

describe.each(providers)("the example shop on %s", (provider) => {
  let db: TestDatabase;
  let prisma: PrismaClient;

  beforeAll(async () => {
    db = await openDatabase(provider, { name: "examples" });
    prisma = db.prisma as unknown as PrismaClient;
  });
  afterAll(async () => {
    configureAudit({});
    await db?.close();
  });
  beforeEach(async () => {
    await db.reset();
    configureAudit({ store: prismaStore(db.prisma), includePostData: true, includeHeaders: ["user-agent"] });
  });

  it("records an order's creation with the user, IP, URL and masked post data", async () => {
    const res = await request(createExpressApp(prisma))
      .post("/orders?source=web")
      .set("x-user", "alice")
      .set("user-agent", "jest/1")
      .send({ reference: "A-1", total: "10.50", password: "hunter2" });
    expect(res.status).toBe(201);
    const [event] = await db.prisma.auditEvent.findMany();
    expect(event).toMatchObject({
      contentType: "Order",
      objectId: String(res.body.id),
      userId: "alice",
      method: "POST",
      remoteAddr: "127.0.0.1",
      action: "create",
      content: {},
      postData: { reference: "A-1", total: "10.50", password: MASK },
      headers: { "user-agent": "jest/1" },
    });
    expect(event!.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/orders\?source=web$/);
  });

  it("writes the refund event in the refund's transaction", async () => {
    const app = createExpressApp(prisma);
    const created = await request(app).post("/orders").set("x-user", "alice").send({ reference: "A-2", total: "5.00" });
    const refunded = await request(app).post(`/orders/${created.body.id}/refund`).set("x-user", "alice").send({ reason: "damaged" });
    expect(refunded.status).toBe(200);
    const events = await db.prisma.auditEvent.findMany({ orderBy: { id: "asc" } });
    expect(events.map((e) => ({ action: e.action, content: e.content }))).toEqual([
      { action: "create", content: {} },
      { action: "refund", content: { status: "refunded", total: expect.stringMatching(/^5(\.0+)?$/), reason: "damaged" } },
    ]);
    const missing = await request(app).post("/orders/999999/refund").set("x-user", "alice").send({ reason: "none" });
    expect(missing.status).toBe(500);
    expect(await db.prisma.auditEvent.count()).toBe(2);
  });

  it("records a Koa request through currentAuditContext() deep in business code", async () => {
    const order = await db.prisma.order.create({ data: { reference: "K-1", status: "paid", total: "1.00" } });
    const res = await request(createKoaApp(prisma).callback()).post(`/orders/${order.id}/ship`).set("x-user", "bob").send({});
    expect(res.status).toBe(200);
    const [event] = await db.prisma.auditEvent.findMany();
    expect(event).toMatchObject({ contentType: "Order", objectId: String(order.id), userId: "bob", action: "ship", content: {} });
  });

  it("records a background job's events under the job's context", async () => {
    await db.prisma.order.createMany({ data: [{ reference: "J-1", status: "new", total: "1" }, { reference: "J-2", status: "new", total: "2" }] });
    expect(await nightlyPaymentSync(prisma)).toBe(2);
    const events = await db.prisma.auditEvent.findMany();
    expect(events).toHaveLength(2);
    for (const e of events) expect(e).toMatchObject({ userId: "system", url: null, action: "mark-paid", content: { job: "nightly-payment-sync" } });
  });
});

/** Runs an example script the way its npm script does, and returns what it printed. */
function runExample(file: string): string {
  const root = path.resolve(__dirname, "../..");
  return execFileSync(process.execPath, [require.resolve("tsx/cli"), file], { cwd: root, encoding: "utf8" });
}

describe("npm run example:job", () => {
  it("records the queued job's event with the requesting user, URL and masked post data", () => {
    const output = runExample("examples/job-queue.ts");
    expect(output).toMatch(/Report#monthly-revenue by dana via POST http:\/\/127\.0\.0\.1:\d+\/reports from 127\.0\.0\.1/);
    expect(output).toContain(`"password":"${MASK}"`);
    expect(output).toContain('"job":"report-generation"');
  }, 60_000);
});

describe("npm run example:buffered", () => {
  it("keeps the events of an outage in the spool and replays them once", () => {
    const output = runExample("examples/buffered-writes.ts");
    expect(output).toContain("database up: 3 events stored");
    expect(output).toContain("database down: 3 stored, 4 safe in the spool");
    expect(output).toContain("database back: 7 stored, 0 in the spool, 4 replayed");
    expect(output).toMatch(/\(warning\) audit-events: the store .* failed: connect ECONNREFUSED; retrying with backoff/);
  }, 60_000);
});

describe("npm run example:archival", () => {
  it("archives the events older than 30 days on its schedule", () => {
    const output = runExample("examples/scheduled-archival.ts");
    expect(output).toContain("live events before: 120");
    expect(output).toMatch(/archived 9[01] event\(s\) older than/);
    expect(output).toMatch(/live events after: (30|29), archived: (90|91)/);
  }, 60_000);
});

describe("npm run demo", () => {
  it("writes events into SQLite and shows them read back", () => {
    const root = path.resolve(__dirname, "../..");
    const output = execFileSync(process.execPath, [require.resolve("tsx/cli"), "examples/demo.ts"], { cwd: root, encoding: "utf8" });
    expect(output).toContain("audit-events demo: 6 events stored");
    expect(output).toContain(`"password":"${MASK}"`);
    expect(output).not.toContain("never-stored");
    expect(output).toMatch(/Order#2 {2}ship \(success\) {2}user=bob {2}POST/);
  }, 60_000);
});
