import type { ResolvedAuditConfig } from "./config";
import type { JsonObject } from "./json";
import { maskRequestData } from "./masking";
import { sanitizeString } from "./serialize";

/**
 * Turns whatever identifies a user (an id, or an object with an `id`) into the
 * stored `userId` string, or null.
 */
export function userIdOf(user: unknown): string | null {
  switch (typeof user) {
    case "string":
      return user.length > 0 ? sanitizeString(user) : null;
    case "number":
      return Number.isFinite(user) ? String(user) : null;
    case "bigint":
      return user.toString();
    case "object":
      return user !== null && "id" in user && typeof (user as { id: unknown }).id !== "object"
        ? userIdOf((user as { id: unknown }).id)
        : null;
    default:
      return null;
  }
}

/** Masked, JSON-safe request data, or `{}` when there is none. */
export function maskedRequestData(data: unknown, config: ResolvedAuditConfig): JsonObject {
  return data === undefined || data === null ? {} : maskRequestData(data, config.maskKeys);
}

/**
 * Replaces post data whose JSON exceeds `maxBytes` by the truncation marker
 * `{ _truncated: true, _bytes: <size> }`, so one large upload cannot bloat the table.
 */
export function capPostData(postData: JsonObject, maxBytes: number): JsonObject {
  const bytes = Buffer.byteLength(JSON.stringify(postData), "utf8");
  return bytes > maxBytes ? { _truncated: true, _bytes: bytes } : postData;
}
