/**
 * `verifyAuditTrail()` on the memory store, which reads its hash chains like a database's:
 * a trail written by the library verifies clean; after ONE random tampering of a trail
 * (its rows changed, deleted, forged, reordered, its checkpoints altered or deleted, the
 * chain cut short, live or archived), verify names it at the chain and seq where it was
 * done. The memory store has no SQL to tamper with: the tampered rows are loaded into a
 * fresh store, as they would be read from a database an attacker changed.
 */
import fc from "fast-check";
import { v7 as uuidv7 } from "uuid";

import { AuditContext, closeAudit, configureAudit, memoryStore, verifyAuditTrail, type MemoryStore } from "../../src";
import { eventHash } from "../../src/integrity/canonical-event";
import type { AuditCheckpointRecord } from "../../src/model/checkpoint";
import type { AuditEventRecord } from "../../src/model/event-record";
import { buildTrail, expectReportedAt, TEST_KEYS, TRAIL_START, type ExpectedPlaces, type WrittenTrail } from "./verify-trail-writer";

const key = [
  { id: "2027-01", secret: "a test secret of at least thirty-two characters, new" },
  { id: "2026-01", secret: "a test secret of at least thirty-two characters, old" },
];

/** A store holding `events` and `checkpoints`, those older than `archiveBefore` archived. */
async function load(events: readonly AuditEventRecord[], checkpoints: readonly AuditCheckpointRecord[], archiveBefore?: Date): Promise<MemoryStore> {
  const store = memoryStore();
  // One row at a time, each its own batch: a chained batch is one chain's, and tampering mixes them.
  for (const event of events) await store.writeRows([{ ...event }]);
  for (const checkpoint of checkpoints) await store.insertCheckpoint!({ ...checkpoint });
  if (archiveBefore !== undefined) await store.archiveBatch(archiveBefore, 10_000);
  return store;
}

type Tamper =
  | { kind: "update"; field: "content" | "userId" | "timestamp" | "prevHash" | "hash" | "outcome" | "seq"; target: number }
  | { kind: "delete"; target: number }
  | { kind: "forge"; chain: number; selfConsistent: boolean }
  | { kind: "swap"; chain: number; a: number; b: number }
  | { kind: "delete-checkpoint"; target: number }
  | { kind: "alter-checkpoint"; field: "hash" | "signature" | "keyId"; target: number }
  | { kind: "truncate"; chain: number; keep: number; withCheckpoints: boolean };

const tamper: fc.Arbitrary<Tamper> = fc.oneof(
  fc.record({ kind: fc.constant("update" as const), field: fc.constantFrom("content" as const, "userId" as const, "timestamp" as const, "prevHash" as const, "hash" as const, "outcome" as const, "seq" as const), target: fc.nat() }),
  fc.record({ kind: fc.constant("delete" as const), target: fc.nat() }),
  fc.record({ kind: fc.constant("forge" as const), chain: fc.nat(), selfConsistent: fc.boolean() }),
  fc.record({ kind: fc.constant("swap" as const), chain: fc.nat(), a: fc.nat(), b: fc.nat() }),
  fc.record({ kind: fc.constant("delete-checkpoint" as const), target: fc.nat() }),
  fc.record({ kind: fc.constant("alter-checkpoint" as const), field: fc.constantFrom("hash" as const, "signature" as const, "keyId" as const), target: fc.nat() }),
  fc.record({ kind: fc.constant("truncate" as const), chain: fc.nat(), keep: fc.nat(), withCheckpoints: fc.boolean() }),
);

/** The tampered rows, and where verify must report the tampering. */
interface Tampered extends ExpectedPlaces {
  events: AuditEventRecord[];
  checkpoints: AuditCheckpointRecord[];
}

function apply(t: Tamper, trail: WrittenTrail): Tampered {
  let events = trail.events.map((e) => structuredClone(e));
  let checkpoints = trail.checkpoints.map((c) => ({ ...c }));
  const byChain = (c: number) => events.filter((e) => e.chainId === trail.chains[c % trail.chains.length]);
  const lastCheckpointSeq = (chainId: string) => Math.max(0, ...trail.checkpoints.filter((c) => c.chainId === chainId).map((c) => c.seq));
  const covered = (e: AuditEventRecord) => e.seq! < trail.events.filter((o) => o.chainId === e.chainId).length || lastCheckpointSeq(e.chainId!) >= e.seq!;
  const both = (places: Array<[string, number]>) => ({ events, checkpoints, withExport: places, withoutExport: places });
  switch (t.kind) {
    case "update": {
      const e = events[t.target % events.length]!;
      const at: [string, number] = [e.chainId!, e.seq!];
      const changed = { content: { ...e.content, order: "ORD-FORGED" }, userId: "mallory", timestamp: new Date(e.timestamp.getTime() + 1000), prevHash: "f".repeat(64), hash: "f".repeat(64), outcome: "failure" as const, seq: 10_000 + e.seq! }[t.field];
      (e as unknown as Record<string, unknown>)[t.field] = changed;
      return both([at]);
    }
    case "delete": {
      const e = events[t.target % events.length]!;
      events = events.filter((o) => o !== e);
      // The chain's newest event, after its last checkpoint: nothing signed shows it ever existed.
      return covered(e) ? both([[e.chainId!, e.seq!]]) : { events, checkpoints, withExport: null, withoutExport: null };
    }
    case "forge": {
      const last = byChain(t.chain).at(-1)!;
      // Appended after the head: right hash and wrong link, or right link and wrong hash (right both is what a writer writes).
      const forged: AuditEventRecord = { ...structuredClone(last), id: uuidv7(), seq: last.seq! + 1, content: { forged: true }, prevHash: t.selfConsistent ? "e".repeat(64) : last.hash };
      forged.hash = t.selfConsistent ? eventHash(forged) : "d".repeat(64);
      events.push(forged);
      return both([[forged.chainId!, forged.seq!]]);
    }
    case "swap": {
      const chain = byChain(t.chain);
      if (chain.length < 2) return apply({ kind: "update", field: "content", target: t.a }, trail);
      const a = chain[t.a % chain.length]!;
      let b = chain[t.b % chain.length]!;
      if (b === a) b = chain[(t.a + 1) % chain.length]!;
      [a.seq, b.seq] = [b.seq, a.seq];
      return both([[a.chainId!, Math.min(a.seq!, b.seq!)]]);
    }
    case "delete-checkpoint": {
      if (checkpoints.length === 0) return apply({ kind: "delete", target: t.target }, trail);
      const c = checkpoints[t.target % checkpoints.length]!;
      checkpoints = checkpoints.filter((o) => o !== c);
      // Without a copy, a deleted checkpoint leaves nothing behind (its events still link),
      // unless it was the chain's last: then the chain's (old) tail is covered by none.
      const before = Math.max(0, ...trail.checkpoints.filter((o) => o.chainId === c.chainId && o.seq < c.seq).map((o) => o.seq));
      return { events, checkpoints, withExport: [[c.chainId, c.seq]], withoutExport: c.seq === lastCheckpointSeq(c.chainId) ? [[c.chainId, before + 1]] : null };
    }
    case "alter-checkpoint": {
      if (checkpoints.length === 0) return apply({ kind: "delete", target: t.target }, trail);
      const c = checkpoints[t.target % checkpoints.length]!;
      c[t.field] = { hash: "c".repeat(64), signature: "b".repeat(64), keyId: "stolen-key" }[t.field];
      return both([[c.chainId, c.seq]]);
    }
    case "truncate": {
      const chain = byChain(t.chain);
      const chainId = chain[0]!.chainId!;
      const keep = t.keep % chain.length;
      const cut = new Set(chain.slice(keep));
      events = events.filter((e) => !cut.has(e));
      if (t.withCheckpoints) checkpoints = checkpoints.filter((c) => c.chainId !== chainId || c.seq <= keep);
      const signedPast = lastCheckpointSeq(chainId) > keep;
      // With the checkpoints deleted too, exported copies show the cut; without them, the (old)
      // events kept after the last checkpoint kept are covered by none, unless there are none.
      const keptSigned = Math.max(0, ...trail.checkpoints.filter((c) => c.chainId === chainId && c.seq <= keep).map((c) => c.seq));
      return {
        events,
        checkpoints,
        withExport: signedPast ? [[chainId, keep + 1]] : null,
        withoutExport: signedPast && !t.withCheckpoints ? [[chainId, keep + 1]] : keep > keptSigned ? [[chainId, keptSigned + 1]] : null,
      };
    }
  }
}

describe("verifyAuditTrail on the memory store", () => {
  afterEach(async () => {
    await closeAudit();
    configureAudit({});
  });

  it("verifies a trail the library wrote (sync, createEvents, buffered, archived) clean, and names the one row changed after", async () => {
    const store = memoryStore();
    configureAudit({ store, integrity: { key, checkpointEvery: 4 } });
    const ctx = new AuditContext({ extraData: { job: "cross-check" } });
    for (let i = 0; i < 9; i++) await ctx.createEvent({ contentType: "Order", objectId: i }, { n: i, nested: { b: 1, a: [1.5, "x"] } }, { action: "order.update" });
    await ctx.createEvents([{ contentObject: { contentType: "Order", objectId: 100 } }, { contentObject: { contentType: "Order", objectId: 101 }, content: { k: "v" } }]);
    configureAudit({ store, writeMode: "buffered", maxBatchSize: 7, integrity: { key, checkpointEvery: 4 } });
    await Promise.all(Array.from({ length: 30 }, (_, i) => new AuditContext().createEvent({ contentType: "Batch", objectId: i }, { i })));
    await closeAudit();
    expect((await store.archiveBatch(new Date(Date.now() + 60_000), 12)).moved).toBe(12);

    const clean = await verifyAuditTrail({ store, key, pageSize: 5 });
    expect(clean).toMatchObject({ ok: true, problems: [], verified: 9 + 2 + 30 });
    expect(clean.chains).toBeGreaterThanOrEqual(2);

    const events = [...store.listArchived().map(({ archivedAt: _at, ...event }) => event), ...store.list()];
    const victim = events.filter((e) => e.contentType === "Batch").sort((a, b) => a.seq! - b.seq!)[0]!;
    victim.userId = "mallory";
    const tampered = await verifyAuditTrail({ store: await load(events, store.listCheckpoints()), key });
    expect(tampered.ok).toBe(false);
    expect(tampered.problems).toEqual([expect.objectContaining({ kind: "altered", chainId: victim.chainId, seq: victim.seq, id: victim.id })]);
  });

  it("reports events written before integrity as unsigned, and newer unsigned ones as a failure", async () => {
    const trail = buildTrail([3], 2, 2);
    const report = await verifyAuditTrail({ store: await load(trail.events, trail.checkpoints), key });
    expect(report).toMatchObject({ ok: true, verified: 3, chains: 1, problems: [{ kind: "unsigned", chainId: "", seq: 0, id: trail.events[0]!.id }] });
    const last = { ...trail.events.at(-1)!, chainId: null, seq: null, prevHash: null, hash: null };
    const after = await verifyAuditTrail({ store: await load([...trail.events.slice(0, -1), last], trail.checkpoints), key });
    expect(after.ok).toBe(false);
    expect(after.problems).toContainEqual(expect.objectContaining({ kind: "unsigned", id: last.id }));
  });

  it("finds every tampering at its chain and seq, live or archived, and untouched trails clean", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 2, max: 4 }),
        fc.integer({ min: 0, max: 20 }),
        fc.integer({ min: 1, max: 7 }),
        tamper,
        async (lengths, every, archiveMinutes, pageSize, t) => {
          const trail = buildTrail(lengths, every);
          const archiveBefore = new Date(TRAIL_START + archiveMinutes * 60_000);
          const clean = await verifyAuditTrail({ store: await load(trail.events, trail.checkpoints, archiveBefore), key, pageSize });
          expect(clean).toEqual({ ok: true, verified: trail.events.length, chains: lengths.length, problems: [], unsigned: 0, uncovered: 0 });
          const tampered = apply(t, trail);
          const store = await load(tampered.events, tampered.checkpoints, archiveBefore);
          await expectReportedAt(store, { key, pageSize }, trail.checkpoints, tampered, t.kind === "swap" && lengths[t.chain % lengths.length]! >= 2);
        },
      ),
      { numRuns: Number(process.env.VERIFY_PROPERTY_RUNS ?? 200) },
    );
    expect(TEST_KEYS.byId.size).toBe(2);
  });
});
