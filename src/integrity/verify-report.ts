/**
 * What went wrong at one place of a chain:
 * - `altered`: the event's stored content no longer gives its stored hash;
 * - `missing`: positions of the chain are absent (a gap, or a tail deleted up to a checkpoint);
 * - `inserted`: a row that does not belong: its `prevHash` does not link to the event before
 *   it, its seq is stored twice, or it is below 1;
 * - `reordered`: two events' positions were exchanged (each one's hash fits the other's seq);
 * - `bad-checkpoint`: a checkpoint whose signature fails, whose key id is unknown, whose hash
 *   differs from the event at its seq, or that differs from (or lacks) its exported copy;
 * - `unsigned`: events without chain fields (chainId `""`, see `verifyAuditTrail`); or, with a
 *   chainId and the first such seq, a chain's events that no signed checkpoint covers though
 *   they are older than the grace period (`uncoveredGraceMs`): forged without the key, their
 *   checkpoints deleted, or the tail of a writer killed before signing it.
 */
export type VerifyProblemKind = "altered" | "missing" | "inserted" | "reordered" | "bad-checkpoint" | "unsigned";

/** One problem of a chain: the first one verify met in it. */
export interface VerifyProblem {
  kind: VerifyProblemKind;
  /** The chain; `""` for events without chain fields, which belong to none. */
  chainId: string;
  /** The first position the problem concerns; `0` for events without chain fields. */
  seq: number;
  /** The event (or, for events without chain fields, the oldest such event), when there is one to name. */
  id?: string;
  /** What was found, in words, for the person reading the report. */
  detail: string;
}

/** What `verifyAuditTrail()` found. */
export interface VerifyReport {
  /** True when no chain has a problem; events written before integrity was on do not count, unless their count differs from `expectedUnsigned` (see `verifyAuditTrail`). */
  ok: boolean;
  /** The signed events read and checked (hash recomputed, link and position checked). */
  verified: number;
  /** The chains seen. */
  chains: number;
  /**
   * The events read without chain fields (no `chainId`, or no `seq`), of the `source` and
   * range verified: the count to pin with `expectedUnsigned` (record it with the exported
   * checkpoints when switching integrity on; 0 for a trail that began with it).
   */
  unsigned: number;
  /** The first problem of each chain that has one, in chain order; then the unsigned events, if any. */
  problems: VerifyProblem[];
  /**
   * Whole-trail verification only (`source: "all"`, no range): the events no signed
   * checkpoint covers yet, still within their grace period (`uncoveredGraceMs`): the
   * running writers' newest events, signed at their next checkpoint.
   */
  uncovered?: number;
}
