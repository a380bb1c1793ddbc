// `npm run example:buffered`: buffered writes with a durable spool. The database goes
// away for a while; what createEvent acknowledged waits in the spool file and is
// replayed, exactly once, when the database is back. Then a graceful shutdown.
import { rmSync } from "node:fs";
import path from "node:path";
import {
  AuditContext,
  auditMetrics,
  closeAudit,
  configureAudit,
  fileSpool,
  flushAudit,
  prismaStore,
  type AuditStore,
  type EventRow,
} from "audit-events";
import { openExampleDatabase } from "./sqlite-database";

const tmp = path.resolve(__dirname, "..", ".tmp");

async function main() {
  const prisma = openExampleDatabase(path.join(tmp, "buffered-writes.db"));
  const spoolFile = path.join(tmp, "buffered-writes.spool");
  for (const suffix of ["", ".head", ".lock"]) rmSync(spoolFile + suffix, { force: true });

  // A store that can be switched off, standing in for a database outage.
  const real = prismaStore(prisma);
  let databaseUp = true;
  const store: AuditStore = {
    ...real,
    writeRows: (rows: readonly EventRow[]) => (databaseUp ? real.writeRows(rows) : Promise.reject(new Error("connect ECONNREFUSED"))),
  };

  configureAudit({
    store,
    writeMode: "buffered",
    flushIntervalMs: 100,
    spool: fileSpool({ path: spoolFile }),
    logger: { warn: (message) => console.log(`  (warning) ${message}`) },
  });
  const job = new AuditContext({ extraData: { job: "price-sync" }, user: "system" });

  await Promise.all([1, 2, 3].map((id) => job.createEvent({ contentType: "Product", objectId: id }, {}, { action: "reprice" })));
  await flushAudit();
  console.log(`database up: ${await prisma.auditEvent.count()} events stored`);

  databaseUp = false;
  // Each createEvent resolves once its event is in the spool file (the write-ahead log).
  await Promise.all([4, 5, 6, 7].map((id) => job.createEvent({ contentType: "Product", objectId: id }, {}, { action: "reprice" })));
  // The writer tries the database, finds it down, and keeps the events in the spool.
  await flushAudit();
  console.log(`database down: ${await prisma.auditEvent.count()} stored, ${auditMetrics().spooled} safe in the spool`);

  databaseUp = true;
  await flushAudit();
  const m = auditMetrics();
  console.log(`database back: ${await prisma.auditEvent.count()} stored, ${m.spooled} in the spool, ${m.replayed} replayed`);

  // What a SIGTERM handler does: write what is buffered, release the spool, exit.
  await closeAudit();
  await prisma.$disconnect();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
