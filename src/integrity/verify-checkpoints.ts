import { getAuditConfig } from "../config/configure";
import { AuditConfigError, AuditError } from "../errors";
import type { CheckpointPosition } from "../model/chain-read";
import type { AuditCheckpointRecord } from "../model/checkpoint";
import type { AuditStore } from "../stores/store";

/** Checkpoints read per page when copying them out. */
const CHECKPOINT_PAGE_SIZE = 1000;

const HEX64 = /^[0-9a-f]{64}$/;

function refuse(where: string, why: string): never {
  throw new AuditError("ERR_AUDIT_CHECKPOINT", `${where}: ${why}. Each line of an exported checkpoints file is one JSON object { chainId, seq, hash, keyId, signature, createdAt }, as \`audit-events checkpoints\` writes it.`);
}

/**
 * Checks one exported checkpoint (as parsed from JSON, `createdAt` an ISO 8601 string or a Date).
 *
 * @throws {AuditError} `ERR_AUDIT_CHECKPOINT` naming the field that is wrong.
 */
export function checkpointOf(value: unknown, where = "checkpoint"): AuditCheckpointRecord {
  if (typeof value !== "object" || value === null || Array.isArray(value)) refuse(where, "not a JSON object");
  const { chainId, seq, hash, keyId, signature, createdAt } = value as Record<string, unknown>;
  if (typeof chainId !== "string" || chainId.length === 0) refuse(where, "chainId must be a non-empty string");
  if (typeof seq !== "number" || !Number.isSafeInteger(seq) || seq < 1) refuse(where, "seq must be a whole number from 1");
  if (typeof hash !== "string" || !HEX64.test(hash)) refuse(where, "hash must be 64 lower-case hex digits");
  if (typeof keyId !== "string" || keyId.length === 0) refuse(where, "keyId must be a non-empty string");
  if (typeof signature !== "string" || signature.length === 0) refuse(where, "signature must be a non-empty string");
  const instant = createdAt instanceof Date ? createdAt : typeof createdAt === "string" ? new Date(createdAt) : new Date(Number.NaN);
  if (Number.isNaN(instant.getTime())) refuse(where, "createdAt must be an ISO 8601 date-time");
  return { chainId, seq, hash, keyId, signature, createdAt: instant };
}

/**
 * Parses an NDJSON file of exported checkpoints (blank lines skipped).
 *
 * @example
 * ```ts
 * const copies = parseCheckpointLines(readFileSync("checkpoints.ndjson", "utf8"));
 * await verifyAuditTrail({ checkpoints: copies });
 * ```
 * @throws {AuditError} `ERR_AUDIT_CHECKPOINT` naming the line that is not a checkpoint.
 */
export function parseCheckpointLines(text: string, file = "checkpoints"): AuditCheckpointRecord[] {
  const found: AuditCheckpointRecord[] = [];
  text.split("\n").forEach((line, index) => {
    if (line.trim() === "") return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      refuse(`${file}, line ${index + 1}`, "not JSON");
    }
    found.push(checkpointOf(value, `${file}, line ${index + 1}`));
  });
  return found;
}

/** A checkpoint as one NDJSON line, the instant as ISO 8601 UTC text. */
export function checkpointLine(checkpoint: AuditCheckpointRecord): string {
  const { chainId, seq, hash, keyId, signature, createdAt } = checkpoint;
  return `${JSON.stringify({ chainId, seq, hash, keyId, signature, createdAt: createdAt.toISOString() })}\n`;
}

/** Whether two checkpoints are the same copy: every field equal. */
export function sameCheckpoint(a: AuditCheckpointRecord, b: AuditCheckpointRecord): boolean {
  return a.chainId === b.chainId && a.seq === b.seq && a.hash === b.hash && a.keyId === b.keyId && a.signature === b.signature && a.createdAt.getTime() === b.createdAt.getTime();
}

/**
 * Exported checkpoints by chain, each chain's by seq, checked. The same checkpoint given
 * twice (overlapping exports) counts once; two different ones at one seq are refused.
 */
export function checkpointsByChain(checkpoints: Iterable<AuditCheckpointRecord>): Map<string, AuditCheckpointRecord[]> {
  const chains = new Map<string, AuditCheckpointRecord[]>();
  let index = 0;
  for (const given of checkpoints) {
    const checkpoint = checkpointOf(given, `checkpoints[${index++}]`);
    const list = chains.get(checkpoint.chainId) ?? [];
    list.push(checkpoint);
    chains.set(checkpoint.chainId, list);
  }
  for (const [chainId, list] of chains) {
    list.sort((a, b) => a.seq - b.seq);
    const unique = list.filter((checkpoint, i) => {
      const before = list[i - 1];
      if (before === undefined || before.seq !== checkpoint.seq) return true;
      if (!sameCheckpoint(before, checkpoint)) refuse(`checkpoints of chain ${chainId}`, `seq ${checkpoint.seq} is given twice, differently (one of the copies was changed)`);
      return false;
    });
    chains.set(chainId, unique);
  }
  return chains;
}

/**
 * Every checkpoint created at or after `since`, oldest first, read in pages: what
 * `audit-events checkpoints` copies out of the database for write-once storage.
 *
 * @example
 * ```ts
 * for await (const checkpoint of iterateCheckpoints({ since: new Date(Date.now() - 86_400_000) })) out.write(checkpointLine(checkpoint));
 * ```
 * @throws {AuditConfigError} `ERR_AUDIT_NO_STORE` without a store; `ERR_AUDIT_CONFIG` for a store that cannot read checkpoints.
 */
export async function* iterateCheckpoints(opts: { since?: Date; store?: AuditStore } = {}): AsyncGenerator<AuditCheckpointRecord> {
  const store = opts.store ?? getAuditConfig().store;
  if (store === undefined || store === null) throw new AuditConfigError("iterateCheckpoints(): no audit store: pass { store } or call configureAudit({ store: prismaStore(prisma) }) first.", "ERR_AUDIT_NO_STORE");
  if (typeof store.readCheckpointPage !== "function") throw new AuditConfigError(`iterateCheckpoints(): the store ${store.name} cannot read checkpoints; use a prismaStore(prisma).`);
  let after: CheckpointPosition | undefined;
  for (;;) {
    const page = await store.readCheckpointPage({ limit: CHECKPOINT_PAGE_SIZE, ...(opts.since === undefined ? {} : { since: opts.since }), ...(after === undefined ? {} : { after }) });
    yield* page;
    if (page.length < CHECKPOINT_PAGE_SIZE) return;
    const last = page.at(-1)!;
    after = { createdAt: last.createdAt, chainId: last.chainId, seq: last.seq };
  }
}
