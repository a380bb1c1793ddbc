/**
 * Property: a random trail of several chains, some of it archived, verifies clean; after ONE
 * random tampering done with raw SQL, verify names it at the chain and seq where it was
 * done, every time, or (only for what the format cannot show) the test states why not.
 */
import fc from "fast-check";
import { Pool } from "pg";
import { v7 as uuidv7 } from "uuid";

import { eventHash } from "../../src/integrity/canonical-event";
import { verifyAuditTrail, type VerifyOptions } from "../../src/integrity/verify-trail";
import type { VerifyReport } from "../../src/integrity/verify-report";
import type { AuditEventRecord } from "../../src/model/event-record";
import { prismaStore } from "../../src/stores/prisma-store";
import { openDatabase, providers, type TestDatabase } from "../support/databases";
import { buildTrail, expectReportedAt, insertRaw, rawSql, TEST_KEYS, TRAIL_START, writeTrail, type ExpectedPlaces, type WrittenTrail } from "./verify-trail-writer";
import { testPgPool } from "../support/test-pg-pool";

const key = [
  { id: "2027-01", secret: "a test secret of at least thirty-two characters, new" },
  { id: "2026-01", secret: "a test secret of at least thirty-two characters, old" },
];

type Tamper =
  | { kind: "update"; field: string; target: number }
  | { kind: "delete"; target: number }
  | { kind: "forge"; chain: number; selfConsistent: boolean; duplicate: boolean; linked: boolean }
  | { kind: "forge-chain"; length: number; back: number }
  | { kind: "swap"; chain: number; a: number; b: number }
  | { kind: "delete-checkpoint"; target: number }
  | { kind: "alter-checkpoint"; field: "hash" | "signature" | "keyId" | "createdAt" | "seq"; target: number }
  | { kind: "truncate"; chain: number; keep: number; withCheckpoints: boolean };

const FIELDS = ["content", "timestamp", "userId", "action", "tenantId", "seq", "prevHash", "hash", "chainId", "chainId-null", "url", "outcome", "objectId"];

const tamper: fc.Arbitrary<Tamper> = fc.oneof(
  fc.record({ kind: fc.constant("update" as const), field: fc.constantFrom(...FIELDS), target: fc.nat() }),
  fc.record({ kind: fc.constant("delete" as const), target: fc.nat() }),
  fc.record({ kind: fc.constant("forge" as const), chain: fc.nat(), selfConsistent: fc.boolean(), duplicate: fc.boolean(), linked: fc.boolean() }),
  fc.record({ kind: fc.constant("forge-chain" as const), length: fc.integer({ min: 1, max: 4 }), back: fc.integer({ min: 0, max: 400 }) }),
  fc.record({ kind: fc.constant("swap" as const), chain: fc.nat(), a: fc.nat(), b: fc.nat() }),
  fc.record({ kind: fc.constant("delete-checkpoint" as const), target: fc.nat() }),
  fc.record({ kind: fc.constant("alter-checkpoint" as const), field: fc.constantFrom("hash" as const, "signature" as const, "keyId" as const, "createdAt" as const, "seq" as const), target: fc.nat() }),
  fc.record({ kind: fc.constant("truncate" as const), chain: fc.nat(), keep: fc.nat(), withCheckpoints: fc.boolean() }),
);

describe.each(providers)("verify after one random tampering on %s", (provider) => {
  let db: TestDatabase;
  /** PostgreSQL: the pool of a second store, which reads the chains as text (COPY) and hashes them in threads. */
  let pool: Pool | undefined;
  beforeAll(async () => {
    db = await openDatabase(provider);
    if (provider === "postgresql") pool = testPgPool(db.url, { max: 2 });
  });
  afterAll(async () => {
    await pool?.end();
    await db?.close();
  });

  /** Verifies through the paged read and, on PostgreSQL, through `pgPool` too, which must report exactly the same. */
  async function verifyBoth(opts: VerifyOptions, workers: number): Promise<VerifyReport> {
    const report = await verifyAuditTrail(opts);
    if (pool !== undefined) await expect(verifyAuditTrail({ ...opts, store: prismaStore(db.prisma, { pgPool: pool }), workers })).resolves.toEqual(report);
    return report;
  }

  /** An instant as a raw statement takes it: UTC text PostgreSQL casts, a Date the other adapters write as the store does. */
  const instant = (at: Date): unknown => (provider === "postgresql" ? at.toISOString() : at);

  async function tableOf(id: string): Promise<"audit_events" | "archived_audit_events"> {
    const prisma = db.prisma as unknown as { archivedAuditEvent: { findUnique(a: object): Promise<unknown> } };
    return (await prisma.archivedAuditEvent.findUnique({ where: { id } })) === null ? "audit_events" : "archived_audit_events";
  }

  /** Applies the tampering with raw SQL; returns where verify must find it. */
  async function apply(t: Tamper, trail: WrittenTrail): Promise<ExpectedPlaces> {
    const sql = rawSql(db);
    const byChain = (c: number) => trail.events.filter((e) => e.chainId === trail.chains[c % trail.chains.length]);
    const lastCheckpointSeq = (chainId: string) => Math.max(0, ...trail.checkpoints.filter((c) => c.chainId === chainId).map((c) => c.seq));
    const both = (places: Array<[string, number]>): ExpectedPlaces => ({ withExport: places, withoutExport: places });
    switch (t.kind) {
      case "update": {
        const e = trail.events[t.target % trail.events.length]!;
        const table = await tableOf(e.id);
        const chain = e.chainId!;
        const covered = e.seq! < byChain(trail.chains.indexOf(chain)).length || lastCheckpointSeq(chain) >= e.seq!;
        switch (t.field) {
          case "content":
            await sql(`UPDATE "${table}" SET "content" = ?::jsonb WHERE "id" = ?`, JSON.stringify({ ...e.content, order: "ORD-FORGED" }), e.id);
            return both([[chain, e.seq!]]);
          case "timestamp":
            await sql(`UPDATE "${table}" SET "timestamp" = ?::timestamptz WHERE "id" = ?`, instant(new Date(e.timestamp.getTime() + 1000)), e.id);
            return both([[chain, e.seq!]]);
          case "seq": {
            await sql(`UPDATE "${table}" SET "seq" = ? WHERE "id" = ?`, 10_000 + e.seq!, e.id);
            return both([[chain, e.seq!]]);
          }
          case "chainId": {
            const other = uuidv7();
            await sql(`UPDATE "${table}" SET "chainId" = ? WHERE "id" = ?`, other, e.id);
            // The row leaves its chain (a gap there, when events or a checkpoint follow) and shows in the new one, unlinked.
            return both([[chain, e.seq!], [other, 1], [other, e.seq!]]);
          }
          case "chainId-null":
            await sql(`UPDATE "${table}" SET "chainId" = NULL, "seq" = NULL, "prevHash" = NULL, "hash" = NULL WHERE "id" = ?`, e.id);
            // Unsigned after signed events: ok is false even when it was the chain's tail. But an
            // uncovered tail older than every other signed event looks written before integrity.
            if (!covered && trail.events.every((other) => other === e || other.timestamp > e.timestamp)) return { withExport: null, withoutExport: null };
            return both(covered ? [[chain, e.seq!], ["", 0]] : [["", 0]]);
          case "prevHash":
          case "hash":
            await sql(`UPDATE "${table}" SET "${t.field}" = ? WHERE "id" = ?`, "f".repeat(64), e.id);
            return both([[chain, e.seq!]]);
          default:
            await sql(`UPDATE "${table}" SET "${t.field}" = ? WHERE "id" = ?`, t.field === "outcome" ? "failure" : "mallory", e.id);
            return both([[chain, e.seq!]]);
        }
      }
      case "delete": {
        const e = trail.events[t.target % trail.events.length]!;
        await sql(`DELETE FROM "${await tableOf(e.id)}" WHERE "id" = ?`, e.id);
        const chain = e.chainId!;
        const covered = e.seq! < byChain(trail.chains.indexOf(chain)).length || lastCheckpointSeq(chain) >= e.seq!;
        // The chain's newest event, after its last checkpoint: nothing signed shows it ever existed.
        return covered ? both([[chain, e.seq!]]) : { withExport: null, withoutExport: null };
      }
      case "forge": {
        const events = byChain(t.chain);
        const chain = events[0]!.chainId!;
        const last = events.at(-1)!;
        const at = t.duplicate ? events[t.chain % events.length]! : last;
        const seq = t.duplicate ? at.seq! : last.seq! + 1;
        const forged: AuditEventRecord = { ...at, id: uuidv7(), seq, content: { forged: true }, prevHash: t.duplicate ? at.prevHash : t.selfConsistent && !t.linked ? "e".repeat(64) : last.hash };
        forged.hash = t.selfConsistent ? eventHash(forged) : "d".repeat(64);
        // A duplicate goes into the table that does not hold that position; an appended row into the live table.
        const table = t.duplicate && (await tableOf(at.id)) === "audit_events" ? "archived_audit_events" : "audit_events";
        await insertRaw(db, forged, table);
        // Appended, linked and hashed as a writer would: no checkpoint covers it.
        return both([[chain, seq]]);
      }
      case "forge-chain": {
        // A whole chain inserted with INSERT alone, back-dated: no checkpoint signs any of it.
        const chain = uuidv7();
        let prevHash: string | null = null;
        for (let seq = 1; seq <= t.length; seq++) {
          const forged: AuditEventRecord = { ...trail.events[0]!, id: uuidv7(), chainId: chain, seq, prevHash, timestamp: new Date(TRAIL_START - t.back * 86_400_000 + seq), userId: "ceo", content: { approved: true } };
          forged.hash = eventHash(forged);
          prevHash = forged.hash;
          await insertRaw(db, forged);
        }
        return both([[chain, 1]]);
      }
      case "swap": {
        const events = byChain(t.chain);
        if (events.length < 2) return apply({ kind: "update", field: "content", target: t.a }, trail);
        const a = events[t.a % events.length]!;
        let b = events[t.b % events.length]!;
        if (b === a) b = events[(t.a + 1) % events.length]!;
        const [ta, tb] = [await tableOf(a.id), await tableOf(b.id)];
        await sql(`UPDATE "${ta}" SET "seq" = ? WHERE "id" = ?`, -1, a.id);
        await sql(`UPDATE "${tb}" SET "seq" = ? WHERE "id" = ?`, a.seq, b.id);
        await sql(`UPDATE "${ta}" SET "seq" = ? WHERE "id" = ?`, b.seq, a.id);
        return both([[a.chainId!, Math.min(a.seq!, b.seq!)]]);
      }
      case "delete-checkpoint": {
        if (trail.checkpoints.length === 0) return apply({ kind: "delete", target: t.target }, trail);
        const c = trail.checkpoints[t.target % trail.checkpoints.length]!;
        await sql(`DELETE FROM "audit_checkpoints" WHERE "chainId" = ? AND "seq" = ?`, c.chainId, c.seq);
        // Without a copy, a deleted checkpoint leaves nothing behind (its events still link),
        // unless it was the chain's last: then the chain's (old) tail is covered by none.
        const before = Math.max(0, ...trail.checkpoints.filter((o) => o.chainId === c.chainId && o.seq < c.seq).map((o) => o.seq));
        return { withExport: [[c.chainId, c.seq]], withoutExport: c.seq === lastCheckpointSeq(c.chainId) ? [[c.chainId, before + 1]] : null };
      }
      case "alter-checkpoint": {
        if (trail.checkpoints.length === 0) return apply({ kind: "delete", target: t.target }, trail);
        const c = trail.checkpoints[t.target % trail.checkpoints.length]!;
        const value = { hash: "c".repeat(64), signature: "b".repeat(64), keyId: "stolen-key", createdAt: instant(new Date(c.createdAt.getTime() + 1000)), seq: c.seq + 5000 }[t.field];
        await sql(`UPDATE "audit_checkpoints" SET "${t.field}" = ?${t.field === "createdAt" ? "::timestamptz" : ""} WHERE "chainId" = ? AND "seq" = ?`, value, c.chainId, c.seq);
        return t.field === "seq" ? both([[c.chainId, c.seq], [c.chainId, c.seq + 5000]]) : both([[c.chainId, c.seq]]);
      }
      case "truncate": {
        const events = byChain(t.chain);
        const chain = events[0]!.chainId!;
        const keep = t.keep % events.length;
        for (const e of events.slice(keep)) await sql(`DELETE FROM "${await tableOf(e.id)}" WHERE "id" = ?`, e.id);
        if (t.withCheckpoints) await sql(`DELETE FROM "audit_checkpoints" WHERE "chainId" = ? AND "seq" > ?`, chain, keep);
        const signedPast = lastCheckpointSeq(chain) > keep;
        // Cut past the last checkpoint: the rest of the chain never was signed, so nothing shows the cut.
        // With the checkpoints deleted too, exported copies show it; without them, the (old)
        // events kept after the last checkpoint kept are covered by none, unless there are none.
        const keptSigned = Math.max(0, ...trail.checkpoints.filter((c) => c.chainId === chain && c.seq <= keep).map((c) => c.seq));
        return {
          withExport: signedPast ? [[chain, keep + 1]] : null,
          withoutExport: signedPast && !t.withCheckpoints ? [[chain, keep + 1]] : keep > keptSigned ? [[chain, keptSigned + 1]] : null,
        };
      }
    }
  }

  it("finds every tampering at its chain and seq, and untouched trails clean", async () => {
    const store = prismaStore(db.prisma);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 2, max: 4 }),
        fc.integer({ min: 0, max: 20 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 7 }),
        tamper,
        fc.integer({ min: 0, max: 2 }),
        async (lengths, every, archiveMinutes, archiveAfter, pageSize, t, workers) => {
          await db.reset();
          const trail = buildTrail(lengths, every);
          await writeTrail(db, store, trail);
          const archive = () => store.archiveBatch(new Date(TRAIL_START + archiveMinutes * 60_000), 1000);
          if (!archiveAfter) await archive();
          const clean = await verifyBoth({ store, key, pageSize }, workers);
          expect(clean).toEqual({ ok: true, verified: trail.events.length, chains: lengths.length, problems: [], unsigned: 0, uncovered: 0 });
          const exported = trail.checkpoints.map((c) => ({ ...c }));
          const expected = await apply(t, trail);
          // Archival after a change to an event moves it as it is (a forged duplicate stays where it is, archival skips what the archive holds).
          if (archiveAfter && t.kind !== "forge") await archive();
          await expectReportedAt(store, { key, pageSize }, exported, expected, t.kind === "swap" && lengths[t.chain % lengths.length]! >= 2, (opts) => verifyBoth(opts, workers));
        },
      ),
      { numRuns: Number(process.env.VERIFY_PROPERTY_RUNS ?? 30) },
    );
    expect(TEST_KEYS.byId.size).toBe(2);
  }, 300_000);
});
