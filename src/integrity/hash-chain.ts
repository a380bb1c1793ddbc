import { v7 as uuidv7 } from "uuid";
import type { AuditEventRecord } from "../model/event-record";
import { eventHash } from "./canonical-event";

/**
 * One writer's hash chain, in process memory: its id and its committed head. Positions
 * are taken at commit (docs/integrity.md): {@link link} makes chained copies of a batch at
 * the next positions without moving the head, and {@link commit} moves it once the store
 * has them. A batch the store refused is simply not committed, so its positions are
 * given to the next batch; after a write of unknown outcome the chain is abandoned and the
 * writer starts another, so no chain ever has a gap. One batch at a time: the owner
 * serializes its writes.
 */
export class HashChain {
  /** A UUID v7, so chains sort by when they started. */
  readonly chainId = uuidv7();
  /** The position of the committed head; 0 before the first event. */
  private committedSeq = 0;
  private committedHash: string | null = null;
  /** The position the last checkpoint signed (0: none yet). */
  checkpointedSeq = 0;
  /** Set when a write of unknown outcome ended the chain: it takes no more events. */
  abandoned = false;

  /** The committed head: its position and hash (null before the first event). */
  head(): { seq: number; hash: string | null } {
    return { seq: this.committedSeq, hash: this.committedHash };
  }

  /** Events committed since the last checkpoint. */
  unsigned(): number {
    return this.committedSeq - this.checkpointedSeq;
  }

  /**
   * Copies of `rows` at the chain's next positions, each with its `prevHash` and `hash`
   * (SHA-256 of its canonical form, every field it will be stored with); the head stays
   * where it is until {@link commit}.
   */
  link<T extends AuditEventRecord>(rows: readonly T[]): T[] {
    let seq = this.committedSeq;
    let prevHash = this.committedHash;
    const chained: T[] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const row: T = { ...rows[i]!, chainId: this.chainId, seq: ++seq, prevHash, hash: null };
      row.hash = prevHash = eventHash(row);
      chained[i] = row;
    }
    return chained;
  }

  /**
   * Moves the head to the last of `chained`, which {@link link} made from the current
   * head and the store has committed.
   *
   * @throws {Error} when `chained` does not continue the head: a defect of the writer.
   */
  commit(chained: readonly AuditEventRecord[]): void {
    if (chained.length === 0) return;
    const first = chained[0]!;
    if (first.chainId !== this.chainId || first.seq !== this.committedSeq + 1 || first.prevHash !== this.committedHash) {
      throw new Error(`audit-events: a batch linked at ${first.chainId}#${String(first.seq)} does not continue chain ${this.chainId} at #${this.committedSeq}`);
    }
    const last = chained[chained.length - 1]!;
    this.committedSeq = last.seq!;
    this.committedHash = last.hash;
  }
}
