/**
 * An archival run in a process of its own, for test/integration/archive.test.ts to kill
 * mid-way:
 *
 *   node_modules/.bin/tsx test/support/archive-child.ts <provider> <url> [olderThanDays] [batchSize]
 *
 * Prints `batch <moved> <archived so far>` after each batch, then `done <archived>`. With
 * `AUDIT_TEST_START_GATE=<file>` it prints `ready` once connected and starts archiving only
 * when that file exists, so two children can be started at the same moment; with
 * `AUDIT_TEST_MOVED_GATE=<file>` too, after its first batch it waits (blocked, holding
 * nothing) until that file exists, so a test can let both go on once both moved some. With
 * `AUDIT_TEST_HOLD_AFTER_BATCHES=<n>` it stops (blocks, archiving nothing more) after its
 * n-th batch until it is killed: a test that kills it after fewer batches then knows it
 * was killed mid-way however late the kill comes.
 */
import { existsSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { archiveOldEvents, prismaStore } from "../../src";
import { createPrismaClient } from "./archive-fixtures";
import { providers, type Provider } from "./databases";

async function main(): Promise<void> {
  const [provider, url, days = "30", size = "50"] = process.argv.slice(2);
  if (!providers.includes(provider as Provider) || !url) {
    throw new Error("usage: archive-child.ts <postgresql|mysql|sqlite> <url> [olderThanDays] [batchSize]");
  }
  const prisma = createPrismaClient(provider as Provider, url);
  await prisma.$connect();
  const gate = process.env.AUDIT_TEST_START_GATE;
  if (gate) {
    process.stdout.write("ready\n");
    while (!existsSync(gate)) await sleep(2);
  }
  const movedGate = process.env.AUDIT_TEST_MOVED_GATE;
  const holdAfter = Number(process.env.AUDIT_TEST_HOLD_AFTER_BATCHES ?? Infinity);
  let batches = 0;
  try {
    const result = await archiveOldEvents({
      olderThanDays: Number(days),
      batchSize: Number(size),
      store: prismaStore(prisma),
      onBatch: ({ moved, archived }) => {
        process.stdout.write(`batch ${moved} ${archived}\n`);
        // onBatch runs after a batch committed and before the next starts: blocking here holds the run.
        const pause = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
        if (++batches === 1 && movedGate) while (!existsSync(movedGate)) pause(2);
        if (batches >= holdAfter) for (;;) pause(60_000);
      },
    });
    process.stdout.write(`done ${result.archived}\n`);
  } finally {
    await prisma.$disconnect();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
