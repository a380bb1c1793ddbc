import { availableParallelism } from "node:os";
import { getAuditConfig } from "../config/configure";
import { DEFAULT_CHECKPOINT_EVERY, DEFAULT_CHECKPOINT_INTERVAL_MS } from "../config/defaults";
import { AuditConfigError, AuditError } from "../errors";
import type { ChainPageRequest, ChainPosition, ChainRow } from "../model/chain-read";
import type { AuditCheckpointRecord } from "../model/checkpoint";
import type { EventSource } from "../model/event-filter";
import type { AuditStore } from "../stores/store";
import { resolveIntegrityKeys, type IntegrityKey, type IntegrityKeyRing } from "./integrity-keys";
import { HashWorkers } from "./hash-workers";
import { ChainCheck, checkedEvent, type ChainScope, type CheckedRow, type UncoveredPolicy } from "./verify-chain";
import { checkpointsByChain } from "./verify-checkpoints";
import type { VerifyProblem, VerifyReport } from "./verify-report";

/** Rows read per page of the chain sequence. */
export const VERIFY_PAGE_SIZE = 5000;

/** Options of {@link verifyAuditTrail}. */
export interface VerifyOptions {
  /** Only events at or after this instant (and checkpoints created since). */
  since?: Date;
  /** Only events before this instant. */
  until?: Date;
  /**
   * The live table, the archive, or both as one sequence (archival moves events between
   * them, so a chain spans both): only `"all"` without `since`/`until` sees whole chains.
   * @default "all"
   */
  source?: EventSource;
  /** @default the configured store */
  store?: AuditStore;
  /** The key (or keys) checkpoints were signed with. @default the configured `integrity.key` */
  key?: IntegrityKey;
  /**
   * Checkpoints copied out of the database earlier (`audit-events checkpoints`): each must
   * still be in the database, unchanged, and its event must still be there. Catches what
   * the database alone cannot show: a deleted checkpoint, and a chain cut short after
   * its last checkpoint left in the database.
   */
  checkpoints?: Iterable<AuditCheckpointRecord>;
  /**
   * How long a chain's newest events may wait for a signed checkpoint, in ms. In a
   * whole-trail verification (`source: "all"`, no range), a chain's events after its last
   * signed checkpoint (in the database or in `checkpoints`) are reported as `unsigned`
   * (with the chain and the first such seq, `ok` false) once the newest of them is dated
   * more than this before now, or after now; younger ones are counted in the report's
   * `uncovered`. A chain forged without the key is such a chain, and so is the tail of a
   * writer killed before its last checkpoint: verify cannot tell them apart, and reports
   * both as unproven.
   * @default the configured `integrity.checkpointIntervalMs` (60 000 when none) plus
   * {@link UNCOVERED_GRACE_MARGIN_MS} (5 minutes, for clock skew between the writers and
   * verify, slow timers and long transactions)
   */
  uncoveredGraceMs?: number;
  /**
   * How many events without chain fields (no `chainId`, or no `seq`) the events read (the
   * `source`, within `since`/`until`) must hold: the count `report.unsigned` gave when
   * integrity was switched on, recorded where the database's writers cannot change it
   * (with the exported checkpoints); 0 for a trail that began with integrity on. Any other
   * count is a problem (`unsigned`, `ok` false): without the pin, an event forged with
   * `INSERT` alone, no chain fields and dated before the oldest signed event, looks like
   * one written before integrity was switched on, which `ok` accepts.
   * @default none: events older than every signed event are reported, and `ok` stays true
   */
  expectedUnsigned?: number;
  /** Called after each page with the events checked so far. */
  onProgress?: (verified: number) => void;
  /** Rows read per page (per chunk, for a store that reads the chains as text). @default 5000 */
  pageSize?: number;
  /**
   * Threads that parse and hash the events of a store that reads the chains as text
   * (`prismaStore(prisma, { pgPool })`), while the main thread reads on and checks the
   * links; 0 hashes on the main thread. Other stores hash on the main thread.
   * @default one fewer than the cores (`os.availableParallelism()`), at least 1, at most 4
   */
  workers?: number;
}

interface ResolvedIntegrity {
  integrity?: { key?: unknown; keys?: IntegrityKeyRing; checkpointEvery?: number; checkpointIntervalMs?: number };
}

/** What the default grace adds to the checkpoint interval: clock skew, slow timers, long transactions. */
export const UNCOVERED_GRACE_MARGIN_MS = 5 * 60_000;

/** When uncovered events become a problem: the given grace, else the configured interval plus the margin. */
function uncoveredPolicy(graceMs: number | undefined): UncoveredPolicy {
  if (graceMs !== undefined && (typeof graceMs !== "number" || !Number.isSafeInteger(graceMs) || graceMs < 0)) {
    throw new AuditError("ERR_AUDIT_QUERY", `verifyAuditTrail(): uncoveredGraceMs must be a whole number of milliseconds from 0, such as 600000 (10 minutes), not ${String(graceMs)}: how long a chain's newest events may wait for their signed checkpoint.`);
  }
  const integrity = (getAuditConfig() as ResolvedIntegrity).integrity;
  const checkpointIntervalMs = integrity?.checkpointIntervalMs ?? DEFAULT_CHECKPOINT_INTERVAL_MS;
  return { now: Date.now(), graceMs: graceMs ?? checkpointIntervalMs + UNCOVERED_GRACE_MARGIN_MS, checkpointEvery: integrity?.checkpointEvery ?? DEFAULT_CHECKPOINT_EVERY, checkpointIntervalMs };
}

/** The keys to verify with: the given ones, else those `configureAudit({ integrity })` holds. */
function keysOf(key: IntegrityKey | undefined): IntegrityKeyRing {
  if (key !== undefined) return resolveIntegrityKeys(key, "verifyAuditTrail({ key })");
  // Read by shape: the integrity option's resolved form belongs to the writing side.
  const integrity = (getAuditConfig() as ResolvedIntegrity).integrity;
  if (integrity?.keys !== undefined) return integrity.keys;
  if (integrity?.key !== undefined) return resolveIntegrityKeys(integrity.key);
  throw new AuditConfigError(
    "verifyAuditTrail(): no integrity key to check checkpoints with. Pass { key: process.env.AUDIT_INTEGRITY_KEY } (the key, or the list of keys, the trail was signed with), or configureAudit({ integrity: { key } }) first.",
  );
}

type ChainReader = Required<Pick<AuditStore, "readChainPage" | "countUnsigned">> & AuditStore;

function storeOf(store: AuditStore | undefined): ChainReader {
  const chosen = store ?? getAuditConfig().store;
  if (chosen === undefined || chosen === null) {
    throw new AuditConfigError("verifyAuditTrail(): no audit store to verify: pass { store } or call configureAudit({ store: prismaStore(prisma) }) first.", "ERR_AUDIT_NO_STORE");
  }
  if (typeof chosen.readChainPage !== "function" || typeof chosen.countUnsigned !== "function") {
    throw new AuditConfigError(`verifyAuditTrail(): the store ${chosen.name} cannot read hash chains (it has no readChainPage/countUnsigned); verify a prismaStore(prisma) or a memoryStore().`);
  }
  return chosen as ChainReader;
}

function positionOf(row: ChainRow): ChainPosition {
  return row.part === "checkpoint" ? { chainId: row.checkpoint.chainId, seq: row.checkpoint.seq, part: row.part } : { chainId: row.event.chainId!, seq: row.event.seq!, part: row.part };
}

/** The rows of `page` with their events' hashes checked here. */
function checkedRows(page: ChainRow[]): CheckedRow[] {
  return page.map((row) => (row.part === "checkpoint" ? row : { part: row.part, event: checkedEvent(row.event, row.unreadable) }));
}

/** The chain sequence in pages (`readChainPage`), each hashed while the next one is read. */
async function* pagedRows(store: ChainReader, request: Omit<ChainPageRequest, "after">): AsyncGenerator<CheckedRow[]> {
  let page = await store.readChainPage(request);
  while (page.length > 0) {
    const next = page.length === request.limit ? store.readChainPage({ ...request, after: positionOf(page.at(-1)!) }) : Promise.resolve([]);
    next.catch(() => undefined);
    yield checkedRows(page);
    page = await next;
  }
}

/**
 * The chain sequence as text (`readChainText`), each chunk parsed and hashed by a thread
 * while the next chunks are read; up to two chunks per thread in flight, so memory stays
 * bounded. Answers in the order read.
 */
async function* textRows(read: AsyncIterable<Uint8Array>, workers: number): AsyncGenerator<CheckedRow[]> {
  const threads = new HashWorkers(workers);
  const inFlight: Array<Promise<CheckedRow[]>> = [];
  try {
    for await (const chunk of read) {
      const rows = threads.check(chunk);
      rows.catch(() => undefined);
      inFlight.push(rows);
      if (inFlight.length > 2 * Math.max(1, workers)) yield await inFlight.shift()!;
    }
    while (inFlight.length > 0) yield await inFlight.shift()!;
  } finally {
    await threads.close();
  }
}

function defaultWorkers(): number {
  return Math.min(4, Math.max(1, availableParallelism() - 1));
}

function checkExpectedUnsigned(expected: unknown): void {
  if (expected !== undefined && (typeof expected !== "number" || !Number.isSafeInteger(expected) || expected < 0)) {
    throw new AuditError("ERR_AUDIT_QUERY", `verifyAuditTrail(): expectedUnsigned must be a whole number from 0, not ${String(expected)}: the count of events without chain fields (report.unsigned) recorded when integrity was switched on, 0 for a trail that began with it.`);
  }
}

function checkRange(since: Date | undefined, until: Date | undefined): void {
  for (const [name, value] of [["since", since], ["until", until]] as const) {
    if (value !== undefined && (!(value instanceof Date) || Number.isNaN(value.getTime()))) throw new AuditError("ERR_AUDIT_QUERY", `verifyAuditTrail(): ${name} must be a valid Date.`);
  }
  if (since !== undefined && until !== undefined && since >= until) throw new AuditError("ERR_AUDIT_QUERY", "verifyAuditTrail(): since must be before until.");
}

/**
 * Verifies the tamper-evident trail: reads every signed event in chain order (both tables
 * as one sequence by default, in pages through the `(chainId, seq)` indexes, or, from a store
 * that reads the chains as text (`prismaStore(prisma, { pgPool })`), in one `COPY` hashed by
 * threads; memory stays bounded whatever the trail's size), recomputes each event's hash, checks each link and
 * position, each checkpoint's HMAC signature and the event it signs, and names the first
 * problem of each chain, in the way AWS CloudTrail's log-file validation names the first
 * file that does not match.
 *
 * - Whole chains (`source: "all"`, no range) must start at seq 1, have no gap, and reach every
 *   checkpoint: events deleted up to a checkpoint are `missing`. Events deleted after the last
 *   checkpoint in the database cannot be told from a chain that ended there, unless
 *   `checkpoints` exported earlier show the chain went further. Events after a chain's last
 *   signed checkpoint are `unsigned` (chain and first seq) once older than `uncoveredGraceMs`,
 *   and counted in `uncovered` before: a chain forged without the key has no checkpoint.
 * - With `source: "live"` or `"archive"`, or `since`/`until`, only what was read is checked:
 *   each event's hash, the links between consecutive positions read, and the checkpoints of
 *   positions read; a position not read may be in the other table or outside the range, so
 *   it is not reported missing.
 * - Events without chain fields are reported as `unsigned` (chainId `""`, seq 0, the oldest
 *   one's id). Those older than the oldest signed event were written before integrity was
 *   switched on: reported, and `ok` stays true, unless `expectedUnsigned` pins their count
 *   and another count is found (a forged event dated before the first signed one, inserted
 *   without chain fields, is told from them only so). Those as new or newer may be a writer
 *   without `integrity`, or a row whose chain fields were removed: `ok` is false. The
 *   report's `unsigned` always gives their count, to pin.
 *
 * @example
 * ```ts
 * const report = await verifyAuditTrail({ key: process.env.AUDIT_INTEGRITY_KEY });
 * if (!report.ok) for (const p of report.problems) console.error(p.kind, p.chainId, p.seq, p.id, p.detail);
 * ```
 * @throws {AuditConfigError} `ERR_AUDIT_NO_STORE` without a store; `ERR_AUDIT_CONFIG` without a
 * key, for a store that cannot read chains, or when the hashing threads cannot start;
 * `ERR_AUDIT_STORE_SCHEMA` when the tables lack the integrity migration.
 * @throws {AuditError} `ERR_AUDIT_QUERY` for a bad range, source, `uncoveredGraceMs`, `expectedUnsigned` or `workers`;
 * `ERR_AUDIT_CHECKPOINT` for a malformed exported checkpoint, or two different copies of one.
 * @throws {AuditStoreError} when the store cannot read.
 */
export async function verifyAuditTrail(opts: VerifyOptions = {}): Promise<VerifyReport> {
  const { since, until, source = "all", pageSize = VERIFY_PAGE_SIZE, onProgress, workers = defaultWorkers() } = opts;
  checkRange(since, until);
  checkExpectedUnsigned(opts.expectedUnsigned);
  const policy = uncoveredPolicy(opts.uncoveredGraceMs);
  if (!Number.isInteger(workers) || workers < 0) throw new AuditError("ERR_AUDIT_QUERY", `verifyAuditTrail(): workers must be a whole number of threads, 0 or more (0 hashes on the main thread), not ${String(workers)}.`);
  if (source !== "live" && source !== "archive" && source !== "all") throw new AuditError("ERR_AUDIT_QUERY", `verifyAuditTrail(): source must be "live", "archive" or "all", not ${JSON.stringify(source)}.`);
  const store = storeOf(opts.store);
  const whole = source === "all" && since === undefined && until === undefined;
  const scope: ChainScope = { whole, keys: keysOf(opts.key), ...(whole ? { uncovered: policy } : {}) };
  const exported = checkpointsByChain(opts.checkpoints ?? []);

  const problems: VerifyProblem[] = [];
  const reported = new Set<string>();
  let verified = 0;
  let chains = 0;
  let uncovered = 0;
  let oldestSigned: Date | null = null;
  let current: ChainCheck | null = null;
  const finish = (check: ChainCheck) => {
    verified += check.verified;
    if (check.oldest !== null && (oldestSigned === null || check.oldest < oldestSigned)) oldestSigned = check.oldest;
    const problem = check.finish();
    uncovered += check.pending;
    // A chain read in two runs (a collation that orders ids differing only in case as equal) is reported once.
    if (problem !== null && !reported.has(problem.chainId)) {
      reported.add(problem.chainId);
      problems.push(problem);
    }
  };
  const checkFor = (chainId: string): ChainCheck => {
    if (current?.chainId === chainId) return current;
    if (current !== null) finish(current);
    chains++;
    const copies = exported.get(chainId) ?? [];
    exported.delete(chainId);
    current = new ChainCheck(chainId, scope, copies);
    return current;
  };

  const request = { source, limit: pageSize, ...(since === undefined ? {} : { since }), ...(until === undefined ? {} : { until }) };
  const rows = store.readChainText === undefined ? pagedRows(store, request) : textRows(store.readChainText(request), workers);
  for await (const batch of rows) {
    for (const row of batch) {
      if (row.part === "checkpoint") checkFor(row.checkpoint.chainId).checkpoint(row.checkpoint);
      else checkFor(row.event.chainId).event(row.event, row.part);
    }
    onProgress?.(verified + ((current as ChainCheck | null)?.verified ?? 0));
  }
  if (current !== null) finish(current);
  // Chains only the exported checkpoints know of: the database lost all of them.
  for (const [chainId, copies] of exported) {
    chains++;
    const check = new ChainCheck(chainId, scope, copies);
    finish(check);
  }

  let ok = problems.length === 0;
  const range = { ...(since === undefined ? {} : { since }), ...(until === undefined ? {} : { until }) };
  const unsigned = await store.countUnsigned({ source, ...range });
  const expected = opts.expectedUnsigned;
  if (expected !== undefined && unsigned.count !== expected) {
    ok = false;
    const oldest = unsigned.first === null ? "" : `; the oldest is ${unsigned.first.id}, dated ${unsigned.first.timestamp.toISOString()}`;
    problems.push({
      kind: "unsigned",
      chainId: "",
      seq: 0,
      ...(unsigned.first === null ? {} : { id: unsigned.first.id }),
      detail:
        unsigned.count > expected
          ? `${unsigned.count} event(s) carry no hash chain, ${expected} expected (expectedUnsigned): ${unsigned.count - expected} were added without a chain (an INSERT back-dated before integrity was switched on looks like an event written before it)${oldest}`
          : `${unsigned.count} event(s) carry no hash chain, ${expected} expected (expectedUnsigned): ${expected - unsigned.count} of them were deleted or given chain fields${oldest}`,
    });
  }
  if (unsigned.count > 0) {
    const signedFrom = oldestSigned as Date | null;
    const before = signedFrom === null ? unsigned : await store.countUnsigned({ source, ...(since === undefined ? {} : { since }), until: until !== undefined && until < signedFrom ? until : signedFrom });
    const after = unsigned.count - before.count;
    // With a pin that holds, these are the events it names; one that fails is reported above.
    if (before.count > 0 && (expected === undefined || expected === unsigned.count)) {
      problems.push({
        kind: "unsigned",
        chainId: "",
        seq: 0,
        id: before.first!.id,
        detail: `${before.count} event(s) from ${before.first!.timestamp.toISOString()} to ${before.last!.timestamp.toISOString()} carry no hash chain: written before integrity was switched on, they cannot be verified${expected === undefined ? ` (pin their count with expectedUnsigned: ${unsigned.count}, so one added later shows)` : ""}`,
      });
    }
    if (after > 0) {
      const newer = await store.countUnsigned({ source, since: signedFrom!, ...(until === undefined ? {} : { until }) });
      ok = false;
      problems.push({
        kind: "unsigned",
        chainId: "",
        seq: 0,
        id: newer.first!.id,
        detail: `${after} event(s) from ${newer.first!.timestamp.toISOString()} on carry no hash chain (no chainId, or no seq), though signed events were written since ${signedFrom!.toISOString()}: a writer without integrity, or rows whose chain fields were removed; a row whose seq alone was removed leaves its chain a gap, reported there as missing`,
      });
    }
  }
    return { ok, verified, chains, problems, unsigned: unsigned.count, ...(whole ? { uncovered } : {}) };
}
