import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { AuditContext, closeAudit, configureAudit, fileSpool, flushAudit, prismaStore, type AuditSpool, type AuditStore } from "../../src";
import { openDatabase, type TestDatabase } from "../support/databases";
import { recordingLogger } from "../writer/spool-conformance";
import { allEvents, checkChains, KEY_A } from "./chain-checker";

/**
 * The buffered writer has one chain, so it may write one chained batch at a time: two
 * batches linked at once take the same positions, the store refuses one (unique
 * `(chainId, seq)`), and the chain is abandoned. Two of its paths write batches: the run
 * loop writes straight to the store while the spool cannot take events, and a full spool
 * under `onSpoolFull: "block"` feeds its head to the store to make room. Here both run
 * at once: the spool fails appends (events go straight to the store, whose write the test
 * holds) and comes back full (a new group blocks on it and feeds the head). Every chained
 * write must start only after the one before it ended, and one chain must hold every
 * event, gapless.
 */

const dir = mkdtempSync(path.join(tmpdir(), "audit-chain-one-writer-"));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
let db: TestDatabase<"postgresql">;

beforeAll(async () => {
  db = await openDatabase("postgresql", { name: "chain-one-writer" });
});
afterAll(async () => {
  await closeAudit().catch(() => undefined);
  configureAudit({});
  await db?.close();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * `inner` and `spoolInner`, steered by the test: the store refuses writes (`down.store`)
 * or holds them until released (`hold`); the spool refuses appends (`down.spool`) or
 * reports itself full (`down.full`). Every write that reaches the store while another is
 * under way is noted in `overlaps`.
 */
function harness(inner: AuditStore, spoolInner: AuditSpool) {
  const down = { spool: false, store: true, full: false };
  const overlaps: string[] = [];
  const writes: number[] = [];
  /** How often the writer asked the spool's size while it reported itself full. */
  const seenFull = { count: 0 };
  let writing = 0;
  let held: Promise<void> | undefined;
  let release = () => {};
  const store: AuditStore = Object.assign(Object.create(inner) as AuditStore, {
    name: inner.name,
    async writeRows(rows: Parameters<AuditStore["writeRows"]>[0]) {
      if (down.store) throw Object.assign(new Error("connect ECONNREFUSED (test: store down)"), { code: "ECONNREFUSED" });
      writing++;
      writes.push(rows.length);
      if (writing > 1) overlaps.push(`a batch of ${rows.length} from ${String(rows[0]?.chainId)}#${String(rows[0]?.seq)} while another was being written`);
      try {
        await held;
        await inner.writeRows(rows);
      } finally {
        writing--;
      }
    },
  });
  const spool: AuditSpool = Object.assign(Object.create(spoolInner) as AuditSpool, {
    name: spoolInner.name,
    maxBytes: spoolInner.maxBytes,
    open: (logger: Parameters<AuditSpool["open"]>[0]) => spoolInner.open(logger),
    usedBytes: () => {
      if (!down.full) return spoolInner.usedBytes();
      seenFull.count++;
      return spoolInner.maxBytes;
    },
    count: () => spoolInner.count(),
    peek: (max: number) => spoolInner.peek(max),
    ack: (batch: Parameters<AuditSpool["ack"]>[0], count?: number) => spoolInner.ack(batch, count),
    close: () => spoolInner.close(),
    async append(lines: readonly string[]) {
      if (down.spool) throw Object.assign(new Error("EIO: i/o error, write (test: spool down)"), { code: "EIO" });
      await spoolInner.append(lines);
    },
  });
  const hold = () => {
    held = new Promise<void>((resolve) => (release = resolve));
  };
  const letGo = () => {
    held = undefined;
    release();
  };
  return { store, spool, down, overlaps, writes, seenFull, hold, letGo };
}

it("writes one chained batch at a time when a blocked spool feeds its head while the run loop writes straight to the store", async () => {
  const h = harness(prismaStore(db.prisma), fileSpool({ path: path.join(dir, "spool.log"), maxBytes: 64 * 1024 }));
  configureAudit({
    store: h.store,
    writeMode: "buffered",
    maxBatchSize: 20,
    flushIntervalMs: 5,
    spool: h.spool,
    onSpoolFull: "block",
    integrity: { key: KEY_A, checkpointEvery: 1000 },
    logger: recordingLogger(),
  });
  const context = new AuditContext();
  const pending: Promise<unknown>[] = [];
  const create = (n: number) => {
    for (let i = 0; i < n; i++) pending.push(context.createEvent({ contentType: "Load", objectId: String(pending.length) }, { pad: "x" }));
  };
  const until = async (what: string, done: () => boolean) => {
    for (let waited = 0; !done(); waited += 5) {
      if (waited > 10_000) throw new Error(`waited 10 s for ${what}`);
      await sleep(5);
    }
  };
  // The store is down: three events wait in the spool.
  create(3);
  await until("three spooled events", () => h.spool.count() === 3);
  // Appends fail for a while: the spool is given up on for up to 800 ms, and the run loop
  // writes what comes meanwhile straight to the store, which is back, and holds that write.
  h.down.spool = true;
  h.hold();
  h.down.store = false;
  for (let i = 0; i < 4; i++) {
    create(1);
    await sleep(60);
  }
  await until("a write held at the store", () => h.writes.length > 0);
  h.down.spool = false;
  // The spool takes events again, reporting itself full: the next group blocks on it
  // (onSpoolFull "block") and feeds the spool's head to the store to make room, while
  // the run loop's write is still held.
  h.down.full = true;
  await sleep(1000);
  create(1);
  await sleep(300);
  h.down.full = false;
  // The group did block on the full spool (the scenario happened).
  expect(h.seenFull.count).toBeGreaterThan(0);
  h.letGo();
  await Promise.all(pending);
  await flushAudit();
  await closeAudit();
  configureAudit({});

  expect(h.overlaps).toEqual([]);
  const events = await allEvents(db);
  expect(events).toHaveLength(pending.length);
  const report = checkChains(events, [], KEY_A);
  expect(report.problems).toEqual([]);
  // One writer, one chain: none was abandoned for a clash.
  expect(report.chains.size).toBe(1);
});
