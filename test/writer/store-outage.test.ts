import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createClient } from "redis";
import {
  AuditContext,
  auditMetrics,
  closeAudit,
  configureAudit,
  fileSpool,
  flushAudit,
  prismaStore,
  redisSpool,
  type AuditSpool,
  type AuditStore,
  type EventRow,
  type SpoolFullPolicy,
} from "../../src";
import { encodeSpoolLine } from "../../src/writer/spool-line";
import { createPrismaClient } from "../support/archive-fixtures";
import { openDatabase, type TestDatabase } from "../support/databases";
import { startTcpProxy, throughProxy, type TcpProxy } from "../support/tcp-proxy";
import { sampleRecord } from "../conformance/store-conformance";
import { recordingLogger } from "./spool-conformance";

/**
 * The buffered writer while PostgreSQL is cut off by a TCP proxy in this process (the
 * server keeps running): nothing acknowledged is lost, nothing is stored twice.
 */

const redisUrl = process.env.AUDIT_TEST_REDIS_URL || "redis://127.0.0.1:6379";
const redisKey = `audit-events-test:${process.pid}:outage`;
const dir = mkdtempSync(path.join(tmpdir(), "audit-outage-"));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let db: TestDatabase<"postgresql">;
let proxy: TcpProxy;
let proxied: { $disconnect(): Promise<void> };
let store: AuditStore;
const context = new AuditContext({ extraData: { load: "steady" } });

beforeAll(async () => {
  db = await openDatabase("postgresql", { name: "outage" });
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
  const redis = createClient({ url: redisUrl });
  await redis.connect();
  await redis.del([redisKey, `${redisKey}:bytes`]);
  await redis.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Ids stored, each with how many rows hold it. */
async function storedIds(): Promise<Map<string, number>> {
  const rows = await db.prisma.$queryRawUnsafe<{ id: string; n: bigint }[]>("SELECT id::text AS id, count(*) AS n FROM audit_events GROUP BY id");
  return new Map(rows.map((r) => [r.id, Number(r.n)]));
}

/**
 * Creates `perTick` events every 10 ms for `ms`, without waiting for each; returns
 * the ids of those whose createEvent resolved and how many rejected.
 */
async function produce(ms: number, perTick = 10): Promise<{ acked: string[]; rejected: unknown[] }> {
  const acked: string[] = [];
  const rejected: unknown[] = [];
  const pending: Promise<void>[] = [];
  const until = Date.now() + ms;
  let n = 0;
  while (Date.now() < until) {
    for (let i = 0; i < perTick; i++) {
      pending.push(
        context.createEvent({ contentType: "Load", objectId: String(n++) }).then(
          (record) => void acked.push(record.id),
          (error: unknown) => void rejected.push(error),
        ),
      );
    }
    await sleep(10);
  }
  await Promise.all(pending);
  return { acked, rejected };
}

function expectExactlyOnce(stored: Map<string, number>, acked: string[]): void {
  expect(new Set(acked).size).toBe(acked.length);
  expect([...stored.values()].every((n) => n === 1)).toBe(true);
  expect(acked.filter((id) => !stored.has(id))).toEqual([]);
  expect(stored.size).toBe(acked.length);
}

async function spoolOf(kind: "file" | "redis", maxBytes?: number): Promise<AuditSpool> {
  if (kind === "file") {
    const file = path.join(dir, `spool-${Date.now()}.log`);
    return fileSpool({ path: file, maxBytes });
  }
  const redis = createClient({ url: redisUrl });
  await redis.connect();
  await redis.del([redisKey, `${redisKey}:bytes`]);
  await redis.close();
  return redisSpool({ url: redisUrl, key: redisKey, maxBytes });
}

describe.each(["file", "redis"] as const)("with a %s spool, a 3 s outage under steady load", (kind) => {
  it("stores every event exactly once, replayed from the spool", async () => {
    const logger = recordingLogger();
    const errors: unknown[] = [];
    configureAudit({
      store,
      writeMode: "buffered",
      flushIntervalMs: 50,
      maxBatchSize: 200,
      spool: await spoolOf(kind),
      logger,
      onMetrics: (event) => void (event.type === "error" && errors.push(event.error)),
    });
    const before = auditMetrics();
    const first = produce(4500);
    await sleep(700);
    proxy.cut();
    await sleep(1500);
    expect(auditMetrics().spooled).toBeGreaterThan(0);
    await sleep(1500);
    proxy.restore();
    const { acked, rejected } = await first;
    expect(rejected).toEqual([]);
    await flushAudit();
    const after = auditMetrics();
    expect(after.spooled).toBe(0);
    expect(after.buffered).toBe(0);
    expect(after.replayed - before.replayed).toBeGreaterThan(0);
    expect(errors.length).toBeGreaterThan(0);
    expect(after.lastError).toMatch(/prisma\(auditEvent\)/);
    expect(logger.warnings.join("\n")).toMatch(/retrying with backoff/);
    expectExactlyOnce(await storedIds(), acked);
  });
});

describe("without a spool, a 3 s outage under steady load", () => {
  it("keeps the events in memory and stores each exactly once when the store answers", async () => {
    configureAudit({ store, writeMode: "buffered", flushIntervalMs: 50, maxBatchSize: 200, logger: recordingLogger() });
    const first = produce(4000);
    await sleep(500);
    proxy.cut();
    await sleep(3000);
    expect(auditMetrics().buffered).toBeGreaterThan(0);
    await expect(flushAudit()).rejects.toThrow(/still in memory/);
    proxy.restore();
    const { acked } = await first;
    await flushAudit();
    expectExactlyOnce(await storedIds(), acked);
  });

  it("bounds memory: beyond maxBufferedEvents, createEvent waits until the store takes events", async () => {
    configureAudit({ store, writeMode: "buffered", flushIntervalMs: 20, maxBatchSize: 10, maxBufferedEvents: 30, logger: recordingLogger() });
    proxy.cut();
    let resolved = 0;
    const all = Array.from({ length: 50 }, (_, i) => context.createEvent({ contentType: "Load", objectId: String(i) }).then(() => void resolved++));
    await sleep(1000);
    expect(resolved).toBe(30);
    expect(auditMetrics().buffered).toBe(30);
    proxy.restore();
    await Promise.all(all);
    await flushAudit();
    expect((await storedIds()).size).toBe(50);
  });
});

describe("configureAudit() during an outage, without a spool", () => {
  it("loses nothing: a change that does not touch the writer keeps it, one that does hands over after the outage", async () => {
    const base = { store, writeMode: "buffered", flushIntervalMs: 20, maxBatchSize: 10, logger: recordingLogger() } as const;
    configureAudit(base);
    proxy.cut();
    const first = await Promise.all(Array.from({ length: 15 }, (_, i) => context.createEvent({ contentType: "Load", objectId: `a${i}` })));
    configureAudit({ ...base, maskPostFields: ["password", "pin"] });
    expect(auditMetrics().buffered).toBe(15);
    configureAudit({ ...base, flushIntervalMs: 30 });
    const second = await Promise.all(Array.from({ length: 5 }, (_, i) => context.createEvent({ contentType: "Load", objectId: `b${i}` })));
    await sleep(500);
    proxy.restore();
    await flushAudit();
    expectExactlyOnce(await storedIds(), [...first, ...second].map((r) => r.id));
  });
});

describe("a spool that cannot be opened", () => {
  it("is reported, and events go to the store directly", async () => {
    const file = path.join(dir, "held.log");
    const { spawn } = require("node:child_process") as typeof import("node:child_process");
    const holder = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { stdio: "ignore" });
    try {
      writeFileSync(`${file}.lock`, String(holder.pid));
      const logger = recordingLogger();
      configureAudit({ store, writeMode: "buffered", flushIntervalMs: 20, spool: fileSpool({ path: file }), logger });
      const records = await Promise.all(Array.from({ length: 5 }, (_, i) => context.createEvent({ contentType: "Load", objectId: String(i) })));
      await flushAudit();
      expectExactlyOnce(await storedIds(), records.map((r) => r.id));
      expect(logger.warnings.join("\n")).toMatch(/could not open spool .* in use by process/);
    } finally {
      holder.kill("SIGKILL");
    }
  });
});

describe.each<[SpoolFullPolicy]>([["throw"], ["drop-oldest"], ["block"]])("a full spool with onSpoolFull: %s", (policy) => {
  it("does what the policy says, and loses nothing it acknowledged", async () => {
    const logger = recordingLogger();
    configureAudit({ store, writeMode: "buffered", flushIntervalMs: 20, maxBatchSize: 10, spool: await spoolOf("file", 16 * 1024), onSpoolFull: policy, logger });
    proxy.cut();
    const results: { id: string | null; error?: unknown }[] = [];
    const writes = Array.from({ length: 80 }, (_, i) =>
      context.createEvent({ contentType: "Load", objectId: String(i) }, { filler: "z".repeat(300) }).then(
        (record) => void results.push({ id: record.id }),
        (error: unknown) => void results.push({ id: null, error }),
      ),
    );
    await sleep(1500);
    const droppedBefore = auditMetrics().dropped;
    if (policy === "block") expect(results.length).toBeLessThan(80);
    proxy.restore();
    await Promise.all(writes);
    await flushAudit();
    const stored = await storedIds();
    const acked = results.flatMap((r) => (r.id === null ? [] : [r.id]));
    expect([...stored.values()].every((n) => n === 1)).toBe(true);
    switch (policy) {
      case "throw":
        expect(results.filter((r) => r.id === null).length).toBeGreaterThan(0);
        expect(results.every((r) => r.id !== null || (r.error as { code?: string }).code === "ERR_AUDIT_SPOOL_FULL")).toBe(true);
        expectExactlyOnce(stored, acked);
        break;
      case "drop-oldest":
        expect(acked).toHaveLength(80);
        expect(droppedBefore).toBeGreaterThan(0);
        expect(logger.warnings.join("\n")).toMatch(/dropped its \d+ oldest event/);
        expect(stored.size).toBeLessThan(80);
        expect(acked.slice(-10).every((id) => stored.has(id))).toBe(true);
        break;
      case "block":
        expect(logger.warnings.join("\n")).toMatch(/createEvent waits/);
        expectExactlyOnce(stored, acked);
        expect(acked).toHaveLength(80);
        break;
    }
  });
});

describe("a spool holding bad lines", () => {
  it("keeps them aside, logs them whole, marks each with a stand-in and replays the rest, at start-up", async () => {
    const file = path.join(dir, "damaged.log");
    const good: EventRow[] = Array.from({ length: 5 }, (_, i) => ({ ...sampleRecord({ objectId: String(i) }) }));
    const lines = good.map((row) => encodeSpoolLine(row));
    const bad = ["garbage that is no spool line", `00000000${lines[2]!.slice(8)}`, lines[2]!.slice(0, 40)];
    const damaged = [lines[0], bad[0], lines[1], bad[1], lines[3], bad[2], lines[4]];
    writeFileSync(file, `${damaged.join("\n")}\n${lines[4]!.slice(0, 30)}`);
    const logger = recordingLogger();
    const before = auditMetrics();
    configureAudit({ store: prismaStore(db.prisma), writeMode: "buffered", spool: fileSpool({ path: file }), logger });
    await flushAudit();
    const stored = await storedIds();
    const standIns = await db.prisma.$queryRawUnsafe<{ id: string; objectId: string; line: string }[]>(
      `SELECT id::text AS id, "objectId", content->>'line' AS line FROM audit_events WHERE "contentType" = 'AuditEvent'`,
    );
    expect([...stored.keys()].filter((id) => !standIns.some((e) => e.id === id)).sort()).toEqual(good.filter((_, i) => i !== 2).map((r) => r.id).sort());
    expect(standIns.map((e) => e.line).sort()).toEqual([...bad].sort());
    expect(standIns.filter((e) => e.objectId === good[2]!.id)).toHaveLength(1);
    expect(readFileSync(`${file}.refused`, "utf8")).toBe(`${bad.join("\n")}\n`);
    expect(auditMetrics().dropped - before.dropped).toBe(0);
    expect(auditMetrics().rejected - before.rejected).toBe(3);
    expect(auditMetrics().replayed - before.replayed).toBe(4);
    const warnings = logger.warnings.join("\n");
    expect(warnings).toMatch(/half-written last line/);
    expect(warnings.match(/cannot be read back/g)).toHaveLength(3);
    for (const line of bad) expect(warnings).toContain(`The line, whole: ${line}`);
    expect(warnings).toMatch(/checksum mismatch/);
    expect(auditMetrics().spooled).toBe(0);
  });
});
