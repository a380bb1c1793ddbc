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

/**
 * The body size a request declared (`Content-Length`), for the truncation marker of its
 * post data; none for multipart bodies, whose size counts files that post data leaves out.
 */
export function declaredBodyBytes(headers: Readonly<Record<string, string | string[] | undefined>>): number | undefined {
  const length = headers["content-length"];
  const type = headers["content-type"];
  if (typeof length !== "string" || !/^\d{1,15}$/.test(length)) return undefined;
  if (typeof type === "string" && type.toLowerCase().startsWith("multipart/")) return undefined;
  return Number(length);
}

/** Writes IPv4 clients the way people read them: `::ffff:10.0.0.1` becomes `10.0.0.1`. */
export function normalizeIp(ip: string | null | undefined): string | null {
  if (typeof ip !== "string" || ip.length === 0) return null;
  return sanitizeString(ip.startsWith("::ffff:") && ip.includes(".") ? ip.slice(7) : ip);
}
