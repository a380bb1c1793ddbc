import { configureAudit, prismaStore, type AuditEventRecord } from "../../src";
import { copyRecordingPool, type CopyRecordingPool } from "../support/copy-pool";
import { openDatabase, providers } from "../support/databases";
import { describeStoreConformance } from "./store-conformance";

const warnings: string[] = [];

beforeAll(() => {
  configureAudit({ logger: { warn: (message: string) => void warnings.push(message) } });
});
afterAll(() => {
  configureAudit({});
});

/**
 * What the user's own model (TenantAuditEvent, without the event model's columns but with a
 * tenantId of its own that toRecord fills) reads back: its tenantId is the event's, or
 * toRecord's where the event has none; the fields it lacks read as their defaults.
 */
function storedInOwnModel(record: AuditEventRecord): AuditEventRecord {
  return { ...record, action: null, outcome: "success", severity: "info", requestId: null, tenantId: record.tenantId ?? `tenant-of-${record.objectId}` };
}

for (const provider of providers) {
  describeStoreConformance(`prismaStore() on ${provider}`, async () => {
    const db = await openDatabase(provider, { name: "conformance" });
    return {
      store: prismaStore(db.prisma),
      reset: () => db.reset(),
      close: () => db.close(),
      transaction: (work) => db.prisma.$transaction((tx) => work(tx)),
    };
  });

  describeStoreConformance(`prismaStore() with a model of the user's own on ${provider}`, async () => {
    const db = await openDatabase(provider, { name: "conformance_own" });
    const store = prismaStore(db.prisma, {
      model: "tenantAuditEvent",
      archiveModel: "tenantArchivedAuditEvent",
      toRecord: (event) => ({ tenantId: `tenant-of-${event.objectId}` }),
    });
    return {
      store,
      reset: () => db.reset(),
      close: () => db.close(),
      stored: storedInOwnModel,
      transaction: (work) => db.prisma.$transaction((tx) => work(tx)),
    };
  }, { keepsEventModel: false });
}

/** The pools of the stores below: each proves its writes went through COPY. */
const pools: CopyRecordingPool[] = [];

describeStoreConformance("prismaStore(prisma, { pgPool }) on postgresql: writeRows through COPY", async () => {
  const db = await openDatabase("postgresql", { name: "conformance_copy" });
  const pool = copyRecordingPool(db.url);
  pools.push(pool);
  return {
    store: prismaStore(db.prisma, { pgPool: pool }),
    reset: () => db.reset(),
    close: async () => {
      await pool.end();
      await db.close();
    },
    transaction: (work) => db.prisma.$transaction((tx) => work(tx)),
  };
});

describeStoreConformance("prismaStore(prisma, { pgPool }) with a model of the user's own on postgresql", async () => {
  const db = await openDatabase("postgresql", { name: "conformance_copy_own" });
  const pool = copyRecordingPool(db.url);
  pools.push(pool);
  const store = prismaStore(db.prisma, {
    model: "tenantAuditEvent",
    archiveModel: "tenantArchivedAuditEvent",
    toRecord: (event) => ({ tenantId: `tenant-of-${event.objectId}` }),
    pgPool: pool,
  });
  return {
    store,
    reset: () => db.reset(),
    close: async () => {
      await pool.end();
      await db.close();
    },
    stored: storedInOwnModel,
    transaction: (work) => db.prisma.$transaction((tx) => work(tx)),
  };
}, { keepsEventModel: false });

describe("the stores given a pgPool", () => {
  it("wrote through COPY, into their own model, and fell back only on a COPY the data failed (an id stored already)", () => {
    expect(pools).toHaveLength(2);
    for (const [pool, table] of [[pools[0]!, '"audit_events"'], [pools[1]!, '"tenant_audit_events"']] as const) {
      expect(pool.copies.filter((copy) => copy.ok).length).toBeGreaterThan(3);
      expect(pool.copies.every((copy) => /^\/\* audit-events copy [0-9a-f-]{36} \*\/ COPY /.test(copy.sql) && copy.sql.includes(` COPY ${table} (`))).toBe(true);
      expect(pool.copies.filter((copy) => !copy.ok).length).toBeGreaterThan(0);
    }
    expect(warnings.filter((message) => message.includes("COPY"))).toEqual([]);
  });
});

describe("the warning about a model without the event model's fields", () => {
  it("was said once in this process, naming both models, what they lack and the migration", () => {
    const about = warnings.filter((message) => message.includes("TenantAuditEvent"));
    expect(about).toHaveLength(1);
    expect(about[0]).toMatch(/TenantAuditEvent has no field\(s\) action, outcome, severity, requestId; .*TenantArchivedAuditEvent has no field\(s\) action, outcome, severity, requestId/);
    expect(about[0]).toMatch(/node_modules\/audit-events\/prisma\/(postgresql|mysql|sqlite)\/migrations\/20261201000000_audit_events_event_model/);
    expect(warnings.filter((message) => message.includes("event_model"))).toHaveLength(1);
  });
});
