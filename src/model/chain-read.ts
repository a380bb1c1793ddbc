/**
 * What a store reads for `verifyAuditTrail()`: the hash chains in chain order, the signed
 * checkpoints, and the events written without a chain. The ground floor of the integrity
 * read side: it imports nothing but the record and the filter's source.
 */

import { EVENT_FIELDS, type AuditEventRecord } from "./event-record";
import type { EventSource } from "./event-filter";
import type { AuditCheckpointRecord } from "./checkpoint";

/**
 * Where a row of the chain sequence comes from, in the order rows of one `(chainId, seq)`
 * are read: the live event, the archived event, the checkpoint. An event stored in both
 * tables is read twice, which verify reports.
 */
export type ChainPart = "live" | "archive" | "checkpoint";

/** The rank of each {@link ChainPart} among rows of one `(chainId, seq)`. */
export const CHAIN_PART_RANK: Readonly<Record<ChainPart, number>> = Object.freeze({ live: 0, archive: 1, checkpoint: 2 });

/**
 * A row of the chain sequence: a signed event (from the live table or the archive), or a
 * checkpoint. `unreadable` says why an event's stored row cannot be what a writer stored
 * (JSON text that does not parse, an instant not in the form the writer stores it), which
 * verify reports as `altered`.
 */
export type ChainRow = { readonly part: "live" | "archive"; readonly event: AuditEventRecord; readonly unreadable?: string } | { readonly part: "checkpoint"; readonly checkpoint: AuditCheckpointRecord };

/** The position of a row in the chain sequence, `(chainId, seq, part)`: a page continues after it. */
export interface ChainPosition {
  readonly chainId: string;
  readonly seq: number;
  readonly part: ChainPart;
}

/**
 * One page of the chain sequence: the signed events of `source` (the live table, the archive
 * or both) whose timestamp is in `[since, until)`, and the checkpoints (those created at or
 * after `since`), ordered by chain id (in the database's own order of the column), then
 * seq, then part, strictly after `after`, at most `limit` rows. Events without a chain, or
 * without a seq, are not in it (see {@link UnsignedRequest}).
 */
export interface ChainPageRequest {
  readonly source: EventSource;
  readonly since?: Date;
  readonly until?: Date;
  readonly after?: ChainPosition;
  readonly limit: number;
}

/** The position of a checkpoint in `(createdAt, chainId, seq)` order, for exporting them. */
export interface CheckpointPosition {
  readonly createdAt: Date;
  readonly chainId: string;
  readonly seq: number;
}

/** One page of checkpoints created at or after `since`, oldest first, strictly after `after`. */
export interface CheckpointPageRequest {
  readonly since?: Date;
  readonly after?: CheckpointPosition;
  readonly limit: number;
}

/** Which events without chain fields (no `chainId`, or no `seq`) to count: those of `source` whose timestamp is in `[since, until)`. */
export interface UnsignedRequest {
  readonly source: EventSource;
  readonly since?: Date;
  readonly until?: Date;
}

/** An event's key in the `(timestamp, id)` order. */
export interface EventKey {
  readonly id: string;
  readonly timestamp: Date;
}

/** The events without chain fields a {@link UnsignedRequest} found: how many, the oldest and the newest. */
export interface UnsignedEvents {
  count: number;
  first: EventKey | null;
  last: EventKey | null;
}

/**
 * The columns of a row of the chain sequence read as text ({@link ChainStreamRequest}), in
 * this order: every stored field of an event (a checkpoint row fills `chainId`, `seq` and
 * `hash`), the part's rank ({@link CHAIN_PART_RANK}), then the checkpoint's own fields.
 * Instants (`timestamp`, `createdAt`) are epoch milliseconds, JSON fields JSON text.
 */
export const CHAIN_TEXT_COLUMNS = [...EVENT_FIELDS, "part", "keyId", "signature", "createdAt"] as const;

/**
 * The whole chain sequence of `source` (as {@link ChainPageRequest} without `after`), read
 * in one statement, so in one snapshot of the database, as text: PostgreSQL's `COPY` text
 * format (a row per line ending in `\n`, columns {@link CHAIN_TEXT_COLUMNS} separated by
 * tabs, `\N` for NULL, backslash escapes), UTF-8, handed over in chunks of whole rows, at
 * most `limit` rows each.
 */
export interface ChainStreamRequest {
  readonly source: EventSource;
  readonly since?: Date;
  readonly until?: Date;
  readonly limit: number;
}
