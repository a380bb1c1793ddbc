import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import fc from "fast-check";
import { createClient } from "redis";
import { closeAudit, configureAudit, fileSpool, flushAudit, prismaStore, redisSpool, type AuditSpool } from "../../src";
import { runTsx } from "../support/archive-process";
import { openDatabase, type TestDatabase } from "../support/databases";
import { recordingLogger } from "./spool-conformance";

/**
 * The acknowledgement of a buffered createEvent with a spool is durable: a process
 * (test/support/durable-ack-child.ts) kills itself with SIGKILL right after its n-th
 * acknowledgement, n drawn at random, under load, with PostgreSQL up or unreachable;
 * the next process, with the store up, replays the spool, and every event the first
 * one acknowledged is then stored, once.
 */

const CHILD = "test/support/durable-ack-child.ts";
const redisUrl = process.env.AUDIT_TEST_REDIS_URL || "redis://127.0.0.1:6379";
const redisKey = `audit-events-test:${process.pid}:durable-ack`;
/** Nothing listens there: the store is down for the whole first process. */
const UNREACHABLE_PG = "postgresql://postgres@127.0.0.1:1/unreachable";
const dir = mkdtempSync(path.join(tmpdir(), "audit-durable-ack-"));
const admin = createClient({ url: redisUrl });
let db: TestDatabase<"postgresql">;
let run = 0;

beforeAll(async () => {
  db = await openDatabase("postgresql", { name: "durable_ack" });
  await admin.connect();
});
afterAll(async () => {
  await admin.del([redisKey, `${redisKey}:bytes`, `${redisKey}:lock`]);
  await admin.close();
  await db?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function storedIds(): Promise<Map<string, number>> {
  const rows = await db.prisma.$queryRawUnsafe<{ id: string; n: bigint }[]>("SELECT id::text AS id, count(*) AS n FROM audit_events GROUP BY id");
  return new Map(rows.map((r) => [r.id, Number(r.n)]));
}

interface Scenario {
  spool: "file" | "redis";
  store: "up" | "down";
}

/** A fresh spool for one run: the child's argument, and the same spool for the next process. */
async function freshSpool(kind: Scenario["spool"]): Promise<{ arg: string; open(): AuditSpool }> {
  if (kind === "file") {
    const file = path.join(dir, `run-${++run}.log`);
    return { arg: `file:${file}`, open: () => fileSpool({ path: file }) };
  }
  await admin.del([redisKey, `${redisKey}:bytes`, `${redisKey}:lock`]);
  return { arg: `redis:${redisUrl}#${redisKey}`, open: () => redisSpool({ url: redisUrl, key: redisKey }) };
}

describe.each<Scenario>([
  { spool: "file", store: "up" },
  { spool: "file", store: "down" },
  { spool: "redis", store: "up" },
  { spool: "redis", store: "down" },
])("a $spool spool, PostgreSQL $store, the writer killing itself (SIGKILL) right after an acknowledgement", ({ spool: kind, store }) => {
  it("loses no acknowledged event: the next process stores each of them, once", async () => {
    let onlyInSpool = 0;
    const gaps: number[] = [];
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 3000 }), async (killAt) => {
        await db.reset();
        const spool = await freshSpool(kind);
        const ackLog = path.join(dir, `acks-${++run}.log`);
        const outcome = await runTsx(CHILD, [store === "up" ? db.url : UNREACHABLE_PG, spool.arg, ackLog, String(killAt)], { timeoutMs: 60_000 });
        const lines = readFileSync(ackLog, "utf8").trim().split("\n");
        const acked = lines.filter((l) => l.startsWith("ack ")).map((l) => l.slice(4));
        const kill = lines.at(-1)!;
        expect({ timedOut: outcome.timedOut, exit: outcome.code, kill, acked: acked.length, stderr: outcome.stderr.slice(-1000) }).toMatchObject({
          timedOut: false,
          exit: expect.not.stringMatching(/^0$/) as unknown,
          kill: expect.stringMatching(/^kill \d+$/) as unknown,
          acked: killAt,
        });
        // The kill came in the same synchronous turn as the acknowledgement (the child's code
        // runs nothing in between); how long that took on the clock depends on the machine's
        // scheduler, so it is kept, not asserted.
        gaps.push(Number(kill.slice(5)));
        // The dead process's Redis lock would expire within 30 s; its expiry, at once.
        if (kind === "redis") await admin.del(`${redisKey}:lock`);
        const before = await storedIds();
        onlyInSpool += acked.filter((id) => !before.has(id)).length;

        const logger = recordingLogger();
        configureAudit({ store: prismaStore(db.prisma), writeMode: "buffered", spool: spool.open(), logger });
        try {
          await flushAudit();
        } finally {
          await closeAudit();
          configureAudit({});
        }
        const stored = await storedIds();
        expect(acked.filter((id) => !stored.has(id))).toEqual([]);
        expect([...stored.entries()].filter(([, n]) => n !== 1)).toEqual([]);
      }),
      { numRuns: 10 },
    );
    // The kills caught acknowledged events that only the spool held: the replay was needed.
    expect(onlyInSpool).toBeGreaterThan(0);
    expect(gaps.every((gap) => Number.isSafeInteger(gap) && gap >= 0)).toBe(true);
  }, 300_000);
});
