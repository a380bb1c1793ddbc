import fc from "fast-check";

import { AuditContext, closeAudit, configureAudit, prismaStore, verifyAuditTrail, type AuditEventRecord, type PrismaStore } from "../../src";
import { newEventIdentity } from "../../src/model/event-record";
import type { EventRow } from "../../src/stores/store";
import { isRefusedData } from "../../src/stores/store-failure";
import { sampleRecord } from "../conformance/store-conformance";
import { eventAt, expectedObservations, observe, storedInstants } from "../support/clock-observations";
import { copyRecordingPool, type CopyRecordingPool } from "../support/copy-pool";
import { connectClient, openDatabase, type TestDatabase } from "../support/databases";

/**
 * `prismaStore(prisma, { pgPool })` writes the buffered writer's batches (`writeRows`) with
 * COPY through the pool. Its outcome must be the outcome of the path without a pool, for
 * every kind of value and every kind of failure: what is stored and read back, what is
 * skipped, what is refused and how the refusal is classified.
 */

/** A character: any code point but NUL mostly (poison below puts NUL in), often one COPY's text format escapes or marks. */
const char = fc.oneof(
  { weight: 8, arbitrary: fc.string({ unit: "binary", minLength: 1, maxLength: 1 }).filter((c) => c !== "\u0000") },
  { weight: 4, arbitrary: fc.constantFrom("\\", "\t", "\n", "\r", '"', "'", "\\N", "\\.", ",", "\u2028", "\u0001", "😀") },
);
/** What neither path can store as it is, put into one field of one row of a batch now and then: NUL, half a surrogate pair. */
const poison = fc.oneof(
  { weight: 3, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.record({ row: fc.nat(), field: fc.constantFrom("objectId", "userId", "content", "headers"), char: fc.constantFrom("\u0000", "\ud800", "\udfff") }) },
);
const text = fc.string({ unit: char, maxLength: 30 });
const json = fc.dictionary(text, fc.jsonValue({ stringUnit: char, maxDepth: 3 }), { maxKeys: 4 }) as fc.Arbitrary<AuditEventRecord["content"]>;
/** Any unchained event: every field, any text, any instant of years 1000-9999. */
const eventArbitrary: fc.Arbitrary<AuditEventRecord> = fc.record({
  id: fc.uuid(),
  timestamp: fc.date({ min: new Date("1000-01-01T00:00:00Z"), max: new Date("9999-12-31T23:59:59.999Z"), noInvalidDate: true }),
  contentType: text.filter((s) => s.length > 0),
  objectId: text.filter((s) => s.length > 0),
  content: json,
  userId: fc.option(text),
  url: fc.option(text),
  method: fc.option(fc.constantFrom("GET", "POST")),
  remoteAddr: fc.option(text),
  queryParams: json,
  postData: json,
  headers: json,
  action: fc.option(text),
  outcome: fc.constantFrom("success", "failure"),
  severity: fc.constantFrom("info", "critical"),
  tenantId: fc.option(text),
  requestId: fc.option(text),
  chainId: fc.constant(null),
  seq: fc.constant(null),
  prevHash: fc.constant(null),
  hash: fc.constant(null),
});
const KEY = "copy-writer-test-key-0123456789abcdef";

type RawClient = { $queryRawUnsafe<T>(sql: string, ...values: unknown[]): Promise<T> };
const raw = (db: TestDatabase<"postgresql">) => db.prisma as unknown as RawClient;

/** Every row of a table as PostgreSQL's own JSON of it, in id order: what is stored, whatever reads it. */
async function tableText(db: TestDatabase<"postgresql">, table = "audit_events"): Promise<string[]> {
  const rows = await raw(db).$queryRawUnsafe<{ row: string }[]>(`SELECT row_to_json(t)::text AS row FROM "${table}" t ORDER BY id`);
  return rows.map((r) => r.row);
}

/** What a write ended as: stored, or the error the store threw and how the buffered writer classifies it. */
async function outcome(write: Promise<void>): Promise<unknown> {
  try {
    await write;
    return "stored";
  } catch (error) {
    const { name, code, message } = error as { name: string; code?: string; message: string };
    return { name, code, message, refused: isRefusedData(error) };
  }
}

describe("writeRows through COPY (prismaStore with pgPool) on postgresql", () => {
  let viaCopy: TestDatabase<"postgresql">;
  let viaPrisma: TestDatabase<"postgresql">;
  let pool: CopyRecordingPool;
  let copyStore: PrismaStore;
  let prismaOnly: PrismaStore;
  const context = new AuditContext();
  const warnings: string[] = [];

  beforeAll(async () => {
    viaCopy = await openDatabase("postgresql", { name: "copy_writer" });
    viaPrisma = await openDatabase("postgresql", { name: "copy_writer_ref" });
    pool = copyRecordingPool(viaCopy.url);
    copyStore = prismaStore(viaCopy.prisma, { pgPool: pool });
    prismaOnly = prismaStore(viaPrisma.prisma);
    configureAudit({ logger: { warn: (message: string) => void warnings.push(message) } });
  });
  afterEach(async () => {
    await closeAudit();
    configureAudit({ logger: { warn: (message: string) => void warnings.push(message) } });
    await viaCopy.reset();
    await viaPrisma.reset();
  });
  afterAll(async () => {
    configureAudit({});
    await pool?.end();
    await viaCopy?.close();
    await viaPrisma?.close();
  });

  /** Writes `rows` both ways; the outcomes and the tables must be the same. Answers the outcome. */
  async function writeBothWays(rows: readonly EventRow[]): Promise<unknown> {
    const [copied, inserted] = [await outcome(copyStore.writeRows(rows)), await outcome(prismaOnly.writeRows(rows))];
    expect(copied).toEqual(inserted);
    expect(await tableText(viaCopy)).toEqual(await tableText(viaPrisma));
    return copied;
  }

  it("stores any unchained batch exactly as the path without a pool does, or fails alike, and reads it back through Prisma alike", async () => {
    let copiedWhole = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(eventArbitrary, { minLength: 1, maxLength: 6 }), fc.array(fc.constantFrom("action", "tenantId", "requestId", "userId"), { maxLength: 2 }), poison, async (records, dropped, bad) => {
        await viaCopy.reset();
        await viaPrisma.reset();
        // Some rows without some fields: a batch of several field sets is several COPYs in one transaction.
        const rows = records.map((record, i) => {
          const row: Record<string, unknown> = { ...copyStore.toRow(record, context) };
          if (i % 2 === 1) for (const field of dropped) delete row[field];
          if (bad !== null && bad.row % records.length === i) row[bad.field] = bad.field === "content" || bad.field === "headers" ? { [bad.char]: bad.char } : `x${bad.char}`;
          return row as EventRow;
        });
        const copies = pool.copies.length;
        const result = await writeBothWays(rows);
        if (result === "stored") {
          const ids = [...new Set(rows.map((row) => row.id))];
          for (const id of ids) expect(await copyStore.getEvent(id)).toEqual(await prismaOnly.getEvent(id));
          // Half a surrogate pair cannot go as UTF-8 COPY text: such a batch goes the way without a pool.
          if (bad === null && ids.length === rows.length) {
            expect(pool.copies.slice(copies).every((copy) => copy.ok)).toBe(true);
            copiedWhole++;
          }
        }
      }),
      { numRuns: 80 },
    );
    // The property would hold for a store that never copied: most batches must have gone through COPY.
    expect(copiedWhole).toBeGreaterThan(30);
    // 80 runs of two writes and reads each: about 10 s on an idle machine, over 30 s at a
    // load of 7. A run cut off by jest's timeout would go on writing under the next tests.
  }, 180_000);

  it("stores awkward values alike: backslashes, quotes, tabs, newlines, \\N and \\. as text, huge values, NaN and -0, Dates, Decimal-like and BigInt", async () => {
    const awkward = 'back\\slash "quoted" \'single\'\ttab\nnewline\r\ncrlf \\N \\. end\\';
    const huge = "x".repeat(2_000_000);
    const rows = [
      copyStore.toRow(sampleRecord({ objectId: awkward, userId: "\\N", url: "\\.", content: { awkward, [awkward]: [awkward, { huge }], nan: Number.NaN, negativeZero: -0, big: 1e21, tiny: 5e-324 } }), context),
      copyStore.toRow(sampleRecord({ objectId: "\\", content: { date: new Date("2026-03-04T05:06:07.891Z") } as never, headers: { "x-nul-escape": "\\u0000" } }), context),
      copyStore.toRow(sampleRecord({ timestamp: new Date("1000-01-01T00:00:00.000Z"), userId: "", remoteAddr: "" }), context),
      copyStore.toRow(sampleRecord({ timestamp: new Date("9999-12-31T23:59:59.999Z") }), context),
    ];
    const copies = pool.copies.length;
    expect(await writeBothWays(rows)).toBe("stored");
    expect(pool.copies.slice(copies)).toEqual([expect.objectContaining({ ok: true })]);
    const [first] = await raw(viaCopy).$queryRawUnsafe<{ objectId: string; userId: string; huge: number }[]>(
      `SELECT "objectId", "userId", length(content->'${awkward.replaceAll("'", "''")}'->1->>'huge') AS huge FROM audit_events WHERE id = $1::uuid`,
      rows[0]!.id,
    );
    expect(first).toEqual({ objectId: awkward, userId: "\\N", huge: 2_000_000 });
  });

  it("refuses a NUL character as the path without a pool does, classified as refused data, and stores none of its batch", async () => {
    for (const bad of [{ objectId: "nul\u0000" }, { content: { text: "nul\u0000" } }, { headers: { "nul\u0000": "x" } }]) {
      const rows = [copyStore.toRow(sampleRecord(), context), copyStore.toRow(sampleRecord(bad as Partial<AuditEventRecord>), context)];
      expect(await writeBothWays(rows)).toMatchObject({ name: "AuditStoreError", refused: true });
      expect(await tableText(viaCopy)).toEqual([]);
    }
  });

  it("sends a batch holding half a surrogate pair the way without a pool, which UTF-8 COPY text cannot carry, with the same outcome", async () => {
    for (const bad of [{ objectId: "lone\ud800" }, { userId: "\udc00lone" }, { content: { text: "lone\udc00" } }, { content: { "\ud800": 1 } }]) {
      const rows = [copyStore.toRow(sampleRecord(), context), copyStore.toRow(sampleRecord(bad as Partial<AuditEventRecord>), context)];
      const copies = pool.copies.length;
      await writeBothWays(rows);
      expect(pool.copies.slice(copies).filter((copy) => copy.ok)).toEqual([]);
    }
  });

  it("cancels a COPY whose text was partly sent when a later row holds half a surrogate pair: the batch goes the way without a pool, with its outcome, unwarned", async () => {
    // 12 rows of 0.9 Mi units pass the first piece of COPY text (8 Mi units), so the bad row is built after a piece went out.
    const big = "b".repeat(900_000);
    for (const [bad, in_] of [[{ objectId: "late\ud800" }, "objectId"], [{ content: { text: "late\udc00" } }, "content"]] as const) {
      const rows = [...Array.from({ length: 12 }, (_, i) => sampleRecord({ objectId: `big${i}`, content: { big } })), sampleRecord(bad as Partial<AuditEventRecord>)].map((record) =>
        copyStore.toRow(record, context),
      );
      // A first row of other fields: its COPY goes first, so the cancelled one is the second of a transaction, rolled back.
      const { tenantId: _dropped, ...other } = copyStore.toRow(sampleRecord({ objectId: "other fields" }), context);
      rows.unshift(other as EventRow);
      const copies = pool.copies.length;
      warnings.length = 0;
      // writeBothWays asserts the outcome and the table are those of the path without a pool.
      await writeBothWays(rows);
      expect({ in: in_, copied: pool.copies.slice(copies).map((copy) => copy.ok), warnings }).toEqual({ in: in_, copied: [true, false], warnings: [] });
      await viaCopy.reset();
      await viaPrisma.reset();
    }
  });

  it("skips an id stored already, or twice in the batch, as the path without a pool does", async () => {
    const first = sampleRecord();
    await copyStore.insert([first], { context });
    await prismaOnly.insert([first], { context });
    const fresh = Array.from({ length: 20 }, (_, i) => sampleRecord({ objectId: `f${i}` }));
    const rows = [sampleRecord({ id: first.id, objectId: "replayed" }), ...fresh, fresh[2]!].map((record) => copyStore.toRow(record, context));
    expect(await writeBothWays(rows)).toBe("stored");
    expect((await copyStore.getEvent(first.id))!.objectId).toBe("42");
  });

  it("classifies a row a CHECK constraint refuses as refused data, stores none of its batch, and the buffered writer isolates it", async () => {
    for (const db of [viaCopy, viaPrisma]) await raw(db).$queryRawUnsafe(`ALTER TABLE audit_events ADD CONSTRAINT copy_no_forbidden CHECK ("objectId" <> 'forbidden')`);
    try {
      const rows = [sampleRecord(), sampleRecord({ objectId: "forbidden" }), sampleRecord()].map((record) => copyStore.toRow(record, context));
      expect(await writeBothWays(rows)).toMatchObject({ name: "AuditStoreError", refused: true });
      expect(await tableText(viaCopy)).toEqual([]);

      const errors: string[] = [];
      configureAudit({ store: copyStore, writeMode: "buffered", logger: { warn: () => undefined, error: (message: string) => void errors.push(message) } });
      for (const objectId of ["a", "forbidden", "b"]) await new AuditContext().createEvent({ contentType: "Order", objectId });
      await closeAudit();
      const stored = await raw(viaCopy).$queryRawUnsafe<{ objectId: string }[]>(`SELECT "objectId" FROM audit_events WHERE "contentType" = 'Order' ORDER BY "objectId"`);
      expect(stored.map((row) => row.objectId)).toEqual(["a", "b"]);
      expect(errors.join("\n")).toMatch(/refused audit event [0-9a-f-]{36} for what it holds: .*23514.*"objectId":"forbidden"/);
    } finally {
      for (const db of [viaCopy, viaPrisma]) await raw(db).$queryRawUnsafe(`ALTER TABLE audit_events DROP CONSTRAINT copy_no_forbidden`);
    }
  });

  describe("chained batches (all or none)", () => {
    const chainOf = (length: number, chainId = newEventIdentity().id, from = 1): EventRow[] =>
      Array.from({ length }, (_, i) => copyStore.toRow(sampleRecord({ objectId: `c${i}`, chainId, seq: from + i, prevHash: "0".repeat(64), hash: String(from + i).padStart(64, "a") }), context));

    it("stores a chained batch through COPY, and a replay of it (whole or in part) stores nothing twice and throws nothing", async () => {
      const chain = chainOf(12);
      const copies = pool.copies.length;
      expect(await writeBothWays(chain)).toBe("stored");
      expect(pool.copies.slice(copies)).toEqual([expect.objectContaining({ ok: true })]);
      expect(await writeBothWays(chain)).toBe("stored");
      expect(await writeBothWays([...chain.slice(8), ...chainOf(3, chain[0]!.chainId!, 13)])).toBe("stored");
      expect(await tableText(viaCopy)).toHaveLength(15);
    });

    it("refuses a batch whose position another event holds, naming the clash, and stores none of it", async () => {
      const chain = chainOf(5);
      await writeBothWays(chain);
      const clash = [...chainOf(2, chain[0]!.chainId!, 6), ...chainOf(1, chain[0]!.chainId!, 3)];
      const result = await writeBothWays(clash);
      expect(result).toMatchObject({ name: "AuditStoreError", code: "ERR_AUDIT_STORE", message: expect.stringMatching(/position .*#3, to be taken by event .*, holds event/) });
      expect(await tableText(viaCopy)).toHaveLength(5);
    });

    it("writes a buffered, chained trail through COPY that verifies whole", async () => {
      const copies = pool.copies.length;
      configureAudit({ store: copyStore, writeMode: "buffered", maxBatchSize: 100, integrity: { key: KEY, checkpointEvery: 250 } });
      for (let i = 0; i < 1000; i++) await new AuditContext({ user: `u${i % 7}` }).createEvent({ contentType: "Order", objectId: String(i) }, { i, text: "tab\tand\\backslash" });
      await closeAudit();
      expect(pool.copies.slice(copies).filter((copy) => copy.ok).length).toBeGreaterThanOrEqual(10);
      await expect(verifyAuditTrail({ store: copyStore, key: KEY })).resolves.toMatchObject({ ok: true, verified: 1000, problems: [] });
    });
  });

  it("keeps every instant in UTC whatever the TimeZone of the pool's sessions and of Prisma's", async () => {
    const kathmandu = copyRecordingPool(viaCopy.url, { options: "-c TimeZone=Asia/Kathmandu" });
    const berlin = connectClient(viaCopy, { options: "-c TimeZone=Europe/Berlin" });
    try {
      const store = prismaStore(berlin, { pgPool: kathmandu });
      const millis = [Date.UTC(2026, 2, 29, 0, 59, 59, 999), Date.UTC(2026, 2, 29, 1, 0, 0, 1), Date.UTC(2026, 9, 25, 0, 30), Date.UTC(1999, 11, 31, 23, 59, 59, 999), Date.UTC(2026, 5, 15, 12)];
      const events = millis.map((at, i) => eventAt(at, String(i)));
      await store.writeRows(events.map((event) => store.toRow(event, context)));
      expect(kathmandu.copies).toEqual([expect.objectContaining({ ok: true })]);
      expect((await storedInstants(viaCopy.prisma, "postgresql")).live).toEqual(Object.fromEntries(events.map((event) => [event.id, event.timestamp.getTime()])));
      expect(await observe(store, events)).toEqual(expectedObservations(events));
      for (const event of events) expect((await store.getEvent(event.id))!.timestamp).toEqual(event.timestamp);
    } finally {
      await kathmandu.end();
      await (berlin as unknown as { $disconnect(): Promise<void> }).$disconnect();
    }
  });

  describe("when the pool cannot write", () => {
    it("writes through Prisma instead, and warns once, naming the pool's failure", async () => {
      const dead = copyRecordingPool("postgresql://postgres@127.0.0.1:1/nowhere", { connectionTimeoutMillis: 2_000 });
      try {
        const store = prismaStore(viaCopy.prisma, { pgPool: dead });
        const batches = [0, 1].map(() => [sampleRecord(), sampleRecord()].map((record) => store.toRow(record, context)));
        warnings.length = 0;
        for (const rows of batches) await store.writeRows(rows);
        expect(await tableText(viaCopy)).toHaveLength(4);
        expect(warnings).toEqual([expect.stringMatching(/COPY into "audit_events" through the pgPool given to prismaStore\(\) failed \(.*ECONNREFUSED.*\)/)]);
      } finally {
        await dead.end();
      }
    });

    it("reports an outage as an outage when the database is unreachable both ways", async () => {
      const deadUrl = "postgresql://postgres@127.0.0.1:1/nowhere";
      const dead = copyRecordingPool(deadUrl, { connectionTimeoutMillis: 2_000 });
      const unreachable = connectClient({ provider: "postgresql", url: deadUrl });
      try {
        const store = prismaStore(unreachable, { pgPool: dead });
        const result = await outcome(store.writeRows([store.toRow(sampleRecord(), context)]));
        expect(result).toMatchObject({ name: "AuditStoreError", code: "ERR_AUDIT_STORE", refused: false });
      } finally {
        await dead.end();
        await (unreachable as unknown as { $disconnect(): Promise<void> }).$disconnect();
      }
    });
  });
});
