import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

import type { EventFilter, EventOrder, EventPosition } from "../model/event-filter";
import { isInstantInRange } from "./instant-range";
import { AuditQueryError } from "./query-error";

const CURSOR_VERSION = 2;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** A cursor is short; a longer one is not ours, and is refused before it is decoded. */
const MAX_CURSOR_LENGTH = 512;
/** `<base64url position>.<base64url HMAC-SHA256>`: a 32-byte MAC is 43 characters. */
const CURSOR_SHAPE = /^([A-Za-z0-9_-]{1,400})\.([A-Za-z0-9_-]{43})$/;
/** The shortest secret accepted: 32 bytes, the size of the HMAC-SHA256 key it derives. */
export const MIN_CURSOR_SECRET_BYTES = 32;

/** A key that signs and checks cursors: made by {@link cursorKey}. */
export interface CursorKey {
  readonly bytes: Buffer;
}

/** A secret for cursors: a string of at least 32 characters, or at least 32 bytes. */
export type CursorSecret = string | Uint8Array;

/**
 * Whether `value` can be a cursor secret: a string of at least 32 characters or a
 * Buffer/Uint8Array of at least 32 bytes.
 *
 * @example
 * ```ts
 * isCursorSecret(randomBytes(32)); // true
 * ```
 */
export function isCursorSecret(value: unknown): value is CursorSecret {
  if (typeof value === "string") return value.length >= MIN_CURSOR_SECRET_BYTES;
  return value instanceof Uint8Array && value.byteLength >= MIN_CURSOR_SECRET_BYTES;
}

/** How to write a valid secret, for the messages that refuse one. */
export const CURSOR_SECRET_EXAMPLE = 'cursorSecret: process.env.AUDIT_CURSOR_SECRET (e.g. the output of node -e "console.log(crypto.randomBytes(32).toString(\'base64\'))")';

/**
 * The key that signs cursors made with `secret`. The secret is run through HMAC with
 * a fixed label first, so a secret also used elsewhere (an integrity key) never signs
 * cursors with the same key.
 *
 * @example
 * ```ts
 * const key = cursorKey(process.env.AUDIT_CURSOR_SECRET!);
 * ```
 */
export function cursorKey(secret: CursorSecret): CursorKey {
  return { bytes: createHmac("sha256", secret).update("audit-events cursor key v2").digest() };
}

let processKey: CursorKey | undefined;

/**
 * This process's own key, from 32 random bytes made on first use: its cursors are
 * valid until the process ends, and in this process only. Configure `cursorSecret`
 * for cursors that survive a restart or move between instances.
 *
 * @example
 * ```ts
 * const cursor = encodeCursor(filter, "desc", last, processCursorKey());
 * ```
 */
export function processCursorKey(): CursorKey {
  processKey ??= cursorKey(randomBytes(MIN_CURSOR_SECRET_BYTES));
  return processKey;
}

/** The query a cursor was made for, as canonical text: what its MAC binds it to. */
function canonicalQuery(filter: EventFilter, order: EventOrder): string {
  const eventModel = [filter.action, filter.outcome, filter.severity, filter.tenantId, filter.requestId];
  // Appended only when one is set, so cursors of queries without them stay valid across the upgrade.
  const modelPart = eventModel.every((value) => value === undefined) ? [] : [eventModel.map((value) => value ?? null)];
  return JSON.stringify([
    order,
    filter.source,
    filter.contentType ?? null,
    filter.objectId ?? null,
    filter.userId ?? null,
    filter.method ?? null,
    filter.remoteAddr ?? null,
    filter.since?.getTime() ?? null,
    filter.until?.getTime() ?? null,
    // By key: the same content filters given in another order are the same query.
    [...filter.content].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    filter.search ?? null,
    ...modelPart,
  ]);
}

/** The MAC of a cursor's position text for a query; JSON text holds no raw newline, so the two parts cannot run into each other. */
function mac(key: CursorKey, query: string, position: string): Buffer {
  return createHmac("sha256", key.bytes).update(`${query}\n${position}`).digest();
}

/**
 * Makes the opaque cursor of the page after `last`: that event's position, signed
 * with HMAC-SHA256 under `key` together with the query, so a client can neither
 * forge a position nor replay the cursor against another query.
 *
 * @example
 * ```ts
 * const nextCursor = encodeCursor(filter, "desc", events.at(-1)!, processCursorKey());
 * ```
 */
export function encodeCursor(filter: EventFilter, order: EventOrder, last: EventPosition, key: CursorKey): string {
  const position = Buffer.from(JSON.stringify([CURSOR_VERSION, last.timestamp.getTime(), last.id]), "utf8").toString("base64url");
  return `${position}.${mac(key, canonicalQuery(filter, order), position).toString("base64url")}`;
}

function refuse(reason: string): never {
  throw new AuditQueryError(`cursor is not valid: ${reason}. Pass the nextCursor of the previous page unchanged, with the same filters and order.`, "ERR_AUDIT_CURSOR");
}

/**
 * Reads a cursor made by {@link encodeCursor} under the same key, for the same
 * filters and order.
 *
 * @throws {AuditQueryError} `ERR_AUDIT_CURSOR` when it is malformed, signed under
 * another key (altered, forged, or made by another process without a shared
 * `cursorSecret`), or made for another query.
 */
export function decodeCursor(cursor: unknown, filter: EventFilter, order: EventOrder, key: CursorKey): EventPosition {
  if (typeof cursor !== "string" || cursor.length === 0) refuse("it must be a non-empty string");
  const parts = cursor.length > MAX_CURSOR_LENGTH ? null : CURSOR_SHAPE.exec(cursor);
  if (parts === null) refuse("it is not one this library made");
  const [, position, signature] = parts as unknown as [string, string, string];
  if (!timingSafeEqual(Buffer.from(signature, "base64url"), mac(key, canonicalQuery(filter, order), position))) {
    refuse("it was altered, made by another process without a shared cursorSecret, or made for a query with other filters or another order");
  }
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(position, "base64url").toString("utf8"));
  } catch {
    refuse("it is not one this library made");
  }
  if (!Array.isArray(payload) || payload.length !== 3 || payload[0] !== CURSOR_VERSION) refuse("it is not one this library made");
  const [, millis, id] = payload as [number, unknown, unknown];
  // Signed positions come from stored events; these checks keep a leaked key from reaching the database with any value.
  if (typeof millis !== "number" || !Number.isSafeInteger(millis) || !isInstantInRange(new Date(millis))) refuse("its timestamp is wrong");
  if (typeof id !== "string" || !UUID.test(id)) refuse("its event id is wrong");
  return { timestamp: new Date(millis), id };
}
