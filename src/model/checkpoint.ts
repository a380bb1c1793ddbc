/**
 * A signed checkpoint: a row of `audit_checkpoints`. It says that the event at `seq` of
 * the chain `chainId` had `hash`, signed (HMAC-SHA256, RFC 2104) with the integrity key
 * named `keyId`, at `createdAt`. Through the chain's `prevHash` links it commits to every
 * event before that one (see docs/integrity.md).
 */
export interface AuditCheckpointRecord {
  /** The chain (UUID v7). */
  chainId: string;
  /** The position of the chain's head it signs, from 1. */
  seq: number;
  /** The `hash` of the event at `seq`. */
  hash: string;
  /** The id of the key that signed it. */
  keyId: string;
  /** HMAC-SHA256 of the checkpoint's canonical text, lower-case hex. */
  signature: string;
  /** When it was signed, to the millisecond. */
  createdAt: Date;
}

/** Which checkpoints to read: of one chain, made in `since <= createdAt < until`. */
export interface CheckpointQuery {
  chainId?: string;
  since?: Date;
  until?: Date;
}
