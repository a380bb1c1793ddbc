import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { AuditContext, auditMetrics, closeAudit, configureAudit, fileSpool, flushAudit, prismaStore, type AuditStore } from "../../src";
import { createPrismaClient } from "../support/archive-fixtures";
import { openDatabase, type TestDatabase } from "../support/databases";
import { startTcpProxy, throughProxy, type TcpProxy } from "../support/tcp-proxy";
import { recordingLogger } from "../writer/spool-conformance";
import { allEvents, checkDatabase, KEY_A } from "./chain-checker";

/**
 * A real outage: PostgreSQL cut off by a TCP proxy (the server keeps running) while the
 * buffered writer, with a spool, and sync writes chain events. Connections die mid-write,
 * so some writes fail without saying whether they committed: the chains stay gapless and
 * every acknowledged event is stored once.
 */

const dir = mkdtempSync(path.join(tmpdir(), "audit-chain-outage-"));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let db: TestDatabase<"postgresql">;
let proxy: TcpProxy;
let proxied: { $disconnect(): Promise<void> };
let store: AuditStore;
/** Another store over the same proxied client: a context with it writes at once (sync), in lanes. */
let syncStore: AuditStore;
let direct: AuditStore;

beforeAll(async () => {
  db = await openDatabase("postgresql", { name: "chain-outage" });
  const { hostname, port } = new URL(db.url);
  proxy = await startTcpProxy({ host: hostname, port: Number(port) });
  const client = createPrismaClient("postgresql", throughProxy(db.url, proxy));
  proxied = client as unknown as { $disconnect(): Promise<void> };
  store = prismaStore(client);
  syncStore = prismaStore(client);
  direct = prismaStore(db.prisma);
});
afterAll(async () => {
  await closeAudit().catch(() => undefined);
  configureAudit({});
  await proxied?.$disconnect();
  await proxy?.close();
  await db?.close();
  rmSync(dir, { recursive: true, force: true });
});

it("keeps every chain gapless through a cut connection, buffered with a spool and sync", async () => {
  configureAudit({
    store,
    writeMode: "buffered",
    maxBatchSize: 50,
    flushIntervalMs: 20,
    spool: fileSpool({ path: path.join(dir, "spool.log") }),
    integrity: { key: KEY_A, checkpointEvery: 100, checkpointIntervalMs: 200 },
    logger: recordingLogger(),
  });
  const buffered = new AuditContext({ extraData: { path: "buffered" } });
  const sync = new AuditContext({ store: syncStore, extraData: { path: "sync" } });
  const acked: string[] = [];
  const pending: Promise<unknown>[] = [];
  let n = 0;
  let syncFailed = 0;
  const produce = async (ms: number) => {
    const until = Date.now() + ms;
    while (Date.now() < until) {
      for (let i = 0; i < 10; i++) pending.push(buffered.createEvent({ contentType: "Load", objectId: String(n++) }).then((r) => acked.push(r.id)));
      // Sync writes during the outage fail (their callers hear it); those that resolve are stored.
      pending.push(sync.createEvent({ contentType: "Sync", objectId: String(n++) }).then((r) => acked.push(r.id), () => syncFailed++));
      await sleep(10);
    }
  };
  const load = produce(3000);
  await sleep(800);
  proxy.cut();
  await sleep(1200);
  const spooledDuringOutage = auditMetrics().spooled;
  proxy.restore();
  await load;
  await Promise.all(pending);
  await flushAudit();
  await closeAudit();
  // The outage was real: sync writes failed and buffered batches went to the spool.
  expect(syncFailed).toBeGreaterThan(0);
  expect(spooledDuringOutage).toBeGreaterThan(0);
  expect(auditMetrics().spooled).toBe(0);
  const { chains, problems, checkpoints } = await checkDatabase(db, direct, KEY_A);
  expect(problems).toEqual([]);
  const events = await allEvents(db);
  const stored = new Set(events.map((e) => e.id));
  expect(stored.size).toBe(events.length);
  expect(acked.filter((id) => !stored.has(id))).toEqual([]);
  expect(chains.size).toBeGreaterThanOrEqual(2);
  expect(checkpoints.length).toBeGreaterThan(0);
}, 60_000);
