import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import { AuditConfigError } from "../errors";
import { canonicalJson } from "./canonical-json";

/** The fewest bytes (or characters) an integrity secret may have: as many as SHA-256's output. */
export const MIN_INTEGRITY_SECRET_BYTES = 32;

/** One key of a rotation: its id (stored with each checkpoint it signs) and its secret. */
export interface IntegrityKeyEntry {
  /**
   * Names the key in `audit_checkpoints.keyId`; 1 to 191 visible ASCII characters.
   * @default the id a single secret gets: `sha256:` and 16 hex digits of its SHA-256 (see {@link derivedKeyId})
   */
  id?: string;
  /** At least 32 characters or bytes. */
  secret: string | Uint8Array;
}

/**
 * The `integrity.key` option: one secret, or a list of keys for rotation whose first
 * signs new checkpoints while every one still verifies the checkpoints it signed.
 */
export type IntegrityKey = string | Uint8Array | readonly IntegrityKeyEntry[];

/** A key ready for HMAC: its id and its secret's bytes. */
export interface ResolvedIntegrityKey {
  readonly id: string;
  readonly secret: Buffer;
}

/** The keys of an `integrity.key` option: the one that signs, and every one that verifies. */
export interface IntegrityKeyRing {
  /** Signs new checkpoints (and seals): the first key of a list, or the one secret. */
  readonly signing: ResolvedIntegrityKey;
  /** Every key by id, the signing one included. */
  readonly byId: ReadonlyMap<string, ResolvedIntegrityKey>;
  /**
   * Every key by the id its secret would have on its own ({@link derivedKeyId}), so what a
   * single secret signed still verifies once that secret sits in a list under another id.
   */
  readonly byDerivedId: ReadonlyMap<string, ResolvedIntegrityKey>;
}

/**
 * The key of the ring a checkpoint, seal or spool line names by `keyId`: the key with that
 * id, else (for an id of the derived form `sha256:<16 hex>`) the key whose secret derives
 * it, whatever id the list gives that key now. Undefined when the ring holds neither.
 */
export function keyFor(keys: IntegrityKeyRing, keyId: string): ResolvedIntegrityKey | undefined {
  return keys.byId.get(keyId) ?? keys.byDerivedId.get(keyId);
}

const KEY_ID = /^[\x21-\x7e]{1,191}$/;

/** How to write a valid key, for the messages that refuse one. */
export const INTEGRITY_KEY_EXAMPLE =
  'integrity: { key: process.env.AUDIT_INTEGRITY_KEY } (e.g. the output of node -e "console.log(crypto.randomBytes(32).toString(\'base64\'))"), or for rotation key: [{ id: "2027-01", secret: newSecret }, { id: "2026-01", secret: oldSecret }] (an entry without id, { secret }, keeps the id a single secret has)';

function secretBytes(secret: unknown, where: string): Buffer {
  const bytes = typeof secret === "string" ? Buffer.from(secret, "utf8") : secret instanceof Uint8Array ? Buffer.from(secret) : undefined;
  if (bytes === undefined || (typeof secret === "string" ? secret.length : bytes.byteLength) < MIN_INTEGRITY_SECRET_BYTES) {
    throw new AuditConfigError(`${where} must be a string of at least ${MIN_INTEGRITY_SECRET_BYTES} characters or a Buffer of at least ${MIN_INTEGRITY_SECRET_BYTES} bytes. For example: ${INTEGRITY_KEY_EXAMPLE}.`);
  }
  return bytes;
}

/**
 * The id of a key given without one: `"sha256:"` and the first 16 hex digits of the
 * SHA-256 of its secret, so the same secret always gets the same id (a process that
 * restarts, every instance of an app) and the id says nothing usable about the secret.
 */
export function derivedKeyId(secret: Buffer): string {
  return `sha256:${createHash("sha256").update(secret).digest("hex").slice(0, 16)}`;
}

/**
 * Checks and resolves an `integrity.key` option.
 *
 * @example
 * ```ts
 * resolveIntegrityKeys(process.env.AUDIT_INTEGRITY_KEY!).signing.id; // "sha256:3f9a…"
 * resolveIntegrityKeys([{ id: "2027", secret: next }, { id: "2026", secret: previous }]).signing.id; // "2027"
 * ```
 * @throws {AuditConfigError} `ERR_AUDIT_CONFIG` for a secret shorter than 32 characters or
 * bytes, an empty list, an id that is not 1 to 191 visible ASCII characters, or two keys
 * with one id.
 */
export function resolveIntegrityKeys(key: unknown, where = "integrity.key"): IntegrityKeyRing {
  if (typeof key === "string" || key instanceof Uint8Array) {
    const secret = secretBytes(key, where);
    const signing = { id: derivedKeyId(secret), secret };
    return { signing, byId: new Map([[signing.id, signing]]), byDerivedId: new Map([[signing.id, signing]]) };
  }
  if (!Array.isArray(key) || key.length === 0) {
    throw new AuditConfigError(`${where} must be a secret or a non-empty list of { id, secret }. For example: ${INTEGRITY_KEY_EXAMPLE}.`);
  }
  const byId = new Map<string, ResolvedIntegrityKey>();
  const byDerivedId = new Map<string, ResolvedIntegrityKey>();
  key.forEach((entry: unknown, index) => {
    const { id: given, secret } = (entry ?? {}) as Partial<IntegrityKeyEntry>;
    if (given !== undefined && (typeof given !== "string" || !KEY_ID.test(given))) {
      throw new AuditConfigError(`${where}[${index}].id must be 1 to 191 visible ASCII characters, such as "2027-01", or left out (the id a single secret has). For example: ${INTEGRITY_KEY_EXAMPLE}.`);
    }
    const bytes = secretBytes(secret, `${where}[${index}].secret`);
    const derived = derivedKeyId(bytes);
    const id = given ?? derived;
    if (byId.has(id)) throw new AuditConfigError(`${where}: two keys have the id "${id}"; give each key its own id (and each its own secret).`);
    const resolved = { id, secret: bytes };
    byId.set(id, resolved);
    if (!byDerivedId.has(derived)) byDerivedId.set(derived, resolved);
  });
  return { signing: byId.values().next().value!, byId, byDerivedId };
}

/** What a checkpoint signs: a chain's head, by whom and when. */
export interface CheckpointFields {
  chainId: string;
  seq: number;
  /** The `hash` of the event at `seq`. */
  hash: string;
  keyId: string;
  createdAt: Date;
}

/**
 * The text a checkpoint's signature covers: its fields as RFC 8785 canonical JSON, the
 * instant as ISO 8601 UTC text to the millisecond.
 */
export function canonicalCheckpointText(checkpoint: CheckpointFields): string {
  const { chainId, seq, hash, keyId, createdAt } = checkpoint;
  return canonicalJson({ chainId, seq, hash, keyId, createdAt: createdAt.toISOString() });
}

/**
 * The signature of a checkpoint: HMAC-SHA256 (RFC 2104) of its canonical text under
 * `key`, lower-case hex, 64 characters.
 */
export function signCheckpoint(checkpoint: CheckpointFields, key: ResolvedIntegrityKey): string {
  return createHmac("sha256", key.secret).update(canonicalCheckpointText(checkpoint), "utf8").digest("hex");
}

/**
 * Whether `signature` is the signature of `checkpoint` under the key its `keyId` names
 * (see {@link keyFor}; compared in constant time); false for a key id the ring does not hold.
 */
export function verifyCheckpointSignature(checkpoint: CheckpointFields, signature: string, keys: IntegrityKeyRing): boolean {
  const key = keyFor(keys, checkpoint.keyId);
  if (key === undefined || !/^[0-9a-f]{64}$/.test(signature)) return false;
  return timingSafeEqual(Buffer.from(signCheckpoint(checkpoint, key), "hex"), Buffer.from(signature, "hex"));
}
