import { PrismaPg } from "@prisma/adapter-pg";
import { Pool, type PoolClient } from "pg";

import {
  AuditContext,
  closeAudit,
  configureAudit,
  flushAudit,
  prismaStore,
  type AuditEventRecord,
  type CreateEventsItem,
} from "../../src";
import type * as PostgresqlGenerated from "../../generated/postgresql/client/client";
import { openDatabase, type TestDatabase } from "../support/databases";
import { testPgPool } from "../support/test-pg-pool";

/**
 * `ctx.createEvents()` on PostgreSQL: one statement in sync mode, all or none; one
 * transaction with `{ tx }`; queued together in buffered mode. Statements are counted
 * where they leave for the server: on the pg driver's connections under Prisma.
 */

/* eslint-disable @typescript-eslint/no-require-imports */
const { PrismaClient } = require("../../generated/postgresql/client/client") as typeof PostgresqlGenerated;

let db: TestDatabase<"postgresql">;
let pool: Pool;
let prisma: PostgresqlGenerated.PrismaClient;
/** Every SQL statement sent to the server by `prisma`, in order. */
const statements: string[] = [];

beforeAll(async () => {
  db = await openDatabase("postgresql", { name: "create_events" });
  // A UTC session, so the store runs each call as it is (see prisma-utc-session.ts).
  pool = testPgPool(db.url, { options: "-c TimeZone=UTC" });
  pool.on("connect", (client: PoolClient) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as unknown as { query: unknown }).query = (...args: unknown[]) => {
      const first = args[0] as string | { text: string };
      statements.push(typeof first === "string" ? first : first.text);
      return query(...args);
    };
  });
  prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  await prisma.$executeRawUnsafe(`ALTER TABLE audit_events ADD CONSTRAINT no_forbidden CHECK ("objectId" <> 'forbidden')`);
});
afterEach(async () => {
  await closeAudit();
  configureAudit({});
  await db.reset();
});
afterAll(async () => {
  await prisma?.$disconnect();
  await pool?.end();
  await db?.close();
});

const items = (ids: string[], extra: Partial<CreateEventsItem> = {}): CreateEventsItem[] =>
  ids.map((id, i) => ({ contentObject: { contentType: "Order", objectId: id }, content: { i }, action: `order.step${i}`, ...extra }));

const stored = () => prisma.auditEvent.findMany({ orderBy: { id: "asc" } });

/** Runs `work` and answers the statements it sent. */
async function sentBy(work: () => Promise<unknown>): Promise<string[]> {
  const from = statements.length;
  await work();
  return statements.slice(from);
}

describe("ctx.createEvents on PostgreSQL", () => {
  it("sync: writes every event in one INSERT statement, one round trip, with each event's own fields", async () => {
    configureAudit({ store: prismaStore(prisma) });
    const ctx = new AuditContext({ tenantId: "acme", requestId: "r-1", user: "u1" });
    await ctx.createEvent({ contentType: "Warm", objectId: "up" }); // the store's one-time session check
    await prisma.auditEvent.deleteMany();

    let records: AuditEventRecord[] = [];
    const sent = await sentBy(async () => {
      records = await ctx.createEvents([...items(["1", "2", "3"]), { contentObject: { contentType: "Order", objectId: "4" }, outcome: "denied", severity: "critical" }]);
    });

    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatch(/^INSERT INTO "public"\."audit_events"/);
    const rows = await stored();
    expect(rows.map((r) => r.id)).toEqual(records.map((r) => r.id));
    expect(rows.map((r) => [r.objectId, r.action, r.outcome, r.severity, r.tenantId, r.requestId, r.userId])).toEqual([
      ["1", "order.step0", "success", "info", "acme", "r-1", "u1"],
      ["2", "order.step1", "success", "info", "acme", "r-1", "u1"],
      ["3", "order.step2", "success", "info", "acme", "r-1", "u1"],
      ["4", null, "denied", "critical", "acme", "r-1", "u1"],
    ]);
  });

  it("sync: a batch with one row the database refuses leaves none of them", async () => {
    configureAudit({ store: prismaStore(prisma), logger: { warn() {}, error() {} } });
    const attempt = new AuditContext().createEvents(items(["a", "forbidden", "b"]));
    await expect(attempt).rejects.toMatchObject({ code: "ERR_AUDIT_EVENT_REFUSED", message: expect.stringContaining("a batch of 3 audit events") });
    expect(await stored()).toEqual([]);
  });

  it("with { tx }: written in the caller's transaction, so a rollback removes them all and a commit keeps them all", async () => {
    configureAudit({ store: prismaStore(prisma) });
    const ctx = new AuditContext();
    await expect(
      prisma.$transaction(async (tx) => {
        await ctx.createEvents(items(["1", "2", "3"], { tx }));
        expect(await tx.auditEvent.count()).toBe(3);
        throw new Error("payment failed");
      }),
    ).rejects.toThrow("payment failed");
    expect(await stored()).toEqual([]);

    const records = await prisma.$transaction((tx) => ctx.createEvents(items(["4", "5"], { tx })));
    expect((await stored()).map((r) => r.id)).toEqual(records.map((r) => r.id));
  });

  it("with { tx }: items naming different transactions are refused before anything is written", async () => {
    configureAudit({ store: prismaStore(prisma) });
    await expect(
      prisma.$transaction(async (tx) => new AuditContext().createEvents([...items(["1"], { tx }), ...items(["2"])])),
    ).rejects.toMatchObject({ code: "ERR_AUDIT_EVENT_FIELD", message: expect.stringContaining("item 1 names another tx than item 0") });
    expect(await stored()).toEqual([]);
  });

  it("buffered: queues them all; one flush writes them, and logger.debug hears it", async () => {
    const debug: string[] = [];
    configureAudit({ store: prismaStore(prisma), writeMode: "buffered", flushIntervalMs: 60_000, logger: { warn() {}, debug: (m) => void debug.push(m) } });
    const records = await new AuditContext().createEvents(items(Array.from({ length: 250 }, (_, i) => String(i))));
    expect(await stored()).toEqual([]);
    await flushAudit();
    expect((await stored()).map((r) => r.id)).toEqual(records.map((r) => r.id));
    expect(debug).toEqual([expect.stringMatching(/^audit-events: flushed 250 buffered event\(s\) to prisma\(auditEvent\) in \d+\.\d ms\.$/)]);
  });

  it("disabled: returns the records and writes none", async () => {
    configureAudit({ store: prismaStore(prisma), disabled: true });
    const sent = await sentBy(async () => {
      expect(await new AuditContext().createEvents(items(["1", "2"]))).toHaveLength(2);
    });
    expect(sent).toEqual([]);
    expect(await stored()).toEqual([]);
  });
});
