import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

import { AuditContext, closeAudit, configureAudit, fileSpool, flushAudit, prismaStore, verifyAuditTrail, type AuditEventRecord, type AuditOptions } from "../../src";
import { copyRecordingPool, type CopyRecordingPool } from "../support/copy-pool";
import { openDatabase, type TestDatabase } from "../support/databases";

const KEY = "queued-row-isolation-key-0123456789abcdef";

/**
 * `createEvent` resolves, in buffered mode, before its event is written: what is written
 * (and, with `integrity`, hashed) must be the event as it was created, whatever the caller
 * then does with the record it was given.
 */
describe("a buffered event written through COPY into PostgreSQL", () => {
  let db: TestDatabase<"postgresql">;
  let pool: CopyRecordingPool;
  let spoolDir: string;

  beforeAll(async () => {
    db = await openDatabase("postgresql", { name: "queued_row" });
    pool = copyRecordingPool(db.url);
    spoolDir = mkdtempSync(path.join(tmpdir(), "queued-row-"));
  });
  afterEach(async () => {
    await closeAudit();
    configureAudit({});
    await db.reset();
  });
  afterAll(async () => {
    await pool?.end();
    await db?.close();
    rmSync(spoolDir, { recursive: true, force: true });
  });

  /** Changes every part of `record` a caller can reach: its fields, its JSON columns' insides, its Date. */
  function tamper(record: AuditEventRecord): void {
    (record.content.order as { total: number }).total = 0;
    record.content.injected = "after the fact";
    (record.headers as Record<string, unknown>)["user-agent"] = "changed";
    (record.queryParams as Record<string, unknown>).page = "9";
    record.timestamp.setTime(0);
    record.objectId = "changed";
  }

  const cases: [string, () => Partial<AuditOptions>][] = [
    ["without a spool", () => ({})],
    ["with a file spool (the batch written from memory)", () => ({ spool: fileSpool({ path: path.join(spoolDir, `spool-${Date.now()}.log`) }) })],
    ["with integrity (the chain signs the event as created)", () => ({ integrity: { key: KEY } })],
  ];
  it.each(cases)("stores the event as created when its caller changes the record before the flush, %s", async (_name, options) => {
    const copies = pool.copies.length;
    const store = prismaStore(db.prisma, { pgPool: pool });
    configureAudit({ store, writeMode: "buffered", flushIntervalMs: 60_000, includeQueryParams: true, ...options() });
    const context = new AuditContext({ url: "https://shop.example.com/orders/7?page=1", method: "GET", queryParams: { page: "1" }, headers: { "user-agent": "agent/1" } });
    const record = await context.createEvent({ contentType: "Order", objectId: "7" }, { order: { total: 129.9 } }, { action: "order.view" });
    const created = { id: record.id, timestamp: new Date(record.timestamp), content: structuredClone(record.content), headers: structuredClone(record.headers), queryParams: structuredClone(record.queryParams) };
    expect(created.headers).toEqual({ "user-agent": "agent/1" });
    expect(created.queryParams).toEqual({ page: "1" });

    tamper(record);
    await flushAudit();

    expect(pool.copies.slice(copies)).toEqual([expect.objectContaining({ ok: true })]);
    const stored = await db.prisma.auditEvent.findUnique({ where: { id: created.id } });
    expect(stored).toMatchObject({ objectId: "7", content: created.content, headers: created.headers, queryParams: created.queryParams, action: "order.view" });
    expect(stored!.timestamp).toEqual(created.timestamp);
    if (options().integrity !== undefined) {
      await closeAudit();
      await expect(verifyAuditTrail({ store, key: KEY })).resolves.toMatchObject({ ok: true, verified: 1, problems: [] });
    }
  });
});
