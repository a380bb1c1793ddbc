import { eventHash } from "../../src/integrity/canonical-event";
import { resolveIntegrityKeys, verifyCheckpointSignature, type IntegrityKey } from "../../src/integrity/integrity-keys";
import type { AuditCheckpointRecord } from "../../src/model/checkpoint";
import type { AuditEventRecord } from "../../src/model/event-record";
import type { AuditStore } from "../../src/stores/store";
import { storedRecord } from "../../src/stores/stored-record";

/** A test database as far as the checker reads it (any provider's client). */
export interface EventTables {
  prisma: { auditEvent: { findMany(): Promise<object[]> }; archivedAuditEvent: { findMany(): Promise<object[]> } };
}

/** Two integrity secrets for the tests (32+ characters each). */
export const KEY_A = "integrity-test-key-A-0123456789abcdef";
export const KEY_B = "integrity-test-key-B-fedcba9876543210";

/** Every event of the database, live and archived, as stored records (seq as a number). */
export async function allEvents(db: EventTables): Promise<AuditEventRecord[]> {
  const live = await db.prisma.auditEvent.findMany();
  const archived = await db.prisma.archivedAuditEvent.findMany();
  return [...live, ...archived].map((row) => storedRecord(row));
}

/** What the small checker found: the chains by id (ordered by seq) and every problem. */
export interface ChainReport {
  chains: Map<string, AuditEventRecord[]>;
  problems: string[];
}

/**
 * The tests' own verifier (the public one is verifyAuditTrail): every event signed, every
 * chain contiguous from seq 1 with each hash recomputed by eventHash and each prevHash the
 * hash before it, every checkpoint signed under `key` and naming an event with its hash.
 */
export function checkChains(events: readonly AuditEventRecord[], checkpoints: readonly AuditCheckpointRecord[], key: IntegrityKey): ChainReport {
  const problems: string[] = [];
  const chains = new Map<string, AuditEventRecord[]>();
  for (const event of events) {
    if (event.chainId === null || event.seq === null || event.hash === null) {
      problems.push(`unsigned ${event.id}`);
      continue;
    }
    const chain = chains.get(event.chainId) ?? [];
    chain.push(event);
    chains.set(event.chainId, chain);
  }
  for (const [chainId, chain] of chains) {
    chain.sort((a, b) => a.seq! - b.seq!);
    chain.forEach((event, i) => {
      if (event.seq !== i + 1) problems.push(`${chainId}: position ${i + 1} holds seq ${event.seq}`);
      if (eventHash(event) !== event.hash) problems.push(`${chainId}#${event.seq}: hash does not match the event`);
      const expected = i === 0 ? null : chain[i - 1]!.hash;
      if (event.prevHash !== expected) problems.push(`${chainId}#${event.seq}: prevHash does not link`);
    });
  }
  const keys = resolveIntegrityKeys(key);
  for (const checkpoint of checkpoints) {
    const { signature, ...fields } = checkpoint;
    if (!verifyCheckpointSignature(fields, signature, keys)) problems.push(`checkpoint ${checkpoint.chainId}#${checkpoint.seq}: bad signature`);
    const event = chains.get(checkpoint.chainId)?.[checkpoint.seq - 1];
    if (event?.hash !== checkpoint.hash) problems.push(`checkpoint ${checkpoint.chainId}#${checkpoint.seq}: names no event with its hash`);
  }
  return { chains, problems };
}

/** Checks the whole database: its events and the store's checkpoints. */
export async function checkDatabase(db: EventTables, store: AuditStore, key: IntegrityKey): Promise<ChainReport & { checkpoints: AuditCheckpointRecord[] }> {
  const checkpoints = await store.readCheckpoints!();
  return { ...checkChains(await allEvents(db), checkpoints, key), checkpoints };
}

/** The highest checkpointed seq of each chain. */
export function signedHeads(checkpoints: readonly AuditCheckpointRecord[]): Map<string, number> {
  const heads = new Map<string, number>();
  for (const c of checkpoints) heads.set(c.chainId, Math.max(heads.get(c.chainId) ?? 0, c.seq));
  return heads;
}
