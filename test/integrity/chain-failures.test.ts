import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { AuditContext, AuditStoreError, auditMetrics, closeAudit, configureAudit, fileSpool, flushAudit, prismaStore, type AuditStore, type EventRow } from "../../src";
import { CHAIN_FIELDS } from "../../src/model/event-record";
import { openDatabase, providers, type Provider, type TestDatabase } from "../support/databases";
import { recordingLogger } from "../writer/spool-conformance";
import { allEvents, checkDatabase, KEY_A } from "./chain-checker";

/**
 * Failed writes leave no false gap: a refused write gives its positions to the next one,
 * a write whose outcome is unknown ends its chain, a spooled batch is chained when it is
 * replayed, and an event already stored is never chained twice. On each database, through
 * the real Prisma client; the outages are a store whose writes fail (before reaching the
 * database) or whose acknowledgement is lost (after the database committed).
 */

const dir = mkdtempSync(path.join(tmpdir(), "audit-chain-failures-"));
const ref = (n: number | string) => ({ contentType: "Order", objectId: String(n) });
const outage = () => new AuditStoreError("prisma(auditEvent): could not write: Connection terminated unexpectedly");

/** The store with a switch: "down" fails every write before the database; "lost-ack" writes, then fails as a dropped connection would. */
function flaky(real: AuditStore): AuditStore & { mode: "up" | "down" | "lost-ack"; lostAcks: number } {
  const store = {
    ...real,
    mode: "up" as "up" | "down" | "lost-ack",
    lostAcks: 0,
    async writeRows(rows: readonly EventRow[]): Promise<void> {
      if (store.mode === "down") throw outage();
      await real.writeRows(rows);
      if (store.mode === "lost-ack") {
        store.lostAcks++;
        store.mode = "up";
        throw outage();
      }
    },
    async insert(events: Parameters<AuditStore["insert"]>[0], options: Parameters<AuditStore["insert"]>[1]): Promise<void> {
      if (store.mode === "down") throw outage();
      await real.insert(events, options);
      if (store.mode === "lost-ack") {
        store.lostAcks++;
        store.mode = "up";
        throw outage();
      }
    },
  };
  return store;
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.each(providers)("failed writes on %s", (provider: Provider) => {
  let db: TestDatabase;
  let real: AuditStore;

  beforeAll(async () => {
    db = await openDatabase(provider, { name: "chain-failures" });
    real = prismaStore(db.prisma);
  });
  afterEach(async () => {
    await closeAudit().catch(() => undefined);
    configureAudit({});
    await db.reset();
    if (provider === "sqlite") await db.prisma.$executeRawUnsafe("DROP TRIGGER IF EXISTS no_forbidden");
    else await db.prisma.$executeRawUnsafe("ALTER TABLE audit_events DROP CONSTRAINT IF EXISTS no_forbidden").catch(() => undefined);
  });
  afterAll(async () => {
    await db?.close();
  });

  async function forbid(): Promise<void> {
    if (provider === "sqlite") {
      await db.prisma.$executeRawUnsafe(`CREATE TRIGGER no_forbidden BEFORE INSERT ON audit_events WHEN NEW."objectId" = 'forbidden' BEGIN SELECT RAISE(ABORT, 'forbidden'); END`);
    } else {
      const column = provider === "mysql" ? "objectId" : '"objectId"';
      await db.prisma.$executeRawUnsafe(`ALTER TABLE audit_events ADD CONSTRAINT no_forbidden CHECK (${column} <> 'forbidden')`);
    }
  }

  async function expectIntact(store: AuditStore, count: number): Promise<Map<string, unknown[]>> {
    const { chains, problems } = await checkDatabase(db, store, KEY_A);
    expect(problems).toEqual([]);
    const events = await allEvents(db);
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
    expect(events).toHaveLength(count);
    return chains;
  }

  it("sync: a refused write gives its positions to the next, in the same chain", async () => {
    await forbid();
    configureAudit({ store: real, integrity: { key: KEY_A }, logger: recordingLogger() });
    const ctx = new AuditContext();
    await ctx.createEvent(ref(1));
    await expect(ctx.createEvent(ref("forbidden"))).rejects.toMatchObject({ code: "ERR_AUDIT_EVENT_REFUSED" });
    await expect(ctx.createEvents([{ contentObject: ref(2) }, { contentObject: ref("forbidden") }])).rejects.toMatchObject({ code: "ERR_AUDIT_EVENT_REFUSED" });
    const third = await ctx.createEvent(ref(3));
    expect(third.seq).toBe(2);
    await closeAudit();
    const chains = await expectIntact(real, 2);
    expect(chains.size).toBe(1);
  });

  it("sync: a write whose acknowledgement is lost ends its chain, and the next write starts another", async () => {
    const store = flaky(real);
    configureAudit({ store, integrity: { key: KEY_A } });
    const ctx = new AuditContext();
    await ctx.createEvent(ref(1));
    store.mode = "lost-ack";
    await expect(ctx.createEvent(ref(2))).rejects.toThrow("Connection terminated");
    store.mode = "down";
    await expect(ctx.createEvent(ref(3))).rejects.toThrow("Connection terminated");
    store.mode = "up";
    const fourth = await ctx.createEvent(ref(4));
    expect(fourth.seq).toBe(1);
    await closeAudit();
    // Event 2 was committed although its caller heard otherwise: at the end of the first chain, linked.
    const chains = await expectIntact(store, 3);
    expect([...chains.values()].map((chain) => (chain as { objectId: string }[]).map((e) => e.objectId)).sort()).toEqual([["1", "2"], ["4"]]);
  });

  it("buffered without a spool: a batch whose acknowledgement is lost is not chained twice", async () => {
    const store = flaky(real);
    configureAudit({ store, writeMode: "buffered", maxBatchSize: 10, flushIntervalMs: 10, integrity: { key: KEY_A, checkpointEvery: 15 }, logger: recordingLogger() });
    const ctx = new AuditContext();
    for (let n = 0; n < 25; n++) await ctx.createEvent(ref(n));
    store.mode = "lost-ack";
    for (let n = 25; n < 40; n++) await ctx.createEvent(ref(n));
    await flushAudit().catch(() => undefined);
    await flushAudit();
    for (let n = 40; n < 60; n++) await ctx.createEvent(ref(n));
    await closeAudit();
    expect(store.lostAcks).toBe(1);
    const chains = await expectIntact(store, 60);
    expect(chains.size).toBe(2);
    expect(auditMetrics().lastError).toMatch(/Connection terminated/);
  });

  it("buffered with a spool: an outage spools unchained batches, and the replay chains each event once", async () => {
    const store = flaky(real);
    const logger = recordingLogger();
    configureAudit({
      store,
      writeMode: "buffered",
      maxBatchSize: 8,
      flushIntervalMs: 10,
      spool: fileSpool({ path: path.join(dir, `${provider}-spool.log`) }),
      integrity: { key: KEY_A, checkpointEvery: 10 },
      logger,
    });
    const ctx = new AuditContext();
    await Promise.all(Array.from({ length: 20 }, (_, n) => ctx.createEvent(ref(n))));
    store.mode = "down";
    await Promise.all(Array.from({ length: 30 }, (_, n) => ctx.createEvent(ref(20 + n))));
    expect(auditMetrics().spooled).toBeGreaterThan(0);
    // The replay's first batch is committed but its acknowledgement lost: retried, not chained again.
    store.mode = "lost-ack";
    await flushAudit().catch(() => undefined);
    await flushAudit();
    expect(auditMetrics().spooled).toBe(0);
    await Promise.all(Array.from({ length: 10 }, (_, n) => ctx.createEvent(ref(50 + n))));
    await closeAudit();
    expect(store.lostAcks).toBe(1);
    const chains = await expectIntact(store, 60);
    expect(chains.size).toBeGreaterThanOrEqual(2);
  });

  it("buffered: a refused row gives its position to the next, and its stand-in is chained", async () => {
    await forbid();
    const logger = recordingLogger();
    configureAudit({ store: real, writeMode: "buffered", maxBatchSize: 10, flushIntervalMs: 10, integrity: { key: KEY_A }, logger });
    const ctx = new AuditContext();
    for (let n = 0; n < 12; n++) await ctx.createEvent(ref(n === 5 ? "forbidden" : n));
    await closeAudit();
    const chains = await expectIntact(real, 12);
    expect(chains.size).toBe(1);
    const events = await allEvents(db);
    expect(events.filter((e) => e.contentType === "AuditEvent")).toHaveLength(1);
  });

  it("refuses integrity on a model without the chain columns or the checkpoint model, naming the migration", async () => {
    const withoutChain = lacking(db.prisma, { chain: true });
    expect(() => configureAudit({ store: prismaStore(withoutChain), integrity: { key: KEY_A } })).toThrow(
      expect.objectContaining({ code: "ERR_AUDIT_STORE_SCHEMA", message: expect.stringContaining("20261202000000_audit_events_integrity") }),
    );
    expect(() => configureAudit({ store: prismaStore(lacking(db.prisma, { checkpoint: true })), integrity: { key: KEY_A } })).toThrow(
      expect.objectContaining({ code: "ERR_AUDIT_STORE_SCHEMA", message: expect.stringMatching(/checkpoint model.*20261202000000_audit_events_integrity/) }),
    );
    // Without integrity the same model keeps working, unsigned.
    configureAudit({ store: prismaStore(withoutChain) });
    await new AuditContext().createEvent(ref(1));
    // A context's own store is checked at its first write, which writes nothing.
    configureAudit({ store: real, integrity: { key: KEY_A } });
    const own = new AuditContext({ store: prismaStore(withoutChain) });
    await expect(own.createEvent(ref(2))).rejects.toMatchObject({ code: "ERR_AUDIT_STORE_SCHEMA", message: expect.stringContaining("20261202000000_audit_events_integrity") });
    expect((await allEvents(db)).map((e) => e.objectId)).toEqual(["1"]);
  });
});

interface RuntimeDataModel {
  models: Record<string, { fields: Array<{ name: string }> }>;
}

/** `prisma` as a client generated before the integrity migration describes itself: without the chain fields, or without AuditCheckpoint. */
function lacking<T extends object>(prisma: T, what: { chain?: boolean; checkpoint?: boolean }): T {
  const { _runtimeDataModel: dataModel } = prisma as { _runtimeDataModel: RuntimeDataModel };
  const models = Object.fromEntries(
    Object.entries(dataModel.models)
      .filter(([name]) => !(what.checkpoint && name === "AuditCheckpoint"))
      .map(([name, model]) => [
        name,
        what.chain && (name === "AuditEvent" || name === "ArchivedAuditEvent") ? { ...model, fields: model.fields.filter((f) => !(CHAIN_FIELDS as readonly string[]).includes(f.name)) } : model,
      ]),
  );
  const before = { ...dataModel, models };
  return new Proxy(prisma, {
    get: (target, property) => (property === "_runtimeDataModel" ? before : what.checkpoint && property === "auditCheckpoint" ? undefined : Reflect.get(target, property, target)),
  });
}
