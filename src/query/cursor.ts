import { createHash } from "node:crypto";

import type { EventFilter, EventOrder, EventPosition } from "./audit-query";
import { AuditQueryError } from "./query-error";

const CURSOR_VERSION = 1;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** A cursor is short; a longer one is not ours, and is refused before it is decoded. */
const MAX_CURSOR_LENGTH = 512;

/** The filters a cursor was made for, as a short fingerprint. */
function fingerprint(filter: EventFilter, order: EventOrder): string {
  const canonical = JSON.stringify([
    order,
    filter.source,
    filter.contentType ?? null,
    filter.objectId ?? null,
    filter.userId ?? null,
    filter.method ?? null,
    filter.remoteAddr ?? null,
    filter.since?.getTime() ?? null,
    filter.until?.getTime() ?? null,
    filter.content,
    filter.search ?? null,
  ]);
  return createHash("sha256").update(canonical).digest("base64url").slice(0, 16);
}

/**
 * Makes the opaque cursor of the page after `last`: it holds that event's position
 * and a fingerprint of the query, so it cannot be replayed against another query.
 *
 * @example
 * ```ts
 * const nextCursor = encodeCursor(filter, "desc", events.at(-1)!);
 * ```
 */
export function encodeCursor(filter: EventFilter, order: EventOrder, last: EventPosition): string {
  const payload = [CURSOR_VERSION, fingerprint(filter, order), last.timestamp.getTime(), last.id];
  return Buffer.from(JSON.stringify(payload), "utf8").toString("base64url");
}

function refuse(reason: string): never {
  throw new AuditQueryError(`cursor is not valid: ${reason}. Pass the nextCursor of the previous page unchanged, with the same filters and order.`, "ERR_AUDIT_CURSOR");
}

/**
 * Reads a cursor made by {@link encodeCursor} for the same filters and order.
 *
 * @throws {AuditQueryError} `ERR_AUDIT_CURSOR` when it is malformed or made for another query.
 */
export function decodeCursor(cursor: unknown, filter: EventFilter, order: EventOrder): EventPosition {
  if (typeof cursor !== "string" || cursor.length === 0) refuse("it must be a non-empty string");
  if (cursor.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor)) refuse("it is not one this library made");
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    refuse("it is not one this library made");
  }
  if (!Array.isArray(payload) || payload.length !== 4 || payload[0] !== CURSOR_VERSION) refuse("it is not one this library made");
  const [, print, millis, id] = payload as [number, unknown, unknown, unknown];
  if (typeof millis !== "number" || !Number.isSafeInteger(millis) || Number.isNaN(new Date(millis).getTime())) refuse("its timestamp is wrong");
  if (typeof id !== "string" || !UUID.test(id)) refuse("its event id is wrong");
  if (print !== fingerprint(filter, order)) refuse("it was made for a query with other filters or another order");
  return { timestamp: new Date(millis), id };
}
