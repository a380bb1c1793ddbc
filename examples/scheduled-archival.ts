// `npm run example:archival`: events older than 30 days move to the archive table
// on a cron schedule (every 2 seconds here, nightly in real life).
import path from "node:path";
import { v7 as uuidv7 } from "uuid";
import { AuditContext, configureAudit, prismaStore, scheduleArchival, type AuditEventRecord } from "audit-events";
import { openExampleDatabase } from "./sqlite-database";

const DAY_MS = 86_400_000;

/** Events as the library would have written them `daysAgo` days ago. */
function historicEvent(daysAgo: number, orderId: number): AuditEventRecord {
  const timestamp = new Date(Date.now() - daysAgo * DAY_MS);
  return {
    id: uuidv7({ msecs: timestamp.getTime() }),
    timestamp,
    contentType: "Order",
    objectId: String(orderId),
    content: { daysAgo },
    userId: "import",
    url: null,
    method: null,
    remoteAddr: null,
    queryParams: {},
    postData: {},
    headers: {},
    action: "update", outcome: "success", severity: "info", tenantId: null, requestId: null, chainId: null, seq: null, prevHash: null, hash: null,
  };
}

async function main() {
  const prisma = openExampleDatabase(path.resolve(__dirname, "..", ".tmp", "archival.db"));
  const store = prismaStore(prisma);
  configureAudit({ store });
  const history = Array.from({ length: 120 }, (_, i) => historicEvent(i, i % 7));
  await store.insert(history, { context: new AuditContext() });
  console.log(`live events before: ${await prisma.auditEvent.count()}`);

  // The schedule's timer never keeps a process alive by itself (a server would); this script waits on purpose.
  const keepAlive = setInterval(() => undefined, 1000);
  await new Promise<void>((resolve) => {
    const schedule = scheduleArchival({
      cron: "*/2 * * * * *",
      olderThanDays: 30,
      onRun(result) {
        console.log(`archived ${result.archived} event(s) older than ${result.cutoff.toISOString()} in ${result.batches} batch(es)`);
        schedule.stop();
        clearInterval(keepAlive);
        resolve();
      },
    });
  });

  console.log(`live events after: ${await prisma.auditEvent.count()}, archived: ${await prisma.archivedAuditEvent.count()}`);
  await prisma.$disconnect();
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
