import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { EVENT_FIELDS, type AuditEventRecord } from "../model/event-record";
import { canonicalRecordText } from "./canonical-json";
import { resolveIntegrityKeys, type IntegrityKey, type ResolvedIntegrityKey } from "./integrity-keys";

/**
 * The seal of one exported event (mobius-auditlog's `hash` + `signature`): proof, for
 * whoever holds the key, that the event left the trail as it is.
 */
export interface EventSeal {
  /** SHA-256 (lower-case hex) of the event's canonical text, every stored field included. */
  hash: string;
  /** HMAC-SHA256 (RFC 2104, lower-case hex) of `hash` under the signing key. */
  signature: string;
}

const HEX_64 = /^[0-9a-f]{64}$/;

/**
 * The text a seal covers: every stored field of the event (`EVENT_FIELDS`, `hash` and
 * the chain fields included, so a change to any of them breaks the seal), as RFC 8785
 * canonical JSON with the timestamp as ISO 8601 UTC text: the form of
 * `canonicalEventText`, plus `hash`. Fields beyond the stored ones (an archive's
 * `archivedAt`, a `toRecord` column) are not covered. A record that went through
 * JSON (a timestamp that became its ISO text, keys in another order) has the same text.
 */
const sealedText = canonicalRecordText<AuditEventRecord>(EVENT_FIELDS);

function sign(hash: string, key: ResolvedIntegrityKey): Buffer {
  return createHmac("sha256", key.secret).update(hash, "utf8").digest();
}

/**
 * Seals one event for export: `hash` is the SHA-256 of its canonical JSON (RFC 8785,
 * every stored field), `signature` the HMAC-SHA256 of that hash under the signing key
 * (the one secret, or the first key of a rotation list). Unlike the hash chain, a seal
 * stands alone: it travels with a single exported event (a CloudEvent's `data`, an
 * NDJSON line) and proves it unaltered to whoever holds the key.
 *
 * @param key The `integrity.key` form: a secret of at least 32 characters or bytes, or
 * `[{ id, secret }, ...]` whose first key signs.
 * @example
 * ```ts
 * const seal = sealEvent(record, process.env.AUDIT_INTEGRITY_KEY!);
 * // { hash: "9f2c…", signature: "41d0…" }
 * verifySeal(JSON.parse(JSON.stringify(record)), seal, process.env.AUDIT_INTEGRITY_KEY!); // true
 * ```
 * @throws {AuditConfigError} `ERR_AUDIT_CONFIG` for a key that `integrity.key` would refuse.
 * @throws {TypeError} for a record that is not JSON (a bigint, a function).
 */
export function sealEvent(record: AuditEventRecord, key: IntegrityKey): EventSeal {
  const { signing } = resolveIntegrityKeys(key, "sealEvent(): key");
  const hash = createHash("sha256").update(sealedText(record), "utf8").digest("hex");
  return { hash, signature: sign(hash, signing).toString("hex") };
}

/**
 * Whether `seal` is the seal of `record` under `key`: the record's hash is recomputed
 * (so a seal whose hash was replaced along with the event fails), then the signature is
 * checked against every key of a rotation list, each in constant time. False, never an
 * error, for a seal that is not `{ hash, signature }` of 64 hex digits each, or a record
 * that has no canonical form. Given a CloudEvent's `data` (see `toCloudEvent`), it proves
 * `data` alone: the envelope's attributes (`subject`, `type`, `time`, `source`, the
 * extensions) are not sealed and may have been rewritten; read those values from `data`.
 *
 * @example
 * ```ts
 * if (!verifySeal(event, seal, [{ id: "2027", secret: next }, { id: "2026", secret: previous }])) throw new Error("altered");
 * ```
 * @throws {AuditConfigError} `ERR_AUDIT_CONFIG` for a key that `integrity.key` would refuse.
 */
export function verifySeal(record: AuditEventRecord, seal: EventSeal, key: IntegrityKey): boolean {
  const keys = resolveIntegrityKeys(key, "verifySeal(): key");
  const { hash, signature } = (seal ?? {}) as Partial<EventSeal>;
  if (typeof hash !== "string" || typeof signature !== "string" || !HEX_64.test(hash) || !HEX_64.test(signature)) return false;
  let text: string;
  try {
    text = sealedText(record);
  } catch {
    return false;
  }
  const actual = createHash("sha256").update(text, "utf8").digest();
  if (!timingSafeEqual(actual, Buffer.from(hash, "hex"))) return false;
  const given = Buffer.from(signature, "hex");
  let valid = false;
  // Every key is tried, so the time taken does not tell which one matched.
  for (const candidate of keys.byId.values()) valid = timingSafeEqual(sign(hash, candidate), given) || valid;
  return valid;
}
