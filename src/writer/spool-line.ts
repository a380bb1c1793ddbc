import { createHmac, timingSafeEqual } from "node:crypto";
import { crc32 } from "node:zlib";
import { keyFor, type IntegrityKeyRing, type ResolvedIntegrityKey } from "../integrity/integrity-keys";
import type { EventRow } from "../stores/store";
import { isoInstant } from "../iso-instant";

/** Version of the line format, so a later release can still read older spools. */
const FORMAT = 1;

type TypedValue = "date" | "bigint" | "bytes";

interface EncodedRow {
  v: number;
  /** The row, with dates, bigints and bytes as strings. */
  r: Record<string, unknown>;
  /** Which top-level fields were dates, bigints or bytes. */
  t: Record<string, TypedValue>;
}

function hex(checksum: number): string {
  return checksum.toString(16).padStart(8, "0");
}

/** Starts the MAC field of a line written under an integrity key. */
const MAC_TAG = "hmac=";

/**
 * What a line's MAC covers: its JSON after a label naming the purpose, so a MAC made for
 * a spool line can never pass for another HMAC made with the same key (a checkpoint's
 * signature, a seal) nor the other way round.
 */
function lineMac(json: string, key: ResolvedIntegrityKey): Buffer {
  return createHmac("sha256", key.secret).update("audit-events spool line v1\n", "utf8").update(json, "utf8").digest();
}

/**
 * One row as one spool line, without a newline (JSON never holds a raw one, so lines
 * split safely): `<crc32, 8 hex digits> <JSON>`, or, under an integrity key,
 * `<crc32> hmac=<key id>:<HMAC-SHA256, 64 hex digits> <JSON>`. The CRC32 covers the
 * rest of the line and finds torn or corrupted lines; the HMAC (RFC 2104) of the JSON
 * under the key finds edited and forged ones, which anyone can give a right CRC32.
 */
export function encodeSpoolLine(row: EventRow, key?: ResolvedIntegrityKey): string {
  // The row's own fields in its own shape (a spread), the typed ones then replaced in
  // place: no [field, value] pair per field, and no object grown key by key.
  const r: Record<string, unknown> = { ...row };
  const t: Record<string, TypedValue> = {};
  for (const field in r) {
    const value = r[field];
    if ((typeof value !== "object" && typeof value !== "bigint") || !Object.hasOwn(r, field)) continue;
    if (value instanceof Date) {
      r[field] = isoInstant(value);
      t[field] = "date";
    } else if (typeof value === "bigint") {
      r[field] = value.toString();
      t[field] = "bigint";
    } else if (value instanceof Uint8Array) {
      r[field] = Buffer.from(value).toString("base64");
      t[field] = "bytes";
    }
  }
  const json = JSON.stringify({ v: FORMAT, r, t } satisfies EncodedRow);
  const rest = key === undefined ? json : `${MAC_TAG}${key.id}:${lineMac(json, key).toString("hex")} ${json}`;
  return `${hex(crc32(rest))} ${rest}`;
}

/**
 * A spool line that could be read back, or why it could not. `unauthentic`: the line
 * is whole (its CRC32 matches) but its MAC is wrong, missing, or made with a key the
 * configuration does not hold: it was edited or forged, or written without the key.
 */
export type DecodedSpoolLine = { row: EventRow } | { problem: string; unauthentic?: true };

/** Splits `hmac=<key id>:<64 hex> <JSON>` (a key id holds no space, but may hold `:`). */
function macField(rest: string): { keyId: string; mac: string; json: string } | undefined {
  if (!rest.startsWith(MAC_TAG)) return undefined;
  const space = rest.indexOf(" ");
  if (space < 0) return undefined;
  const field = rest.slice(MAC_TAG.length, space);
  const colon = field.lastIndexOf(":");
  const mac = field.slice(colon + 1);
  if (colon < 1 || !/^[0-9a-f]{64}$/.test(mac)) return undefined;
  return { keyId: field.slice(0, colon), mac, json: rest.slice(space + 1) };
}

/**
 * Reads a line written by {@link encodeSpoolLine}; never throws. Given the integrity
 * keys in force, it accepts only lines whose MAC one of them verifies (compared in
 * constant time): a line without a MAC is refused too, since stripping the MAC is all a
 * forger would need otherwise. Without keys, lines are read with or without a MAC.
 */
export function decodeSpoolLine(line: string, keys?: IntegrityKeyRing): DecodedSpoolLine {
  if (line.length < 10 || line[8] !== " ") return { problem: "not a spool line (no checksum)" };
  const rest = line.slice(9);
  if (hex(crc32(rest)) !== line.slice(0, 8)) return { problem: "checksum mismatch (the line was changed or half-written)" };
  const signed = macField(rest);
  if (rest.startsWith(MAC_TAG) && signed === undefined) return { problem: "its MAC field is malformed", unauthentic: true };
  if (keys !== undefined) {
    if (signed === undefined) {
      return { problem: "it carries no MAC while integrity.key is configured (written before the key was, or stripped of its MAC)", unauthentic: true };
    }
    const key = keyFor(keys, signed.keyId);
    if (key === undefined) {
      return { problem: `its MAC was made with key "${signed.keyId}", which integrity.key does not hold`, unauthentic: true };
    }
    if (!timingSafeEqual(lineMac(signed.json, key), Buffer.from(signed.mac, "hex"))) {
      return { problem: `its MAC does not match under key "${signed.keyId}" (the line was edited or forged)`, unauthentic: true };
    }
  }
  const json = signed === undefined ? rest : signed.json;
  let parsed: EncodedRow;
  try {
    parsed = JSON.parse(json) as EncodedRow;
  } catch {
    return { problem: "the checksum matches but the JSON does not parse" };
  }
  if (parsed?.v !== FORMAT || typeof parsed.r !== "object" || parsed.r === null || typeof parsed.t !== "object" || parsed.t === null) {
    return { problem: `unknown spool line format ${JSON.stringify(parsed?.v)}` };
  }
  const row: Record<string, unknown> = { ...parsed.r };
  for (const [field, type] of Object.entries(parsed.t)) {
    const value = row[field];
    if (typeof value !== "string") return { problem: `field ${field} should hold a ${type}` };
    row[field] = type === "date" ? new Date(value) : type === "bigint" ? BigInt(value) : Buffer.from(value, "base64");
  }
  if (typeof row.id !== "string" || !(row.timestamp instanceof Date)) return { problem: "the line holds no event id and timestamp" };
  return { row: row as EventRow };
}
