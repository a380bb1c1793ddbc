/**
 * Events no signed checkpoint covers: a chain forged whole with INSERT alone (no key), the
 * tail of a writer killed before its last checkpoint, a chain whose checkpoints were
 * deleted. Past the grace period they are `unsigned` problems at their chain and first seq;
 * within it they are counted in the report's `uncovered`. And what only exported
 * checkpoints show: chains whose chain fields were all removed along with every checkpoint.
 */
import { v7 as uuidv7 } from "uuid";

import { eventHash } from "../../src/integrity/canonical-event";
import { verifyAuditTrail } from "../../src/integrity/verify-trail";
import type { AuditEventRecord } from "../../src/model/event-record";
import { memoryStore } from "../../src/stores/memory-store";
import { prismaStore } from "../../src/stores/prisma-store";
import { openDatabase, providers, type TestDatabase } from "../support/databases";
import { buildTrail, insertRaw, rawSql, TEST_KEYS, TRAIL_START, writeTrail } from "./verify-trail-writer";

const key = [
  { id: "2027-01", secret: "a test secret of at least thirty-two characters, new" },
  { id: "2026-01", secret: "a test secret of at least thirty-two characters, old" },
];
const MINUTE = 60_000;

/** A chain of `length` events made as a writer makes them, but without the key: linked, hashed, no checkpoint. */
function forgedChain(template: AuditEventRecord, length: number, at: number): AuditEventRecord[] {
  const chainId = uuidv7();
  const events: AuditEventRecord[] = [];
  let prevHash: string | null = null;
  for (let seq = 1; seq <= length; seq++) {
    const event: AuditEventRecord = { ...template, id: uuidv7(), chainId, seq, prevHash, timestamp: new Date(at + seq), userId: "ceo", content: { amount: 1_000_000, note: "approved wire" }, hash: null };
    event.hash = eventHash(event);
    prevHash = event.hash;
    events.push(event);
  }
  return events;
}

describe.each(providers)("events no checkpoint covers, on %s", (provider) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await openDatabase(provider);
  });
  afterEach(() => db.reset());
  afterAll(() => db?.close());

  it("reports a whole back-dated chain inserted without the key, with and without exported checkpoints", async () => {
    const store = prismaStore(db.prisma);
    const trail = buildTrail([4, 3], 2);
    await writeTrail(db, store, trail);
    const forged = forgedChain(trail.events[0]!, 3, TRAIL_START - 30 * 86_400_000);
    for (const event of forged) await insertRaw(db, event);
    for (const checkpoints of [undefined, trail.checkpoints]) {
      const report = await verifyAuditTrail({ store, key, ...(checkpoints === undefined ? {} : { checkpoints }) });
      expect(report.ok).toBe(false);
      expect(report.problems).toEqual([
        {
          kind: "unsigned",
          chainId: forged[0]!.chainId,
          seq: 1,
          id: forged[0]!.id,
          detail: expect.stringContaining("not covered by any signed checkpoint; checkpoints are written every 1000 events / 60000 ms and at close"),
        },
      ]);
      expect(report.problems[0]!.detail).toMatch(/^seq 1 to 3 \(3 events\)/);
    }
  });

  it("reports a forged chain dated in the future, which would otherwise stay in its grace for ever", async () => {
    const store = prismaStore(db.prisma);
    const [forged] = forgedChain(buildTrail([1], 1).events[0]!, 1, Date.now() + 86_400_000);
    await insertRaw(db, forged!);
    const report = await verifyAuditTrail({ store, key });
    expect(report).toMatchObject({ ok: false, problems: [{ kind: "unsigned", chainId: forged!.chainId, seq: 1, detail: expect.stringContaining("dated in the future") }] });
  });

  it("counts a recent tail as uncovered within the grace period, and reports it after (a writer killed before its checkpoint)", async () => {
    const store = prismaStore(db.prisma);
    // Two chains: one signed to its end, one whose last event no checkpoint covers, 3 minutes old.
    const trail = buildTrail([4, 5], 2, 0, { signEnds: false, start: Date.now() - 12 * MINUTE });
    await writeTrail(db, store, trail);
    const tailChain = trail.chains[1]!;
    const newestTail = trail.events.filter((e) => e.chainId === tailChain).at(-1)!;
    expect(Date.now() - newestTail.timestamp.getTime()).toBeLessThan(5 * MINUTE);
    // The default grace: checkpointIntervalMs (60 s) plus 5 minutes.
    await expect(verifyAuditTrail({ store, key })).resolves.toEqual({ ok: true, verified: 9, chains: 2, problems: [], unsigned: 0, uncovered: 1 });
    const late = await verifyAuditTrail({ store, key, uncoveredGraceMs: MINUTE });
    expect(late.ok).toBe(false);
    expect(late.problems).toEqual([expect.objectContaining({ kind: "unsigned", chainId: tailChain, seq: 5, id: newestTail.id })]);
    expect(late.uncovered).toBe(0);
    // A range or one table checks only what it reads: coverage is not judged there.
    const ranged = await verifyAuditTrail({ store, key, source: "live", uncoveredGraceMs: 0 });
    expect(ranged).toEqual({ ok: true, verified: 9, chains: 2, problems: [], unsigned: 0 });
  });

  it("reports the chain whose checkpoints were deleted and rewritten without the key", async () => {
    const store = prismaStore(db.prisma);
    const trail = buildTrail([5], 2);
    await writeTrail(db, store, trail);
    const sql = rawSql(db);
    await sql(`DELETE FROM "audit_checkpoints"`);
    // Event 3 rewritten, and every hash after it recomputed: the chain links again.
    let prevHash = trail.events[1]!.hash;
    for (const event of trail.events.slice(2)) {
      const rewritten: AuditEventRecord = { ...event, prevHash, ...(event.seq === 3 ? { userId: "someone-else" } : {}), hash: null };
      rewritten.hash = eventHash(rewritten);
      prevHash = rewritten.hash;
      await sql(`UPDATE "audit_events" SET "userId" = ?, "prevHash" = ?, "hash" = ? WHERE "id" = ?`, rewritten.userId, rewritten.prevHash, rewritten.hash, event.id);
    }
    await expect(verifyAuditTrail({ store, key })).resolves.toMatchObject({ ok: false, problems: [{ kind: "unsigned", chainId: trail.chains[0], seq: 1 }] });
    const withCopies = await verifyAuditTrail({ store, key, checkpoints: trail.checkpoints });
    // The first of the chain's problems: its checkpoint at seq 2 is gone from the database.
    expect(withCopies).toMatchObject({ ok: false, problems: [{ kind: "bad-checkpoint", chainId: trail.chains[0], seq: 2 }] });
  });

  it("shows a trail whose chain fields and checkpoints were all removed only against the exported checkpoints", async () => {
    const store = prismaStore(db.prisma);
    const trail = buildTrail([3, 2], 2);
    await writeTrail(db, store, trail);
    const sql = rawSql(db);
    await sql(`DELETE FROM "audit_checkpoints"`);
    await sql(`UPDATE "audit_events" SET "chainId" = NULL, "seq" = NULL, "prevHash" = NULL, "hash" = NULL, "userId" = ?`, "framed");
    // The database alone: it looks like events written before integrity was switched on.
    await expect(verifyAuditTrail({ store, key })).resolves.toMatchObject({ ok: true, problems: [{ kind: "unsigned", chainId: "", seq: 0 }] });
    const report = await verifyAuditTrail({ store, key, checkpoints: trail.checkpoints });
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual(
      expect.arrayContaining(trail.chains.map((chainId) => expect.objectContaining({ kind: "missing", chainId, seq: 1 }))),
    );
  });
});

describe("verifyAuditTrail({ uncoveredGraceMs })", () => {
  it.each([-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, "10m"])("refuses %p, naming the fix", async (value) => {
    await expect(verifyAuditTrail({ store: memoryStore(), key, uncoveredGraceMs: value as number })).rejects.toMatchObject({
      code: "ERR_AUDIT_QUERY",
      message: expect.stringContaining("uncoveredGraceMs must be a whole number of milliseconds from 0, such as 600000"),
    });
    expect(TEST_KEYS.byId.size).toBe(2);
  });
});
