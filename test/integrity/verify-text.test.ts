/**
 * The chain sequence read as text: `prismaStore(prisma, { pgPool })` reads it with one COPY
 * through node-postgres and hashes it in threads. Whatever the text, the threads and the
 * chunking, verify must report exactly what the paged read through Prisma reports.
 */
import fc from "fast-check";
import { Pool } from "pg";

import { eventHash } from "../../src/integrity/canonical-event";
import { signCheckpoint } from "../../src/integrity/integrity-keys";
import { verifyAuditTrail } from "../../src/integrity/verify-trail";
import type { AuditEventRecord } from "../../src/model/event-record";
import { wholeRows } from "../../src/stores/pg-chain-copy";
import { prismaStore } from "../../src/stores/prisma-store";
import { openDatabase, type TestDatabase } from "../support/databases";
import { recordArbitrary } from "./record-arbitrary";
import { buildTrail, rawSql, TEST_KEYS, writeTrail } from "./verify-trail-writer";
import { testPgPool } from "../support/test-pg-pool";

const key = [
  { id: "2027-01", secret: "a test secret of at least thirty-two characters, new" },
  { id: "2026-01", secret: "a test secret of at least thirty-two characters, old" },
];

/** What PostgreSQL's text and jsonb cannot hold (NUL, a lone surrogate), replaced: everything else any text may carry stays. */
function storable(value: unknown): unknown {
  if (typeof value === "string") return value.replace(/\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "?");
  if (Array.isArray(value)) return value.map(storable);
  if (typeof value !== "object" || value === null || value instanceof Date) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [storable(k), storable(v)]));
}

describe("wholeRows", () => {
  it("re-cuts any chunking of rows into chunks of whole rows, at most `limit` each, in order, each owning its memory", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.string({ unit: "binary" }).map((s) => s.replace(/\n/g, "")), { maxLength: 30 }), fc.array(fc.nat({ max: 50 }), { maxLength: 10 }), fc.integer({ min: 1, max: 6 }), fc.boolean(), async (rows, cuts, limit, lastEnded) => {
        const text = rows.map((row, i) => (i < rows.length - 1 || lastEnded ? `${row}\n` : row)).join("");
        const bytes = Buffer.from(text);
        const pieces: Uint8Array[] = [];
        let at = 0;
        for (const cut of cuts) {
          pieces.push(bytes.subarray(at, Math.min(bytes.length, at + cut)));
          at = Math.min(bytes.length, at + cut);
        }
        pieces.push(bytes.subarray(at));
        const chunks: Uint8Array[] = [];
        for await (const chunk of wholeRows((async function* () { yield* pieces; })(), limit)) chunks.push(chunk);
        expect(Buffer.concat(chunks).toString()).toBe(text);
        for (const [i, chunk] of chunks.entries()) {
          const newlines = chunk.filter((b) => b === 0x0a).length;
          expect(newlines).toBeLessThanOrEqual(limit);
          if (i < chunks.length - 1) expect(chunk.at(-1)).toBe(0x0a);
          expect(chunk.byteLength).toBeGreaterThan(0);
          expect([chunk.byteOffset, chunk.byteLength]).toEqual([0, chunk.buffer.byteLength]);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe("verify through pgPool on postgresql", () => {
  let db: TestDatabase<"postgresql">;
  let pool: Pool;
  /** The test database as the trail helpers, written for every provider, take it. */
  const helperDb = (): TestDatabase => db as unknown as TestDatabase;
  beforeAll(async () => {
    db = await openDatabase("postgresql");
    pool = testPgPool(db.url, { max: 2 });
  });
  afterAll(async () => {
    await pool?.end();
    await db?.close();
  });

  it("refuses a pgPool that is no pool, naming the fix", () => {
    expect(() => prismaStore(db.prisma, { pgPool: {} as never })).toThrow(/pgPool must be a node-postgres Pool/);
  });

  it("reports exactly what the paged read reports on a trail of any text, clean and then altered, whatever the threads and chunks", async () => {
    const paged = prismaStore(db.prisma);
    const text = prismaStore(db.prisma, { pgPool: pool });
    await fc.assert(
      fc.asyncProperty(fc.array(recordArbitrary, { minLength: 1, maxLength: 12 }), fc.integer({ min: 0, max: 2 }), fc.integer({ min: 1, max: 5 }), fc.nat(), async (records, workers, pageSize, target) => {
        await db.reset();
        const chainId = "0193c0de-aaaa-7bbb-8ccc-123456789abc";
        let prevHash: string | null = null;
        const events = records.map((record, i): AuditEventRecord => {
          const event: AuditEventRecord = { ...(storable(record) as AuditEventRecord), id: record.id, timestamp: record.timestamp, chainId, seq: i + 1, prevHash, hash: null };
          event.hash = eventHash(event);
          prevHash = event.hash;
          return event;
        });
        const ids = new Set(events.map((e) => e.id));
        fc.pre(ids.size === events.length);
        await paged.writeRows(events.map((e) => ({ ...e })));
        // The chain's head signed, as closeAudit() signs it: else its events are uncovered (any date, the future too).
        const head = events.at(-1)!;
        const fields = { chainId, seq: head.seq!, hash: head.hash!, keyId: TEST_KEYS.signing.id, createdAt: new Date() };
        await (db.prisma as unknown as { auditCheckpoint: { create(a: object): Promise<unknown> } }).auditCheckpoint.create({ data: { ...fields, seq: BigInt(fields.seq), signature: signCheckpoint(fields, TEST_KEYS.signing) } });
        const clean = await verifyAuditTrail({ store: text, key, workers, pageSize });
        expect(clean).toEqual({ ok: true, verified: events.length, chains: 1, problems: [], unsigned: 0, uncovered: 0 });
        const victim = events[target % events.length]!;
        await rawSql(helperDb())(`UPDATE "audit_events" SET "userId" = ? WHERE "id" = ?::uuid`, `${victim.userId ?? ""}\t\n\\x`, victim.id);
        const expected = await verifyAuditTrail({ store: paged, key, pageSize });
        expect(expected.problems).toEqual([expect.objectContaining({ kind: "altered", chainId, seq: victim.seq, id: victim.id })]);
        await expect(verifyAuditTrail({ store: text, key, workers, pageSize })).resolves.toEqual(expected);
      }),
      { numRuns: Number(process.env.VERIFY_PROPERTY_RUNS ?? 25) },
    );
  }, 300_000);

  it("gives its connection back after a full read, and discards it after a read ended early", async () => {
    const store = prismaStore(db.prisma, { pgPool: pool });
    await db.reset();
    await writeTrail(helperDb(), store, buildTrail([6, 5], 2));
    const chunks: Uint8Array[] = [];
    for await (const chunk of store.readChainText!({ source: "all", limit: 2 })) chunks.push(chunk);
    expect(chunks.length).toBeGreaterThan(3);
    expect(pool.totalCount - pool.idleCount).toBe(0);
    for await (const chunk of store.readChainText!({ source: "all", limit: 2 })) {
      expect(chunk.byteLength).toBeGreaterThan(0);
      break;
    }
    expect(pool.totalCount - pool.idleCount).toBe(0);
    await expect(verifyAuditTrail({ store, key, workers: 1, pageSize: 3 })).resolves.toMatchObject({ ok: true, verified: 11, chains: 2 });
    expect(TEST_KEYS.byId.size).toBe(2);
  });
});
