// `npm run example:job`: a request queues work; a worker runs it later, and the
// worker's events still say who asked for it, from where, with what request.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import express from "express";
import {
  auditEvents,
  configureAudit,
  currentAuditContext,
  prismaStore,
  restoreAuditContext,
  runWithAuditContext,
  serializeAuditContext,
} from "audit-events";
import { openExampleDatabase } from "./sqlite-database";

/** Stands in for a broker (BullMQ, SQS, ...): messages are JSON text. */
const queue: string[] = [];

async function main() {
  const prisma = openExampleDatabase(path.resolve(__dirname, "..", ".tmp", "job-queue.db"));
  configureAudit({ store: prismaStore(prisma), includePostData: true });

  const app = express();
  app.use(express.json());
  app.use(auditEvents());
  app.post("/reports", async (req, res) => {
    (req as express.Request & { user?: unknown }).user = { id: req.header("x-user") };
    queue.push(JSON.stringify({ audit: serializeAuditContext(req.auditContext), report: req.body.report }));
    res.sendStatus(202);
  });

  const server = createServer(app);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await fetch(`http://127.0.0.1:${port}/reports`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-user": "dana" },
    body: JSON.stringify({ report: "monthly-revenue", password: "not-stored" }),
  });
  server.close();

  // The worker, later and elsewhere:
  for (const message of queue.splice(0)) {
    const job = JSON.parse(message);
    const audit = restoreAuditContext(job.audit, { extraData: { job: "report-generation" } });
    await runWithAuditContext(audit, () =>
      currentAuditContext().createEvent({ contentType: "Report", objectId: job.report }, {}, { action: "generated" }),
    );
  }

  for (const e of await prisma.auditEvent.findMany()) {
    console.log(`${e.contentType}#${e.objectId} by ${e.userId} via ${e.method} ${e.url} from ${e.remoteAddr}`);
    console.log(`    content=${JSON.stringify(e.content)} postData=${JSON.stringify(e.postData)}`);
  }
  await prisma.$disconnect();
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
