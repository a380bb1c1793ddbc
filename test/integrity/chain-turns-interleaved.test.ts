import { Client } from "pg";
import { createClient } from "redis";
import type { Pool } from "pg";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

import { AuditContext, closeAudit, configureAudit, fileSpool, flushAudit, prismaStore, redisSpool, verifyAuditTrail, type AuditStore } from "../../src";
import { openDatabase, type TestDatabase } from "../support/databases";
import { testPgPool } from "../support/test-pg-pool";
import { recordingLogger } from "../writer/spool-conformance";
import { allEvents, checkDatabase, KEY_A } from "./chain-checker";

/**
 * Since a batch is linked 200 events a turn and sent as COPY text a piece a turn, other work
 * runs in the middle of one batch's write: the checkpoint timer signing a head, flushAudit()
 * called again, sync writes in lanes of the same store, configureAudit() and closeAudit()
 * replacing the writer, a spool (file or Redis) appending and replaying, and COPY connections
 * cut by pg_terminate_backend, on one pool of one connection shared by two stores. A sync
 * write may fail (its caller hears it); one that resolved is acknowledged. Afterwards every chain is gapless, each
 * acknowledged event is stored once, and verifyAuditTrail() finds nothing wrong.
 */
const dir = mkdtempSync(path.join(tmpdir(), "audit-chain-turns-"));
const REDIS_URL = "redis://127.0.0.1:6379";
/** The Redis keys of this process's spools (`<prefix><n>`, with their `:bytes`, `:lock`, `:refused`), deleted after the file. */
const redisPrefix = `audit-chain-turns-${process.pid}-`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let db: TestDatabase<"postgresql">;
let pool: Pool;
let admin: Client;
let direct: AuditStore;

beforeAll(async () => {
  db = await openDatabase("postgresql", { name: "chain_turns_interleaved" });
  pool = testPgPool(db.url, { max: 1 });
  admin = new Client({ connectionString: db.url });
  await admin.connect();
  direct = prismaStore(db.prisma);
});
afterAll(async () => {
  await closeAudit().catch(() => undefined);
  configureAudit({});
  await admin?.end();
  await pool?.end();
  await db?.close();
  rmSync(dir, { recursive: true, force: true });
  const redis = createClient({ url: REDIS_URL });
  await redis.connect();
  try {
    const keys: string[] = [];
    for await (const found of redis.scanIterator({ MATCH: `${redisPrefix}*` })) keys.push(...(Array.isArray(found) ? found : [found]));
    if (keys.length > 0) await redis.del(keys);
  } finally {
    await redis.quit();
  }
});

it.each([
  ["without a spool", "none"],
  ["with a file spool", "file"],
  ["with a redis spool", "redis"],
] as const)("keeps chains gapless and acknowledged events stored once while batches are written in turns (%s)", async (_name, spooled) => {
  await db.reset();
  const first = prismaStore(db.prisma, { pgPool: pool });
  const second = prismaStore(db.prisma, { pgPool: pool });
  const configure = (store: AuditStore, n: number) =>
    configureAudit({
      store,
      writeMode: "buffered",
      maxBatchSize: 1000,
      flushIntervalMs: 30,
      ...(spooled === "file" ? { spool: fileSpool({ path: path.join(dir, `spool-${n}.log`) }) } : {}),
      ...(spooled === "redis" ? { spool: redisSpool({ url: REDIS_URL, key: `${redisPrefix}${n}` }) } : {}),
      integrity: { key: KEY_A, checkpointEvery: 150, checkpointIntervalMs: 3 },
      logger: recordingLogger(),
    });
  configure(first, 0);
  const acked: string[] = [];
  const pending: Promise<unknown>[] = [];
  let n = 0;
  let cut = 0;
  const cutter = setInterval(() => {
    void admin
      .query(`SELECT pg_terminate_backend(pid) AS cut FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '/* audit-events copy % */ COPY %' AND pid <> pg_backend_pid()`)
      .then((result) => (cut += result.rows.filter((row) => row.cut === true).length), () => undefined);
  }, 37);
  const produce = async (ms: number, store: AuditStore) => {
    const buffered = new AuditContext({ extraData: { path: "buffered" } });
    const sync = new AuditContext({ store, extraData: { path: "sync" } });
    const until = Date.now() + ms;
    while (Date.now() < until) {
      for (let i = 0; i < 400; i++) pending.push(buffered.createEvent({ contentType: "Load", objectId: String(n++), content: { pad: "p".repeat(300) } }).then((r) => acked.push(r.id)));
      pending.push(sync.createEvent({ contentType: "Sync", objectId: String(n++) }).then((r) => acked.push(r.id), () => undefined));
      pending.push(flushAudit().catch(() => undefined));
      await sleep(5);
    }
  };
  try {
    await produce(800, second);
    configure(second, 1);
    await produce(800, first);
    await Promise.all(pending);
    await flushAudit();
    await closeAudit();
  } finally {
    clearInterval(cutter);
  }
  const { problems } = await checkDatabase(db, direct, KEY_A);
  const events = await allEvents(db);
  const stored = new Set(events.map((e) => e.id));
  const report = await verifyAuditTrail({ store: direct, key: KEY_A, workers: 0 });
  expect({ problems, duplicates: events.length - stored.size, lost: acked.filter((id) => !stored.has(id)).length, verified: report.ok, reported: report.problems }).toEqual({
    problems: [],
    duplicates: 0,
    lost: 0,
    verified: true,
    reported: [],
  });
  // The scenario was real: many batches, and COPYs cut while their pieces were sent.
  expect({ manyBatches: acked.length > 5000, cutSome: cut > 0 }).toEqual({ manyBatches: true, cutSome: true });
}, 180_000);
