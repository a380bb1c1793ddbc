/**
 * A test writer of correctly chained trails, independent of the library's own writer: each
 * event's seq, prevHash and hash made with `eventHash`, checkpoints signed with
 * `signCheckpoint`, written through the real databases (the store's bulk insert, Prisma's
 * `createMany` for checkpoints). Also the raw SQL an attacker with database access runs.
 */
import { randomUUID } from "node:crypto";
import { v7 as uuidv7 } from "uuid";

import { eventHash } from "../../src/integrity/canonical-event";
import { resolveIntegrityKeys, signCheckpoint, type IntegrityKeyRing } from "../../src/integrity/integrity-keys";
import type { AuditCheckpointRecord } from "../../src/model/checkpoint";
import type { AuditEventRecord } from "../../src/model/event-record";
import type { JsonObject } from "../../src/model/json";
import type { AuditStore } from "../../src/stores/store";
import type { VerifyReport } from "../../src/integrity/verify-report";
import { verifyAuditTrail, type VerifyOptions } from "../../src/integrity/verify-trail";
import type { Provider, TestDatabase } from "../support/databases";

/** Two keys, as after a rotation: the first signs, both verify. */
export const TEST_KEYS: IntegrityKeyRing = resolveIntegrityKeys([
  { id: "2027-01", secret: "a test secret of at least thirty-two characters, new" },
  { id: "2026-01", secret: "a test secret of at least thirty-two characters, old" },
]);

/** The instant the test trails start at: far in the past, so archival by age takes what a test asks. */
export const TRAIL_START = Date.UTC(2025, 0, 1);

/** Content that tests the canonical form's round trip through each database: key order, numbers, unicode, array-index keys. */
function contentOf(chain: number, seq: number): JsonObject {
  return {
    order: `ORD-${chain}-${seq}`,
    amount: seq * 1.25,
    ratio: 0.1 + seq / 1000,
    big: 2 ** 40 + seq,
    negative: -seq,
    flags: [true, false, null],
    text: `ü\u00e9\u2028 "quoted" \\ ${"日本"} 😀`,
    nested: { z: 1, a: { "10": "ten", "9": "nine", b: [1, { y: 2, x: 1 }] } },
    empty: {},
  };
}

/** A trail: its events (in chain order) and its checkpoints. */
export interface WrittenTrail {
  chains: string[];
  events: AuditEventRecord[];
  checkpoints: AuditCheckpointRecord[];
}

/**
 * Builds `lengths.length` chains of the given lengths, a checkpoint every `checkpointEvery`
 * events of a chain (signed alternately by the two keys) and at its last event (unless
 * `signEnds` is false: a writer killed before its last checkpoint), events a minute apart
 * from `start` (default {@link TRAIL_START}), the chains interleaved in time as concurrent writers would.
 */
export function buildTrail(lengths: readonly number[], checkpointEvery: number, unsignedBefore = 0, { signEnds = true, start = TRAIL_START }: { signEnds?: boolean; start?: number } = {}): WrittenTrail {
  const chains = lengths.map(() => uuidv7());
  const events: AuditEventRecord[] = [];
  const checkpoints: AuditCheckpointRecord[] = [];
  const minute = unsignedBefore;
  for (let i = 0; i < unsignedBefore; i++) events.push(eventAt(start + i * 60_000, null, null, null, 0, i));
  lengths.forEach((length, c) => {
    let prevHash: string | null = null;
    for (let seq = 1; seq <= length; seq++) {
      const event = eventAt(start + (minute + (seq - 1) * lengths.length + c) * 60_000, chains[c]!, seq, prevHash, c, seq);
      event.hash = eventHash(event);
      prevHash = event.hash;
      events.push(event);
      // Every checkpointEvery events, and at the chain's end, as closeAudit() signs it.
      if (seq % checkpointEvery === 0 || (seq === length && signEnds)) {
        const key = seq % (2 * checkpointEvery) === 0 ? TEST_KEYS.byId.get("2026-01")! : TEST_KEYS.signing;
        const fields = { chainId: chains[c]!, seq, hash: event.hash, keyId: key.id, createdAt: new Date(event.timestamp.getTime() + 1000) };
        checkpoints.push({ ...fields, signature: signCheckpoint(fields, key) });
      }
    }
  });
  return { chains, events, checkpoints };
}

function eventAt(at: number, chainId: string | null, seq: number | null, prevHash: string | null, chain: number, n: number): AuditEventRecord {
  return {
    id: uuidv7(),
    timestamp: new Date(at),
    contentType: "Order",
    objectId: String(n),
    content: contentOf(chain, n),
    userId: n % 3 === 0 ? null : `user-${n}`,
    url: `https://shop.example.com/orders/${n}?a=1`,
    method: "POST",
    remoteAddr: "10.0.0.1",
    queryParams: { a: "1" },
    postData: {},
    headers: { "user-agent": "test" },
    action: "order.update",
    outcome: "success",
    severity: "info",
    tenantId: chain % 2 === 0 ? "t-1" : null,
    requestId: randomUUID(),
    chainId,
    seq,
    prevHash,
    hash: null,
  };
}

/** Writes a trail through the store's bulk insert and Prisma's createMany for the checkpoints. */
export async function writeTrail(db: TestDatabase, store: AuditStore, trail: WrittenTrail): Promise<void> {
  await store.writeRows(trail.events.map((event) => ({ ...event })));
  const prisma = db.prisma as unknown as { auditCheckpoint: { createMany(args: { data: object[] }): Promise<unknown> } };
  if (trail.checkpoints.length > 0) await prisma.auditCheckpoint.createMany({ data: trail.checkpoints.map((c) => ({ ...c, seq: BigInt(c.seq) })) });
}

/**
 * Raw SQL on a test database, with `?` placeholders on every provider, identifiers in double
 * quotes, and PostgreSQL casts written `?::jsonb` (dropped on the other databases).
 */
export function rawSql(db: TestDatabase): (sql: string, ...values: unknown[]) => Promise<number> {
  const provider: Provider = db.provider;
  return (sql, ...values) => {
    let n = 0;
    const text = provider === "postgresql" ? sql.replace(/\?/g, () => `$${++n}`) : sql.replace(/::\w+/g, "").replace(/"/g, provider === "mysql" ? "`" : '"');
    return (db.prisma as unknown as { $executeRawUnsafe(sql: string, ...values: unknown[]): Promise<number> }).$executeRawUnsafe(text, ...values);
  };
}

const JSON_COLUMNS = new Set(["content", "queryParams", "postData", "headers"]);

/**
 * Inserts `record` with one raw INSERT, as an attacker with INSERT alone would (no key, no
 * library): into the live table, or the archive with an `archivedAt` of now.
 */
export async function insertRaw(db: TestDatabase, record: AuditEventRecord, table: "audit_events" | "archived_audit_events" = "audit_events"): Promise<void> {
  const instant = (at: Date): unknown => (db.provider === "postgresql" ? at.toISOString() : at);
  const columns = Object.keys(record);
  const extra = table === "archived_audit_events" ? ', "archivedAt"' : "";
  await rawSql(db)(
    `INSERT INTO "${table}" (${columns.map((c) => `"${c}"`).join(", ")}${extra}) VALUES (${columns.map((c) => (JSON_COLUMNS.has(c) ? "?::jsonb" : c === "timestamp" ? "?::timestamptz" : "?")).join(", ")}${extra === "" ? "" : ", ?::timestamptz"})`,
    ...columns.map((c) => {
      const v = (record as unknown as Record<string, unknown>)[c];
      return v instanceof Date ? instant(v) : v !== null && typeof v === "object" ? JSON.stringify(v) : v;
    }),
    ...(extra === "" ? [] : [instant(new Date())]),
  );
}

/** Where verify must report a tampering, with and without the exported checkpoints, as (chainId, seq) places; null: the format cannot show it. */
export interface ExpectedPlaces {
  withExport: Array<[string, number]> | null;
  withoutExport: Array<[string, number]> | null;
}

/**
 * Verifies `store` with the checkpoints `exported` before the tampering, then without, and
 * checks each report (`verify`: verifyAuditTrail, or a wrapper that also compares another read path): clean where nothing can show the tampering, else failing with every
 * problem at one of the expected places (problems outside any chain, chain `""`, only where
 * expected), a swap first reported as `reordered`.
 */
export async function expectReportedAt(
  store: AuditStore,
  options: Pick<VerifyOptions, "key" | "pageSize">,
  exported: readonly AuditCheckpointRecord[],
  expected: ExpectedPlaces,
  swapped: boolean,
  verify: (opts: VerifyOptions) => Promise<VerifyReport> = verifyAuditTrail,
): Promise<void> {
  for (const [checkpoints, places] of [
    [exported, expected.withExport],
    [undefined, expected.withoutExport],
  ] as const) {
    const report = await verify({ store, ...options, ...(checkpoints === undefined ? {} : { checkpoints }) });
    if (places === null) {
      expect(report.ok).toBe(true);
      continue;
    }
    expect(report.ok).toBe(false);
    const found = report.problems.filter((p) => p.chainId !== "" || places.some(([c]) => c === ""));
    expect(found.length).toBeGreaterThan(0);
    for (const problem of found) expect(places).toContainEqual([problem.chainId, problem.seq]);
    if (swapped) expect(found[0]!.kind).toBe("reordered");
  }
}
