import { prismaStore } from "../../src";
import { openDatabase, providers } from "../support/databases";
import { describeStoreConformance } from "./store-conformance";

for (const provider of providers) {
  describeStoreConformance(`prismaStore() on ${provider}`, async () => {
    const db = await openDatabase(provider, { name: "conformance" });
    return { store: prismaStore(db.prisma), reset: () => db.reset(), close: () => db.close() };
  });

  describeStoreConformance(`prismaStore() with a model of the user's own on ${provider}`, async () => {
    const db = await openDatabase(provider, { name: "conformance_own" });
    const store = prismaStore(db.prisma, {
      model: "tenantAuditEvent",
      archiveModel: "tenantArchivedAuditEvent",
      toRecord: (event) => ({ tenantId: `tenant-of-${event.objectId}` }),
    });
    return { store, reset: () => db.reset(), close: () => db.close() };
  });
}
