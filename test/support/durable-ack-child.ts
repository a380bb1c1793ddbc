/**
 * A buffered writer whose spool is its write-ahead log, in a process of its own that
 * kills itself with SIGKILL right after an acknowledgement, for
 * test/writer/durable-ack-kill.test.ts:
 *
 *   node_modules/.bin/tsx test/support/durable-ack-child.ts <postgresql url> <spool> <ack log> <kill at>
 *
 * `<spool>` is `file:<path>` (a `fileSpool` that compacts every 64 KiB, so kills land in
 * compactions too) or `redis:<url>#<key>`. Keeps 64 `createEvent` calls in flight. Each
 * acknowledgement (a resolved `createEvent`) is appended to the ack log with a
 * synchronous write, as `ack <id>`; at the `<kill at>`-th, in the same synchronous turn
 * (nothing else of the process runs in between), it writes
 * `kill <microseconds since that acknowledgement>` and sends itself SIGKILL. The
 * microseconds are the clock's view (usually a few; more when the machine deschedules it).
 */
import { openSync, writeSync } from "node:fs";
import { AuditContext, configureAudit, fileSpool, prismaStore, redisSpool, type AuditSpool } from "../../src";
import { createPrismaClient } from "./archive-fixtures";

function spoolOf(spec: string): AuditSpool {
  if (spec.startsWith("file:")) return fileSpool({ path: spec.slice("file:".length), compactAfterBytes: 64 * 1024 });
  if (spec.startsWith("redis:")) {
    const [url, key] = spec.slice("redis:".length).split("#");
    return redisSpool({ url: url!, key: key! });
  }
  throw new Error(`unknown spool ${spec}: use file:<path> or redis:<url>#<key>`);
}

async function main(): Promise<void> {
  const [url, spoolSpec, ackLog, killAtText] = process.argv.slice(2);
  const killAt = Number(killAtText);
  if (!url || !spoolSpec || !ackLog || !Number.isSafeInteger(killAt) || killAt < 1) {
    throw new Error("usage: durable-ack-child.ts <postgresql url> <file:<path> | redis:<url>#<key>> <ack log> <kill at>");
  }
  const log = openSync(ackLog, "a");
  configureAudit({
    store: prismaStore(createPrismaClient("postgresql", url)),
    writeMode: "buffered",
    flushIntervalMs: 20,
    maxBatchSize: 100,
    spool: spoolOf(spoolSpec),
    logger: { warn: (message) => process.stderr.write(`${message}\n`) },
  });
  const context = new AuditContext({ extraData: { source: "durable-ack-child" } });
  let acked = 0;
  let n = 0;
  const producer = async () => {
    for (;;) {
      const record = await context.createEvent({ contentType: "Load", objectId: String(n++) }, { filler: "x".repeat(200) });
      const at = performance.now();
      writeSync(log, `ack ${record.id}\n`);
      if (++acked === killAt) {
        writeSync(log, `kill ${Math.round((performance.now() - at) * 1000)}\n`);
        process.kill(process.pid, "SIGKILL");
      }
    }
  };
  await Promise.all(Array.from({ length: 64 }, producer));
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
