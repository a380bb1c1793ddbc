import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { AuditContext, auditMetrics, closeAudit, configureAudit, fileSpool, flushAudit, prismaStore, type AuditStore, type SpoolFullPolicy } from "../../src";
import { createPrismaClient } from "../support/archive-fixtures";
import { openDatabase, type TestDatabase } from "../support/databases";
import { startTcpProxy, throughProxy, type TcpProxy } from "../support/tcp-proxy";
import { recordingLogger } from "./spool-conformance";

/**
 * The buffered writer with a small file spool while PostgreSQL is cut off by a TCP
 * proxy and then comes back under the same load: the spool file is sampled all along
 * and must never be larger than maxBytes plus one batch, whatever onSpoolFull says.
 */

const MAX_BYTES = 65_536;
const MAX_BATCH = 10;
const dir = mkdtempSync(path.join(tmpdir(), "audit-spool-bound-"));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let db: TestDatabase<"postgresql">;
let proxy: TcpProxy;
let proxied: { $disconnect(): Promise<void> };
let store: AuditStore;
const context = new AuditContext({ extraData: { load: "spool-bound" } });

beforeAll(async () => {
  db = await openDatabase("postgresql", { name: "spool_bound" });
  const { hostname, port } = new URL(db.url);
  proxy = await startTcpProxy({ host: hostname, port: Number(port) });
  const client = createPrismaClient("postgresql", throughProxy(db.url, proxy));
  proxied = client as unknown as { $disconnect(): Promise<void> };
  store = prismaStore(client);
});
afterEach(async () => {
  proxy.restore();
  await closeAudit().catch(() => undefined);
  configureAudit({});
  await db.reset();
});
afterAll(async () => {
  await proxied?.$disconnect();
  await proxy?.close();
  await db?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The spool file's size every 2 ms (as often as the event loop lets it), until stopped. */
function sampleSize(file: string): { stop(): { largest: number; samples: number } } {
  let largest = 0;
  let samples = 0;
  const timer = setInterval(() => {
    largest = Math.max(largest, statSync(file, { throwIfNoEntry: false })?.size ?? 0);
    samples++;
  }, 2);
  return {
    stop() {
      clearInterval(timer);
      return { largest, samples };
    },
  };
}

describe.each<[SpoolFullPolicy]>([["drop-oldest"], ["block"], ["throw"]])("a 64 KiB file spool with onSpoolFull: %s, through an outage and its replay", (policy) => {
  it("is never larger on disk than maxBytes plus one batch, and stores what it acknowledged once", async () => {
    const file = path.join(dir, `${policy}.log`);
    configureAudit({ store, writeMode: "buffered", flushIntervalMs: 20, maxBatchSize: MAX_BATCH, spool: fileSpool({ path: file, maxBytes: MAX_BYTES }), onSpoolFull: policy, logger: recordingLogger() });
    const acked: string[] = [];
    const pending: Promise<void>[] = [];
    let producing = true;
    const producer = (async () => {
      for (let n = 0; producing; n += 10) {
        for (let i = 0; i < 10; i++) {
          pending.push(
            context.createEvent({ contentType: "Load", objectId: String(n + i) }, { filler: "f".repeat(400) }).then(
              (record) => void acked.push(record.id),
              () => undefined,
            ),
          );
        }
        await sleep(10);
      }
    })();
    const sampler = sampleSize(file);
    await sleep(300);
    proxy.cut();
    await sleep(3000);
    // One batch: the longest line the spool holds now, times the batch size.
    const longestLine = Math.max(...readFileSync(file, "utf8").split("\n").map((line) => Buffer.byteLength(line) + 1));
    proxy.restore();
    await sleep(2000);
    producing = false;
    await producer;
    await Promise.all(pending);
    await flushAudit();
    const { largest, samples } = sampler.stop();

    expect(samples).toBeGreaterThan(100);
    expect(largest).toBeGreaterThan(MAX_BYTES * 0.8);
    expect(largest).toBeLessThanOrEqual(MAX_BYTES + MAX_BATCH * longestLine);
    expect(auditMetrics().spooled).toBe(0);
    const rows = await db.prisma.$queryRawUnsafe<{ id: string; n: bigint }[]>("SELECT id::text AS id, count(*) AS n FROM audit_events GROUP BY id");
    const stored = new Map(rows.map((r) => [r.id, Number(r.n)]));
    expect([...stored.values()].every((n) => n === 1)).toBe(true);
    if (policy !== "drop-oldest") expect(acked.filter((id) => !stored.has(id))).toEqual([]);
  }, 30_000);
});

describe("an event larger than the whole spool, in a batch with small ones, during an outage", () => {
  it("spools the small ones, keeps the large one in memory, and stores all three once the store is back", async () => {
    const file = path.join(dir, "too-large.log");
    const logger = recordingLogger();
    const droppedBefore = auditMetrics().dropped;
    configureAudit({ store, writeMode: "buffered", flushIntervalMs: 20, spool: fileSpool({ path: file, maxBytes: MAX_BYTES }), onSpoolFull: "drop-oldest", logger });
    proxy.cut();
    const settled: string[] = [];
    const writes = [10, 100_000, 10].map((size, i) =>
      context.createEvent({ contentType: "Upload", objectId: String(i) }, { filler: "f".repeat(size) }).then(
        (record) => (settled.push(`ok ${i}`), record.id),
        (error: unknown) => (settled.push(`failed ${i}`), Promise.reject(error)),
      ),
    );
    // The small ones become durable in the spool (appends, fdatasync: waited for, however
    // slow the disk), while the large one waits for the store, which is cut off.
    const deadline = Date.now() + 10_000;
    while (settled.length < 2 && Date.now() < deadline) await sleep(10);
    // Time for the large one to settle too, were it (wrongly) settled without the store.
    await sleep(300);
    expect(settled.sort()).toEqual(["ok 0", "ok 2"]);
    expect(statSync(file).size).toBeLessThanOrEqual(MAX_BYTES);
    expect(logger.warnings.join("\n")).toContain("larger than the spool");
    proxy.restore();
    const ids = await Promise.all(writes);
    await flushAudit();
    const rows = await db.prisma.$queryRawUnsafe<{ id: string }[]>("SELECT id::text AS id FROM audit_events");
    expect(rows.map((r) => r.id).sort()).toEqual([...ids].sort());
    expect(auditMetrics().dropped).toBe(droppedBefore);
  }, 30_000);
});
