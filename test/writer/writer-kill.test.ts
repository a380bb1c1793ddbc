import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { closeAudit, configureAudit, fileSpool, flushAudit, prismaStore } from "../../src";
import { runTsx } from "../support/archive-process";
import { openDatabase, type TestDatabase } from "../support/databases";
import { startTcpProxy, throughProxy, type TcpProxy } from "../support/tcp-proxy";
import { recordingLogger } from "./spool-conformance";

/**
 * A process writing in buffered mode, killed with SIGKILL under load
 * (test/support/writer-child.ts). What it acknowledged must be recovered.
 */

const CHILD = "test/support/writer-child.ts";
const dir = mkdtempSync(path.join(tmpdir(), "audit-kill-"));
let db: TestDatabase<"postgresql">;
let proxy: TcpProxy;

beforeAll(async () => {
  db = await openDatabase("postgresql", { name: "writer_kill" });
  const { hostname, port } = new URL(db.url);
  proxy = await startTcpProxy({ host: hostname, port: Number(port) });
});
afterEach(() => db.reset());
afterAll(async () => {
  await proxy?.close();
  await db?.close();
  rmSync(dir, { recursive: true, force: true });
});

const acks = (lines: readonly string[]) => lines.filter((l) => l.startsWith("ack ")).map((l) => l.split(" ")[2]!);

async function storedIds(): Promise<Map<string, number>> {
  const rows = await db.prisma.$queryRawUnsafe<{ id: string; n: bigint }[]>("SELECT id::text AS id, count(*) AS n FROM audit_events GROUP BY id");
  return new Map(rows.map((r) => [r.id, Number(r.n)]));
}

/** The number of stored events once it has settled (the same twice, 200 ms apart): a write in flight at a cut may still commit. */
async function settledCount(): Promise<number> {
  let count = (await storedIds()).size;
  for (let same = 0; same < 2; ) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    const now = (await storedIds()).size;
    same = now === count ? same + 1 : 0;
    count = now;
  }
  return count;
}

it("with a spool: every acknowledged event is recovered by the next process, once", async () => {
  const spool = path.join(dir, "spool.log");
  proxy.restore();
  let cutAt = -1;
  let storedAtCut: number | undefined;
  const outcome = await runTsx(CHILD, [throughProxy(db.url, proxy), spool], {
    timeoutMs: 60_000,
    killWhen: (lines) => {
      const acked = acks(lines).length;
      if (cutAt < 0 && acked >= 1000) {
        // The database goes away: from here on, acknowledged events are only in the spool.
        cutAt = acked;
        proxy.cut();
        // The acks read so far lag the child's (its pipe holds more, stored before the cut):
        // what the store holds once the cut has settled says how many are stored, not cutAt.
        void settledCount().then((count) => (storedAtCut = count));
      }
      return storedAtCut !== undefined && acked >= Math.max(cutAt, storedAtCut) + 1500;
    },
  });
  expect({ killed: outcome.killed, signal: outcome.signal, stderr: outcome.stderr.slice(-2000) }).toMatchObject({ killed: true, signal: "SIGKILL" });
  const acked = acks(outcome.lines);
  expect(acked.length).toBeGreaterThanOrEqual(2500);
  proxy.restore();
  const storedBefore = await storedIds();
  expect(acked.filter((id) => !storedBefore.has(id)).length).toBeGreaterThanOrEqual(1500);

  // The next process: same spool, the store reachable.
  const logger = recordingLogger();
  configureAudit({ store: prismaStore(db.prisma), writeMode: "buffered", spool: fileSpool({ path: spool }), logger });
  try {
    await flushAudit();
  } finally {
    await closeAudit();
    configureAudit({});
  }
  const stored = await storedIds();
  expect(acked.filter((id) => !stored.has(id))).toEqual([]);
  expect([...stored.values()].every((n) => n === 1)).toBe(true);
  expect(logger.warnings.join("\n")).toMatch(/wait in spool .*; replaying them/);
});

it("without a spool: what was lost is only what had not been flushed yet", async () => {
  let writtenSeen = 0;
  const outcome = await runTsx(CHILD, [db.url, "none"], {
    timeoutMs: 60_000,
    killWhen: (lines) => {
      const written = lines.filter((l) => l.startsWith("written "));
      writtenSeen = written.length > 0 ? Number(written.at(-1)!.split(" ")[1]) : 0;
      return writtenSeen >= 2000;
    },
  });
  expect({ signal: outcome.signal, stderr: outcome.stderr.slice(-2000) }).toMatchObject({ signal: "SIGKILL" });
  const acked = acks(outcome.lines);
  const stored = await storedIds();
  // Batches are written in order, so what is stored is a prefix of what was acknowledged...
  expect(acked.slice(0, stored.size).every((id) => stored.has(id))).toBe(true);
  expect(stored.size).toBeGreaterThanOrEqual(writtenSeen);
  // What was lost is the unflushed tail: acknowledged, never reported written.
  expect(stored.size).toBeLessThan(acked.length + 1);
  // ... and every batch the writer reported as written is there, once.
  expect([...stored.values()].every((n) => n === 1)).toBe(true);
});
