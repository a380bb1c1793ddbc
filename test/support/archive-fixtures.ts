import { PrismaBetterSqlite3 } from "@prisma/adapter-better-sqlite3";
import { PrismaMariaDb } from "@prisma/adapter-mariadb";
import { PrismaPg } from "@prisma/adapter-pg";
import { v7 as uuidv7 } from "uuid";

import type * as MysqlGenerated from "../../generated/mysql/client/client";
import type * as PostgresqlGenerated from "../../generated/postgresql/client/client";
import type * as SqliteGenerated from "../../generated/sqlite/client/client";
import { AuditContext, MASK, type AuditEventRecord, type AuditStore } from "../../src";
import type { Provider, TestPrismaClient } from "./databases";

/** Helpers of the archival tests: clients on a test database's URL, deterministic seeds, snapshots. */

export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;

/**
 * A second, independent Prisma client on a test database (another pool, or for SQLite another
 * connection to the same file), built the way test/support/databases.ts builds its own: as a
 * separate process or a second archiver would. Used by the tests and by archive-child.ts.
 */
export function createPrismaClient(provider: Provider, url: string): TestPrismaClient {
  switch (provider) {
    case "postgresql": {
      const generated = require("../../generated/postgresql/client/client") as typeof PostgresqlGenerated;
      return new generated.PrismaClient({ adapter: new PrismaPg({ connectionString: url }) }) as unknown as TestPrismaClient;
    }
    case "mysql": {
      const generated = require("../../generated/mysql/client/client") as typeof MysqlGenerated;
      const parsed = new URL(url);
      const adapter = new PrismaMariaDb({
        host: parsed.hostname || "127.0.0.1",
        port: parsed.port ? Number(parsed.port) : 3306,
        user: decodeURIComponent(parsed.username) || "root",
        password: decodeURIComponent(parsed.password) || undefined,
        database: decodeURIComponent(parsed.pathname.replace(/^\//, "")),
        connectionLimit: 5,
      });
      return new generated.PrismaClient({ adapter }) as unknown as TestPrismaClient;
    }
    case "sqlite": {
      const generated = require("../../generated/sqlite/client/client") as typeof SqliteGenerated;
      return new generated.PrismaClient({ adapter: new PrismaBetterSqlite3({ url }) }) as unknown as TestPrismaClient;
    }
  }
}

/** A small deterministic PRNG (mulberry32), so every run seeds the same ages. */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** A seeded event: its record and how many whole days old it is. */
export interface SeededEvent {
  record: AuditEventRecord;
  /** Whole days of age: the event is older than an `olderThanDays: d` cut-off exactly when `ageDays >= d`. */
  ageDays: number;
}

/**
 * `count` events spread over `days` days before `now`, in a shuffled (not time) order. Every
 * age is `day` days plus 1 h to 22 h (plus up to `count` ms, which keeps timestamps distinct),
 * so each event lies at least an hour from any whole-day cut-off, even when the run starts a
 * few minutes after the seed. Ids are UUID v7 of the timestamp, so id order is time order, as
 * the library produces them.
 */
export function seedEvents(count: number, opts: { days: number; now: number; seed?: number }): SeededEvent[] {
  const next = random(opts.seed ?? 20_260_101);
  const events: SeededEvent[] = [];
  for (let i = 0; i < count; i++) {
    const ageDays = Math.floor(next() * opts.days);
    const ageMs = ageDays * DAY_MS + HOUR_MS + Math.floor(next() * 21 * HOUR_MS) + i;
    events.push({ ageDays, record: archiveRecord(opts.now - ageMs, { objectId: String(i) }) });
  }
  return events;
}

/** An event record like the conformance suite's sampleRecord, at `timestampMs`, with a UUID v7 id of that millisecond. */
export function archiveRecord(timestampMs: number, overrides: Partial<AuditEventRecord> = {}): AuditEventRecord {
  return {
    id: uuidv7({ msecs: timestampMs }),
    timestamp: new Date(timestampMs),
    contentType: "Order",
    objectId: "42",
    content: { action: "refund", amount: "12.50", nested: { list: [1, "two", null, { deep: true }] }, emoji: "😀 ünï" },
    userId: "user-1",
    url: "https://shop.example/orders/42/refund?reason=damaged",
    method: "POST",
    remoteAddr: "203.0.113.7",
    queryParams: { reason: "damaged" },
    postData: { password: MASK, note: "x" },
    headers: { "user-agent": "jest" },
    action: "order.refund",
    outcome: "failure",
    severity: "warning",
    tenantId: "tenant-1",
    requestId: "0193a1f2-7c4e-7b2a-9d3e-5f6a7b8c9d0e", chainId: null, seq: null, prevHash: null, hash: null,
    ...overrides,
  };
}

/** Writes records through the store in chunks of 1000 (one createMany each). */
export async function insertRecords(store: AuditStore, records: readonly AuditEventRecord[], context = new AuditContext()): Promise<void> {
  for (let i = 0; i < records.length; i += 1000) {
    await store.insert(records.slice(i, i + 1000), { context });
  }
}

/** Every id of the live and of the archive table (the reference models, or the tenant ones). */
export async function idsOf(prisma: TestPrismaClient, tables: "reference" | "tenant" = "reference"): Promise<{ live: string[]; archived: string[] }> {
  const select = { select: { id: true } } as const;
  const [live, archived] =
    tables === "reference"
      ? await Promise.all([prisma.auditEvent.findMany(select), prisma.archivedAuditEvent.findMany(select)])
      : await Promise.all([prisma.tenantAuditEvent.findMany(select), prisma.tenantArchivedAuditEvent.findMany(select)]);
  return { live: live.map((row) => row.id), archived: archived.map((row) => row.id) };
}

/**
 * Counts rows of `table` whose timestamp is before `before`, in plain SQL written here (not by
 * Prisma's query builder, not by the store), as a cross-check of the store's own count.
 */
export async function sqlCountBefore(
  provider: Provider,
  prisma: TestPrismaClient,
  table: "audit_events" | "archived_audit_events",
  before: Date,
): Promise<number> {
  const sql =
    provider === "postgresql"
      ? `SELECT count(*)::int AS n FROM "${table}" WHERE "timestamp" < $1::timestamptz`
      : provider === "mysql"
        ? `SELECT count(*) AS n FROM \`${table}\` WHERE \`timestamp\` < ?`
        : `SELECT count(*) AS n FROM "${table}" WHERE "timestamp" < ?`;
  const rows = await prisma.$queryRawUnsafe<Array<{ n: number | bigint }>>(sql, provider === "postgresql" ? before.toISOString() : before);
  return Number(rows[0]!.n);
}

/** Ids that occur more than once in `ids`. */
export function duplicatesIn(ids: readonly string[]): string[] {
  const seen = new Set<string>();
  const repeated = new Set<string>();
  for (const id of ids) (seen.has(id) ? repeated : seen).add(id);
  return [...repeated];
}

/**
 * How `actual` differs from `expected` as sets: the first few ids missing and unexpected, so a
 * failing comparison of thousands of ids prints a short message instead of a huge diff.
 */
export function idDifference(actual: Iterable<string>, expected: Iterable<string>): { missing: string[]; unexpected: string[] } {
  const have = new Set(actual);
  const want = new Set(expected);
  return {
    missing: [...want].filter((id) => !have.has(id)).slice(0, 10),
    unexpected: [...have].filter((id) => !want.has(id)).slice(0, 10),
  };
}

/** Every `step`-th element, starting at `from`: a deterministic sample. */
export function every<T>(items: readonly T[], step: number, from = 0): T[] {
  return items.filter((_, i) => i >= from && (i - from) % step === 0);
}

/**
 * Inserts `count` minimal events, `ageDays` days old (one millisecond apart), generated by the
 * database server itself: far faster than sending them, for tests that need tens of thousands.
 * Ids are random UUIDs (`gen_random_uuid()`, `UUID()`), not v7. PostgreSQL and MySQL only.
 */
export async function insertGeneratedEvents(
  provider: Exclude<Provider, "sqlite">,
  prisma: TestPrismaClient,
  count: number,
  ageDays: number,
): Promise<void> {
  if (provider === "postgresql") {
    await prisma.$executeRawUnsafe(
      `INSERT INTO "audit_events" ("id", "timestamp", "contentType", "objectId", "content", "queryParams", "postData", "headers")
       SELECT gen_random_uuid(), now() - make_interval(days => $1::int) + n * interval '1 millisecond', 'Order', n::text, '{}', '{}', '{}', '{}'
       FROM generate_series(1, $2::int) AS n`,
      ageDays,
      count,
    );
    return;
  }
  // 0..99 999 from five cross-joined digit tables: no sequence engine or recursion limits needed.
  const digits = "(SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT 5 UNION ALL SELECT 6 UNION ALL SELECT 7 UNION ALL SELECT 8 UNION ALL SELECT 9)";
  if (count > 100_000) throw new Error("insertGeneratedEvents() makes at most 100 000 MySQL rows");
  await prisma.$executeRawUnsafe(
    `INSERT INTO \`audit_events\` (\`id\`, \`timestamp\`, \`contentType\`, \`objectId\`, \`content\`, \`queryParams\`, \`postData\`, \`headers\`)
     SELECT UUID(), UTC_TIMESTAMP(3) - INTERVAL ? DAY + INTERVAL (n * 1000) MICROSECOND, 'Order', n, '{}', '{}', '{}', '{}'
     FROM (SELECT a.d + 10 * b.d + 100 * c.d + 1000 * e.d + 10000 * f.d AS n
           FROM ${digits} a CROSS JOIN ${digits} b CROSS JOIN ${digits} c CROSS JOIN ${digits} e CROSS JOIN ${digits} f) AS numbers
     WHERE n < ?`,
    ageDays,
    count,
  );
}
