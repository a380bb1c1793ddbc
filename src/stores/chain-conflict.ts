import { AuditStoreError } from "../errors";
import type { AuditEventRecord } from "../model/event-record";

/** What a store holds of an event that shares an id or a chain position with a row being written. */
export interface StoredPosition {
  id: string;
  chainId: string | null;
  seq: number | null;
  hash: string | null;
}

/** Whether `rows` are chained (written with `integrity`): a batch is chained whole or not at all. */
export function isChainedBatch(rows: readonly AuditEventRecord[]): boolean {
  return rows.length > 0 && rows[0]!.chainId != null;
}

const positionOf = (chainId: string | null, seq: number | null) => `${chainId ?? "(no chain)"}#${seq ?? "-"}`;

/**
 * Checks a chained batch against what the live table holds at its ids and at its chain
 * positions `(chainId, seq)`. A row stored already exactly (same id, position and hash)
 * is a replay of the same write: its id is returned, to be skipped. Anything else that
 * holds one of the batch's ids or positions would leave the chain with a hole if the row
 * were skipped (as an id stored already is skipped outside chains), so it is an error.
 *
 * @param stored The stored events with one of the batch's ids or positions.
 * @returns The ids of the rows stored already at their own position, with their hash.
 * @throws {AuditStoreError} `ERR_AUDIT_STORE` naming the first clash: a position that holds
 * another event (two writers sharing a chain id, or a row inserted by hand), or an id
 * stored at another position or with another hash. Its outcome counts as unknown, so a
 * writer ends the chain and writes the batch again in a new one, without the ids stored.
 */
export function storedReplays(storeName: string, rows: readonly AuditEventRecord[], stored: readonly StoredPosition[]): Set<string> {
  const byId = new Map(stored.map((event) => [event.id, event]));
  const byPosition = new Map(stored.filter((event) => event.chainId !== null).map((event) => [positionOf(event.chainId, event.seq), event]));
  const replays = new Set<string>();
  for (const row of rows) {
    const position = positionOf(row.chainId, row.seq);
    const sameId = byId.get(row.id);
    let clash: string | undefined;
    if (sameId !== undefined) {
      if (positionOf(sameId.chainId, sameId.seq) === position && sameId.hash === row.hash) {
        replays.add(row.id);
        continue;
      }
      clash = `event ${row.id}, to be written at ${position}, is stored already at ${positionOf(sameId.chainId, sameId.seq)}${sameId.hash === row.hash ? "" : " with another hash"}`;
    } else {
      const holder = byPosition.get(position);
      if (holder !== undefined) clash = `position ${position}, to be taken by event ${row.id}, holds event ${holder.id} already`;
    }
    if (clash !== undefined) {
      throw new AuditStoreError(
        `${storeName}: a batch of ${rows.length} chained audit event(s) clashes with what the table holds: ${clash}. Nothing of the batch was written; ` +
          "the writer ends this chain and writes the events again in a new one. Two writers sharing a chain, or rows inserted into the audit table by hand, cause this: run audit-events verify.",
      );
    }
  }
  return replays;
}
