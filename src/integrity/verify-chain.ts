import type { AuditCheckpointRecord } from "../model/checkpoint";
import type { AuditEventRecord } from "../model/event-record";
import { eventHash } from "./canonical-event";
import { keyFor, verifyCheckpointSignature, type IntegrityKeyRing } from "./integrity-keys";
import type { VerifyProblem } from "./verify-report";
import { thrownMessage } from "../thrown-message";

/** What a chain's check may conclude from what it does not see. */
export interface ChainScope {
  /**
   * Both tables and no time range: the whole chain is read, so it must start at seq 1, have
   * no gap, and reach every checkpoint. Otherwise a position not read may be in the other
   * table or outside the range, and only what was read is checked.
   */
  readonly whole: boolean;
  readonly keys: IntegrityKeyRing;
  /** Whole chains only: when the events after a chain's last signed checkpoint are a problem. */
  readonly uncovered?: UncoveredPolicy;
}

/**
 * When a chain's events not covered by any signed checkpoint are reported: once the newest
 * of them is dated more than `graceMs` before `now` (or after it: a date in the future
 * would keep a forged tail in its grace for ever). Writers sign a chain's head every
 * `checkpointEvery` events, every `checkpointIntervalMs` and at close, so only a chain
 * forged without the key, a writer killed before its checkpoint, or deleted checkpoints
 * leave older events uncovered.
 */
export interface UncoveredPolicy {
  /** Epoch ms verification started at. */
  readonly now: number;
  readonly graceMs: number;
  readonly checkpointEvery: number;
  readonly checkpointIntervalMs: number;
}

/** The events of a chain after its last signed checkpoint. */
interface Tail {
  first: number;
  id: string;
  count: number;
  /** The newest event's instant, epoch ms. */
  newest: number;
}

/**
 * The hash of an event as read, or why it has none: a stored value the canonical form
 * refuses (a number beyond the double range, read back as `Infinity`; JSON text that does
 * not parse; an invalid instant; nesting deeper than the stack) was written by no writer,
 * so the event is reported altered and verification goes on.
 */
function hashOf(event: AuditEventRecord, unreadable: string | undefined): { hash: string } | { unreadable: string } {
  if (unreadable !== undefined) return { unreadable };
  try {
    return { hash: eventHash(event) };
  } catch (error) {
    return { unreadable: `its values have no canonical form: ${thrownMessage(error)}` };
  }
}

/**
 * An event as a chain's check takes it: its position, link and hash, whether its hash fits
 * its content (recomputed by whoever read it: the main thread, or a hashing thread), and,
 * when it does not, the whole record, re-hashed at another seq to tell a swap.
 */
export interface CheckedEvent {
  readonly id: string;
  readonly chainId: string;
  readonly timestamp: Date;
  readonly seq: number;
  readonly prevHash: string | null;
  readonly hash: string | null;
  readonly fits: boolean;
  /** The record as read, when `fits` is false. */
  readonly record?: AuditEventRecord;
  /** Why the stored row has no hash a writer could have written, when that is why `fits` is false. */
  readonly unreadable?: string;
}

/** A row of the chain sequence with its event's hash checked: see {@link CheckedEvent}. */
export type CheckedRow = { readonly part: "live" | "archive"; readonly event: CheckedEvent } | { readonly part: "checkpoint"; readonly checkpoint: AuditCheckpointRecord };

/**
 * An event read whole, its hash checked: its {@link CheckedEvent}, which keeps the record
 * only when its hash does not fit. `unreadable` says why the row as stored cannot be what a
 * writer stored (see `ChainRow`); a value with no canonical form is unreadable too.
 */
export function checkedEvent(record: AuditEventRecord, unreadable?: string): CheckedEvent {
  const computed = hashOf(record, unreadable);
  const fits = "hash" in computed && computed.hash === record.hash;
  // seq as read: a chained row whose seq was set to NULL reads as 0.
  const event = { id: record.id, chainId: record.chainId!, timestamp: record.timestamp, seq: record.seq as number, prevHash: record.prevHash, hash: record.hash, fits };
  return fits ? event : { ...event, record, ...("unreadable" in computed ? { unreadable: computed.unreadable } : {}) };
}

/** A hash mismatch held back until the chain ends: a swap shows itself later in the chain. */
interface Suspect {
  seq: number;
  id: string;
  /** The hash the event at `seq` had to link to. */
  expectedPrev: string | null;
  otherSeq?: number;
  /** Why its stored values have no canonical form, when that is why the hash does not fit. */
  unreadable?: string;
}

/**
 * Checks one chain's rows, given in `(seq, part)` order: each event's hash, its link to the
 * event before it, its position; each checkpoint's signature and the event it signs; the
 * exported copies of the checkpoints, when given. Keeps O(1) state, plus the exported
 * checkpoints of this chain.
 */
export class ChainCheck {
  private lastSeq: number | null = null;
  private lastHash: string | null = null;
  private problem: VerifyProblem | null = null;
  private suspect: Suspect | null = null;
  /** The exported checkpoint of the last event, until the database's own copy is met. */
  private awaited: AuditCheckpointRecord | null = null;
  private exportedAt = 0;
  /** The events after the last signed checkpoint (database or exported) read so far. */
  private tail: Tail | null = null;
  /** The oldest signed event's instant. */
  oldest: Date | null = null;
  verified = 0;
  /** After {@link finish}: the chain's uncovered events still within their grace period. */
  pending = 0;

  constructor(
    readonly chainId: string,
    private readonly scope: ChainScope,
    /** The exported checkpoints of this chain, by seq. */
    private readonly exported: readonly AuditCheckpointRecord[] = [],
  ) {}

  private report(kind: VerifyProblem["kind"], seq: number, detail: string, id?: string): void {
    if (this.problem === null) this.problem = { kind, chainId: this.chainId, seq, ...(id === undefined ? {} : { id }), detail };
  }

  /** Exported checkpoints before `seq`, and the awaited one when `seq` passes it. */
  private settleExported(seq: number): void {
    if (this.awaited !== null && this.awaited.seq < seq) {
      this.report("bad-checkpoint", this.awaited.seq, `the checkpoint at seq ${this.awaited.seq} exported on ${this.awaited.createdAt.toISOString()} is missing from the database`);
      this.awaited = null;
    }
    while (this.exportedAt < this.exported.length && this.exported[this.exportedAt]!.seq < seq) {
      const copy = this.exported[this.exportedAt++]!;
      // Its event was never read: a gap (reported when the next event came) or the end of the chain.
      if (this.scope.whole && (this.lastSeq === null || this.lastSeq < copy.seq)) this.missingUpTo(copy.seq, `the exported checkpoint at seq ${copy.seq} signed them`);
    }
  }

  private missingUpTo(seq: number, why: string): void {
    const from = (this.lastSeq ?? 0) + 1;
    this.report("missing", from, `${from === seq ? `seq ${seq} is` : `seq ${from} to ${seq} are`} missing from the chain (${why}: the chain was cut short)`);
  }

  /** Checks the next event of the chain. */
  event(event: CheckedEvent, table: "live" | "archive"): void {
    const seq = event.seq;
    this.settleExported(seq);
    this.verified++;
    if (this.oldest === null || event.timestamp < this.oldest) this.oldest = event.timestamp;
    const hashFits = event.fits;
    if (this.suspect !== null && this.suspect.otherSeq === undefined && !hashFits && event.prevHash === this.suspect.expectedPrev && event.record !== undefined && event.unreadable === undefined && eventHash({ ...event.record, seq: this.suspect.seq }) === event.hash) {
      this.suspect.otherSeq = seq;
    }
    if (this.lastSeq === seq) {
      this.report("inserted", seq, `seq ${seq} is stored twice (the second copy in the ${table} table)`, event.id);
      return;
    }
    const expected = this.lastSeq === null ? (this.scope.whole ? 1 : seq) : this.lastSeq + 1;
    if (seq < 1) this.report("inserted", seq, `seq ${seq} is below 1, where every chain starts`, event.id);
    else if (seq > expected && this.scope.whole) {
      this.report("missing", expected, `${expected === seq - 1 ? `seq ${expected} is` : `seq ${expected} to ${seq - 1} are`} missing: the chain goes from ${this.lastSeq ?? "its start"} to ${seq}`);
    }
    if (!hashFits) {
      if (this.suspect === null) this.suspect = { seq, id: event.id, expectedPrev: this.lastHash, ...(event.unreadable === undefined ? {} : { unreadable: event.unreadable }) };
    } else if (seq === expected && (this.lastSeq !== null || seq === 1) && event.prevHash !== this.lastHash) {
      this.report(
        "inserted",
        seq,
        seq === 1 && this.lastSeq === null
          ? "the chain's first event links to an earlier one (its prevHash is not null)"
          : `its prevHash does not link to seq ${seq - 1}'s hash, though its own hash fits its content: it was forged, or seq ${seq - 1} was rewritten with a recomputed hash`,
        event.id,
      );
    }
    this.lastSeq = seq;
    this.lastHash = event.hash;
    const at = event.timestamp.getTime();
    if (this.tail === null) this.tail = { first: seq, id: event.id, count: 0, newest: at };
    this.tail.count++;
    if (at > this.tail.newest) this.tail.newest = at;
    const copy = this.exported[this.exportedAt];
    if (copy !== undefined && copy.seq === seq) {
      this.exportedAt++;
      if (copy.hash !== event.hash) this.report("bad-checkpoint", seq, `the exported checkpoint at seq ${seq} signed another hash than the event stored there: the event was rewritten`, event.id);
      else if (verifyCheckpointSignature(copy, copy.signature, this.scope.keys)) this.tail = null;
      this.awaited = copy;
    }
  }

  /** Checks a checkpoint of the chain, read from the database. */
  checkpoint(checkpoint: AuditCheckpointRecord): void {
    const { seq } = checkpoint;
    this.settleExported(seq);
    if (keyFor(this.scope.keys, checkpoint.keyId) === undefined) {
      this.report("bad-checkpoint", seq, `the checkpoint at seq ${seq} names the key id "${checkpoint.keyId}", which no verifying key has`);
    } else if (!verifyCheckpointSignature(checkpoint, checkpoint.signature, this.scope.keys)) {
      this.report("bad-checkpoint", seq, `the checkpoint at seq ${seq} does not carry a valid signature: it was changed or forged`);
    } else if (this.lastSeq === seq) {
      if (checkpoint.hash !== this.lastHash) this.report("bad-checkpoint", seq, `the checkpoint at seq ${seq} signed another hash than the event stored there: the event was rewritten with a recomputed hash, or the checkpoint replaced`);
      else this.tail = null;
    } else if (this.scope.whole) {
      this.missingUpTo(seq, `the checkpoint at seq ${seq} signed them`);
    }
    if (this.awaited !== null && this.awaited.seq === seq) {
      const copy = this.awaited;
      this.awaited = null;
      if (copy.hash !== checkpoint.hash || copy.keyId !== checkpoint.keyId || copy.signature !== checkpoint.signature || copy.createdAt.getTime() !== checkpoint.createdAt.getTime()) {
        this.report("bad-checkpoint", seq, `the checkpoint at seq ${seq} differs from its copy exported on ${copy.createdAt.toISOString()}`);
      }
    }
  }

  /** Reports the events after the last signed checkpoint once past their grace, else counts them as {@link pending}. */
  private settleTail(): void {
    const policy = this.scope.uncovered;
    if (this.tail === null || policy === undefined) return;
    const { first, id, count, newest } = this.tail;
    const { now, graceMs, checkpointEvery, checkpointIntervalMs } = policy;
    if (newest >= now - graceMs && newest <= now + graceMs) {
      this.pending = count;
      return;
    }
    const which = first === this.lastSeq ? `seq ${first} (1 event)` : `seq ${first} to ${this.lastSeq} (${count} events)`;
    const dated = newest > now ? `dated in the future (${new Date(newest).toISOString()})` : `the newest dated ${new Date(newest).toISOString()}, more than ${graceMs} ms ago`;
    this.report(
      "unsigned",
      first,
      `${which}, ${dated}, not covered by any signed checkpoint; checkpoints are written every ${checkpointEvery} events / ${checkpointIntervalMs} ms and at close: forged without the key, checkpoints deleted, or a writer that stopped before signing its last events (a crash, kill -9), so they are unproven`,
      id,
    );
  }

  /** Ends the chain: the held-back mismatch is named, exported checkpoints past the end are settled. Returns the chain's first problem, if any. */
  finish(): VerifyProblem | null {
    this.settleExported(Number.POSITIVE_INFINITY);
    this.settleTail();
    if (this.suspect !== null) {
      const { seq, id, otherSeq, unreadable } = this.suspect;
      const found: VerifyProblem =
        otherSeq === undefined
          ? {
              kind: "altered",
              chainId: this.chainId,
              seq,
              id,
              detail:
                unreadable === undefined
                  ? `its stored content no longer gives its stored hash: a field was changed after it was written`
                  : `its stored row is not one a writer stores (${unreadable}): a field was changed after it was written`,
            }
          : { kind: "reordered", chainId: this.chainId, seq, id, detail: `the events at seq ${seq} and ${otherSeq} exchanged positions: each one's hash fits the other's seq` };
      // A hash mismatch is held back, so a problem met after it in the chain does not come first.
      if (this.problem === null || this.problem.seq >= seq) this.problem = found;
    }
    return this.problem;
  }
}
