import { configureAudit, prismaStore, type AuditEventRecord } from "../../src";
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

describe("the warning about a model without the event model's fields", () => {
  it("was said once in this process, naming both models, what they lack and the migration", () => {
    const about = warnings.filter((message) => message.includes("TenantAuditEvent"));
    expect(about).toHaveLength(1);
    expect(about[0]).toMatch(/TenantAuditEvent has no field\(s\) action, outcome, severity, requestId; .*TenantArchivedAuditEvent has no field\(s\) action, outcome, severity, requestId/);
    expect(about[0]).toMatch(/node_modules\/audit-events\/prisma\/(postgresql|mysql|sqlite)\/migrations\/20261201000000_audit_events_event_model/);
    expect(warnings.filter((message) => message.includes("event_model"))).toHaveLength(1);
  });
});
