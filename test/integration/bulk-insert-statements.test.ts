import { v7 as uuidv7 } from "uuid";

import { AuditContext, auditMetrics, closeAudit, configureAudit, flushAudit, prismaStore, type AuditEventRecord } from "../../src";
import { eventHash } from "../../src/integrity/canonical-event";
import { verifyAuditTrail } from "../../src/integrity/verify-trail";
import { isRefusedData } from "../../src/stores/store-failure";
import type { EventRow } from "../../src/stores/store";
import { KEY_A } from "../integrity/chain-checker";
import { sampleRecord } from "../conformance/store-conformance";
import { connectClient, openDatabase, type TestDatabase } from "../support/databases";

jest.setTimeout(120_000);

/**
 * A batch the buffered writer hands to the store (up to 1000 events) goes through Prisma
 * as several statements: on PostgreSQL of about 128 Ki units of JSON each (1000 events of
 * a 600-character note: about 8), in one interactive transaction; on MySQL under 2 MiB
 * each (a 3000-character note: 2), in one transaction with the look-up of stored ids. The
 * other tests write a few rows, one statement. Here the batch is all or none whichever
 * statement fails, an id twice in it is stored once, the writer still isolates a refused
 * row, a chain position taken at row 900 fails the batch whole, and on PostgreSQL a pool
 * of one connection and a session outside UTC change nothing.
 */
const context = new AuditContext();

describe.each(["postgresql", "mysql"] as const)("a batch that spans several statements on %s", (provider) => {
  const note = "n".repeat(provider === "mysql" ? 3000 : 600);
  let db: TestDatabase<"postgresql" | "mysql">;
  const objectId = provider === "mysql" ? "`objectId`" : '"objectId"';
  const sql = (s: string) => (db.prisma as unknown as { $executeRawUnsafe(s: string): Promise<number> }).$executeRawUnsafe(s);
  const count = async () => Number(((await db.prisma.$queryRawUnsafe<{ n: unknown }[]>("SELECT count(*) AS n FROM audit_events")) as [{ n: unknown }])[0].n);
  beforeAll(async () => {
    db = await openDatabase(provider, { name: "bulk_statements" });
    await sql(`ALTER TABLE audit_events ADD CONSTRAINT no_forbidden CHECK (${objectId} <> 'forbidden')`);
  });
  afterEach(async () => {
    await closeAudit();
    configureAudit({});
    await db.reset();
  });
  afterAll(() => db?.close());

  const rowsOf = (n: number, at: (i: number) => Partial<AuditEventRecord> = () => ({})) => {
    const store = prismaStore(db.prisma);
    return Array.from({ length: n }, (_, i) => store.toRow(sampleRecord({ objectId: String(i), content: { note, i }, ...at(i) }), context));
  };

  it("a row refused in a later statement fails the batch whole, as refused data", async () => {
    const rows = rowsOf(1000, (i) => (i === 900 ? { objectId: "forbidden" } : {}));
    const error = await prismaStore(db.prisma).writeRows(rows).then(() => undefined, (e: unknown) => e);
    expect({ refused: isRefusedData(error), stored: await count() }).toEqual({ refused: true, stored: 0 });
  });

  it("an id twice in a batch, in different statements, is stored once, as first given", async () => {
    const rows = rowsOf(1000);
    rows[900] = { ...rows[900]!, id: rows[10]!.id };
    await prismaStore(db.prisma).writeRows(rows);
    const [row] = (await db.prisma.$queryRawUnsafe<{ o: string }[]>(`SELECT ${objectId} AS o FROM audit_events WHERE id = '${rows[10]!.id}'`)) as [{ o: string }];
    expect({ stored: await count(), o: row.o }).toEqual({ stored: 999, o: "10" });
  });

  it("buffered: 1000 events, one refused: 999 and its stand-in stored", async () => {
    const before = auditMetrics().rejected;
    configureAudit({ store: prismaStore(db.prisma), writeMode: "buffered", maxBatchSize: 1000, flushIntervalMs: 60_000, logger: { warn: () => undefined, error: () => undefined } });
    const created = Array.from({ length: 1000 }, (_, i) => context.createEvent({ contentType: "Order", objectId: i === 900 ? "forbidden" : String(i) }, { note }).catch(() => undefined));
    await Promise.all(created);
    await flushAudit();
    expect({ stored: await count(), rejected: auditMetrics().rejected - before }).toEqual({ stored: 1000, rejected: 1 });
  });

  it("chained: 1000 events in batches of 1000 verify; a clash at row 900 writes nothing of the batch", async () => {
    const store = prismaStore(db.prisma);
    configureAudit({ store, writeMode: "buffered", maxBatchSize: 1000, flushIntervalMs: 60_000, integrity: { key: KEY_A } });
    for (let i = 0; i < 1000; i++) void context.createEvent({ contentType: "Order", objectId: String(i) }, { note });
    await closeAudit();
    expect(await verifyAuditTrail({ store, key: KEY_A })).toMatchObject({ ok: true, verified: 1000 });
    const chainId = uuidv7();
    const chain: EventRow[] = [];
    let prevHash: string | null = null;
    for (let seq = 1; seq <= 1000; seq++) {
      const row = store.toRow(sampleRecord({ objectId: String(seq), content: { note }, chainId, seq, prevHash }), context);
      row.hash = prevHash = eventHash(row as AuditEventRecord);
      chain.push(row);
    }
    await store.writeRows([{ ...chain[899]!, id: uuidv7() }]);
    await expect(store.writeRows(chain)).rejects.toThrow(/clashes/);
    expect(await count()).toBe(1001);
  });

  if (provider === "postgresql") {
    it("a pool of one connection: two writers and the app's reads at once all finish", async () => {
      const one = connectClient(db, { max: 1 });
      try {
        const a = prismaStore(one);
        const b = prismaStore(one);
        const reads = Array.from({ length: 20 }, () => (one as unknown as { auditEvent: { count(): Promise<number> } }).auditEvent.count());
        await Promise.all([a.writeRows(rowsOf(1000)), b.writeRows(rowsOf(1000)), a.writeRows(rowsOf(1000)), ...reads]);
        expect(await count()).toBe(3000);
      } finally {
        await (one as unknown as { $disconnect(): Promise<void> }).$disconnect();
      }
    });

    it("a session outside UTC stores each instant as it is", async () => {
      const newYork = connectClient(db, { options: "-c TimeZone=America/New_York" });
      try {
        const rows = rowsOf(1000);
        await prismaStore(newYork).writeRows(rows);
        const stored = (await db.prisma.$queryRawUnsafe<{ id: string; ms: number }[]>(`SELECT id::text AS id, (extract(epoch from "timestamp") * 1000)::float8 AS ms FROM audit_events`)) as { id: string; ms: number }[];
        const byId = new Map(stored.map((r) => [r.id, r.ms]));
        expect(rows.filter((r) => byId.get(r.id) !== (r.timestamp as Date).getTime())).toEqual([]);
      } finally {
        await (newYork as unknown as { $disconnect(): Promise<void> }).$disconnect();
      }
    });
  }
});
