import { v7 as uuidv7 } from "uuid";
import { nextTurn } from "../event-loop-turn";
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
    const chained: T[] = new Array(rows.length);
    this.linkInto(rows, chained, 0, rows.length);
    return chained;
  }

  /**
   * {@link link}, with a turn of the event loop after every `sliceRows` rows: hashing an
   * event takes about 10 µs, so a batch of 1000 linked in one go held every request and
   * acknowledgement of the process for 10 ms or more. The owner writes one batch at a
   * time, so nothing else links on this chain meanwhile.
   */
  async linkInTurns<T extends AuditEventRecord>(rows: readonly T[], sliceRows: number): Promise<T[]> {
    const chained: T[] = new Array(rows.length);
    for (let from = 0; from < rows.length; from += sliceRows) {
      if (from > 0) await nextTurn();
      this.linkInto(rows, chained, from, Math.min(rows.length, from + sliceRows));
    }
    return chained;
  }

  /** Links `rows[from..to)` into `chained`, after `chained[from - 1]` (the committed head when `from` is 0). */
  private linkInto<T extends AuditEventRecord>(rows: readonly T[], chained: T[], from: number, to: number): void {
    const before = from === 0 ? undefined : chained[from - 1]!;
    let seq = before === undefined ? this.committedSeq : before.seq!;
    let prevHash = before === undefined ? this.committedHash : before.hash;
    for (let i = from; i < to; i++) {
      const row: T = { ...rows[i]!, chainId: this.chainId, seq: ++seq, prevHash, hash: null };
      row.hash = prevHash = eventHash(row);
      chained[i] = row;
    }
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
