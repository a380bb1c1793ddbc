/**
 * Property: whatever an attacker writes into an event's JSON columns with raw SQL (numbers
 * beyond the double range, text that is not JSON where the database keeps any text, deep
 * nesting, an own "__proto__" key), verify reports that event `altered` at its chain and seq
 * and goes on to check the rest of the trail; it never stops on a value it cannot hash.
 * And on SQLite, whose instants are text compared as stored, the same instant rewritten in
 * another form is `altered` too.
 */
import BetterSqlite3 from "better-sqlite3";
import fc from "fast-check";

import { verifyAuditTrail } from "../../src/integrity/verify-trail";
import { prismaStore } from "../../src/stores/prisma-store";
import { connectClient, openDatabase, providers, type Provider, type TestDatabase } from "../support/databases";
import { buildTrail, rawSql, TEST_KEYS, writeTrail } from "./verify-trail-writer";

const key = [
  { id: "2027-01", secret: "a test secret of at least thirty-two characters, new" },
  { id: "2026-01", secret: "a test secret of at least thirty-two characters, old" },
];

/** The deepest array nesting inside `{"a": ...}` each database's JSON column takes (MariaDB's JSON_VALID stops at 31 levels, PostgreSQL at its stack depth). */
const MAX_DEPTH: Record<Provider, number> = { postgresql: 10_000, mysql: 30, sqlite: 50_000 };

/** Hostile JSON text for a content column whose original text is `original`. */
function hostileText(provider: Provider): fc.Arbitrary<(original: string) => string> {
  const huge = fc.tuple(fc.constantFrom("", "-"), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 309, max: 9999 })).map(([sign, digit, exponent]) => (original: string) => `{"amount": ${sign}${digit}e${exponent}, "note": ${JSON.stringify(original.slice(0, 20))}}`);
  const longInteger = fc.integer({ min: 310, max: 400 }).map((digits) => () => `{"amount": 1${"0".repeat(digits)}}`);
  const deep = fc.oneof(fc.integer({ min: 1, max: MAX_DEPTH[provider] }), fc.constant(MAX_DEPTH[provider])).map((depth) => () => `{"a": ${"[".repeat(depth)}${"]".repeat(depth)}}`);
  const proto = fc.constant((original: string) => `${original.slice(0, -1)}, "__proto__": {"approvedBy": "ceo", "amount": 1000000}}`);
  const kinds = [huge, longInteger, deep, proto];
  // SQLite's JSONB column keeps any text: some of it no JSON parser reads, some makes NaN or Infinity in other parsers.
  if (provider === "sqlite") kinds.push(fc.constantFrom("NaN", '{"amount": NaN}', '{"amount": Infinity}', '{"amount": 1', "", "not json").map((text) => () => text));
  return fc.oneof(...kinds);
}

describe.each(providers)("verify reads hostile stored values on %s", (provider) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await openDatabase(provider);
  });
  afterAll(() => db?.close());

  it("reports an event whose JSON holds what no writer stores as altered, and checks the rest of the trail", async () => {
    const store = prismaStore(db.prisma);
    await fc.assert(
      fc.asyncProperty(hostileText(provider), fc.nat(), fc.nat(), async (hostile, a, b) => {
        await db.reset();
        const trail = buildTrail([5, 4], 2);
        await writeTrail(db, store, trail);
        const first = trail.events.filter((e) => e.chainId === trail.chains[0])[a % 5]!;
        const second = trail.events.filter((e) => e.chainId === trail.chains[1])[b % 4]!;
        const sql = rawSql(db);
        await sql(`UPDATE "audit_events" SET "content" = ?::jsonb WHERE "id" = ?`, hostile(JSON.stringify(first.content)), first.id);
        await sql(`UPDATE "audit_events" SET "userId" = ? WHERE "id" = ?`, "mallory", second.id);
        const report = await verifyAuditTrail({ store, key, pageSize: 3 });
        expect(report.ok).toBe(false);
        expect(report.verified).toBe(9);
        expect(report.problems).toEqual([
          expect.objectContaining({ kind: "altered", chainId: first.chainId, seq: first.seq, id: first.id }),
          expect.objectContaining({ kind: "altered", chainId: second.chainId, seq: second.seq, id: second.id }),
        ]);
      }),
      { numRuns: Number(process.env.VERIFY_PROPERTY_RUNS ?? 12) },
    );
    expect(TEST_KEYS.signing.id).toBe("2027-01");
  }, 300_000);
});

describe("verify and SQLite's instant text", () => {
  let db: TestDatabase<"sqlite">;
  beforeAll(async () => {
    db = await openDatabase("sqlite");
  });
  afterEach(() => db.reset());
  afterAll(() => db?.close());

  it("reports the same instant stored in another form as altered: range queries compare the text", async () => {
    const store = prismaStore(db.prisma);
    const trail = buildTrail([4], 2);
    await writeTrail(db as unknown as TestDatabase, store, trail);
    await expect(verifyAuditTrail({ store, key })).resolves.toMatchObject({ ok: true, problems: [] });
    const [moved, zulu] = [trail.events[1]!, trail.events[2]!];
    const iso = (at: Date) => at.toISOString();
    const inZone = (at: Date) => `${new Date(at.getTime() + 14 * 3_600_000).toISOString().slice(0, -1)}+14:00`;
    expect(new Date(inZone(moved.timestamp)).getTime()).toBe(moved.timestamp.getTime());
    const sql = rawSql(db as unknown as TestDatabase);
    await sql(`UPDATE "audit_events" SET "timestamp" = ? WHERE "id" = ?`, inZone(moved.timestamp), moved.id);
    await sql(`UPDATE "audit_events" SET "timestamp" = ? WHERE "id" = ?`, iso(zulu.timestamp), zulu.id);
    const report = await verifyAuditTrail({ store, key });
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual([expect.objectContaining({ kind: "altered", chainId: moved.chainId, seq: moved.seq, id: moved.id, detail: expect.stringContaining("+14:00") })]);
    // The first problem of a chain is reported; the other one shows once the first is put back.
    await sql(`UPDATE "audit_events" SET "timestamp" = ? WHERE "id" = ?`, iso(moved.timestamp).replace("Z", "+00:00"), moved.id);
    expect((await verifyAuditTrail({ store, key })).problems).toEqual([expect.objectContaining({ kind: "altered", seq: zulu.seq, id: zulu.id })]);
  });

  /** The same instant in the forms SQL or another client may store it in. */
  const sameInstant = (at: Date): fc.Arbitrary<string | number | bigint> => {
    const iso = at.toISOString();
    const zoned = (hours: number) => `${new Date(at.getTime() + hours * 3_600_000).toISOString().slice(0, -1)}${hours < 0 ? "-" : "+"}${String(Math.abs(hours)).padStart(2, "0")}:00`;
    return fc.oneof(
      fc.constantFrom<string | number | bigint>(iso, iso.replace("Z", "+00:00"), iso.replace("Z", "-00:00"), iso.replace("Z", ""), iso.replace("T", " ").replace("Z", "+00:00"), iso.replace("Z", "000+00:00"), iso.replace("Z", "+0000"), iso.replace("T", "t").replace("Z", "+00:00")),
      fc.constantFrom<string | number | bigint>(at.getTime(), String(at.getTime()), BigInt(at.getTime()), `0${at.getTime()}`, `${at.getTime()}.0`, ` ${at.getTime()}`),
      fc.integer({ min: -12, max: 14 }).map(zoned),
    );
  };

  it.each(["iso8601", "unixepoch-ms"] as const)("with timestampFormat %s, reports an instant stored in any other form (epoch ms, digits as text, another zone) as altered, and takes the adapter's own form", async (timestampFormat) => {
    const client = connectClient(db, { timestampFormat });
    const raw = new BetterSqlite3(db.url.slice("file:".length));
    try {
      const store = prismaStore(client);
      const trail = buildTrail([3], 2);
      await writeTrail({ ...db, prisma: client } as unknown as TestDatabase, store, trail);
      await expect(verifyAuditTrail({ store, key })).resolves.toMatchObject({ ok: true, verified: 3, problems: [] });
      const writerType = timestampFormat === "iso8601" ? "text" : "integer";
      const stored = () => raw.prepare(`SELECT typeof("timestamp") AS type, CAST("timestamp" AS TEXT) AS text FROM "audit_events" ORDER BY "seq"`).all() as Array<{ type: string; text: string }>;
      expect(stored().map((row) => row.type)).toEqual([writerType, writerType, writerType]);
      const original = stored();
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: 2 }).chain((i) => fc.tuple(fc.constant(i), sameInstant(trail.events[i]!.timestamp))), async ([i, value]) => {
          const event = trail.events[i]!;
          raw.prepare(`UPDATE "audit_events" SET "timestamp" = ? WHERE "id" = ?`, ).run(value, event.id);
          const after = stored()[i]!;
          const report = await verifyAuditTrail({ store, key });
          raw.prepare(`UPDATE "audit_events" SET "timestamp" = ? WHERE "id" = ?`).run(original[i]!.type === "integer" ? BigInt(original[i]!.text) : original[i]!.text, event.id);
          if (after.type === original[i]!.type && after.text === original[i]!.text) {
            expect(report).toMatchObject({ ok: true, problems: [] });
          } else {
            expect(report.problems).toEqual([expect.objectContaining({ kind: "altered", seq: event.seq, id: event.id, detail: expect.stringContaining(`its timestamp is stored as ${after.type} ${JSON.stringify(after.text)}`) })]);
          }
        }),
        { numRuns: 40 },
      );
    } finally {
      raw.close();
      await client.$disconnect();
    }
  });

  it("takes instants stored as epoch milliseconds (the adapter's unixepoch-ms format) as the writer's form", async () => {
    const client = connectClient(db, { timestampFormat: "unixepoch-ms" });
    try {
      const store = prismaStore(client);
      const trail = buildTrail([3], 2);
      await writeTrail({ ...db, prisma: client } as unknown as TestDatabase, store, trail);
      await expect(verifyAuditTrail({ store, key })).resolves.toMatchObject({ ok: true, verified: 3, problems: [] });
      const first = trail.events[0]!;
      await rawSql(db as unknown as TestDatabase)(`UPDATE "audit_events" SET "timestamp" = ? WHERE "id" = ?`, `${new Date(first.timestamp.getTime() + 3_600_000).toISOString().slice(0, -1)}+01:00`, first.id);
      await expect(verifyAuditTrail({ store, key })).resolves.toMatchObject({ ok: false, problems: [expect.objectContaining({ kind: "altered", seq: 1 })] });
    } finally {
      await client.$disconnect();
    }
  });
});

describe.each(providers)("verify and a JSON key stored twice on %s", (provider) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await openDatabase(provider);
  });
  afterAll(() => db?.close());

  /** What the database's own JSON function reads of `content.order` (the library's content filters use it). */
  const orderInDatabase = async (id: string): Promise<unknown> => {
    const sql = { postgresql: `SELECT "content"->>'order' AS v FROM "audit_events" WHERE "id" = $1`, mysql: "SELECT JSON_UNQUOTE(JSON_EXTRACT(`content`, '$.order')) AS v FROM `audit_events` WHERE `id` = ?", sqlite: `SELECT json_extract("content", '$.order') AS v FROM "audit_events" WHERE "id" = ?` }[provider];
    const [row] = await (db.prisma as unknown as { $queryRawUnsafe(sql: string, ...values: unknown[]): Promise<Array<{ v: unknown }>> }).$queryRawUnsafe(sql, id);
    return row?.v;
  };

  it(provider === "postgresql" ? "keeps one value per key (jsonb, the last), so the reads and the hash agree: nothing to report" : "reports an event whose JSON gives a key twice as altered: the database's JSON functions read the first value, JSON.parse the last", async () => {
    const store = prismaStore(db.prisma);
    const trail = buildTrail([3], 2);
    await writeTrail(db, store, trail);
    const target = trail.events[1]!;
    const original = JSON.stringify(target.content);
    // The forged value first, the hashed one last: JSON.parse (and so the hash) reads the last.
    await rawSql(db)(`UPDATE "audit_events" SET "content" = ?::jsonb WHERE "id" = ?`, `{"order":"ORD-forged",${original.slice(1)}`, target.id);
    const report = await verifyAuditTrail({ store, key });
    if (provider === "postgresql") {
      expect(await orderInDatabase(target.id)).toBe((target.content as { order: string }).order);
      expect(report).toMatchObject({ ok: true, problems: [] });
      return;
    }
    expect(await orderInDatabase(target.id)).toBe("ORD-forged");
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual([expect.objectContaining({ kind: "altered", chainId: target.chainId, seq: target.seq, id: target.id, detail: expect.stringContaining('it holds the key "order" twice in one object') })]);
  });
});
