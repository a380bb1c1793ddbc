/**
 * A buffered writer flushing one batch of 600 events of 0.9 MiB content each (540 MiB
 * of content, one string shared by every event, so the batch itself takes a few MB of
 * heap), in a process of its own so that its heap limit can be set, for
 * test/integration/batch-memory-bound.test.ts:
 *
 *   NODE_OPTIONS=--max-old-space-size=<MB> node_modules/.bin/tsx test/support/big-batch-child.ts <postgresql url> <copy|prisma>
 *
 * `copy` writes through `prismaStore(prisma, { pgPool })`, `prisma` through Prisma alone.
 * Prints `closed` once `closeAudit()` resolved; exits non-zero on any error (a heap out
 * of memory aborts the process).
 */
import { Pool } from "pg";

import { AuditContext, closeAudit, configureAudit, prismaStore } from "../../src";
import { createPrismaClient } from "./archive-fixtures";

async function main(): Promise<void> {
  const [url, path] = process.argv.slice(2);
  if (url === undefined || (path !== "copy" && path !== "prisma")) throw new Error("usage: big-batch-child.ts <postgresql url> <copy|prisma>");
  const prisma = createPrismaClient("postgresql", url);
  const pool = path === "copy" ? new Pool({ connectionString: url, max: 2 }) : undefined;
  const errors: string[] = [];
  const logger = { warn: (m: string) => void errors.push(m), error: (m: string) => void errors.push(m) };
  configureAudit({ store: prismaStore(prisma, pool === undefined ? {} : { pgPool: pool }), writeMode: "buffered", flushIntervalMs: 60_000, logger });
  const body = "m".repeat(900_000);
  for (let i = 0; i < 600; i++) await new AuditContext().createEvent({ contentType: "Document", objectId: String(i) }, { body });
  await closeAudit();
  if (errors.length > 0) throw new Error(`logged: ${errors.join(" | ").slice(0, 500)}`);
  console.log("closed");
  await pool?.end();
  await (prisma as unknown as { $disconnect(): Promise<void> }).$disconnect();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
