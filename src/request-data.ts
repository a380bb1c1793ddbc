import type { ResolvedAuditConfig } from "./config";
import { AuditError } from "./errors";
import type { JsonObject } from "./json";
import { maskRequestData } from "./masking";
import { sanitizeString } from "./serialize";

/** A user's id field: a scalar, or nothing. */
function scalarField(user: object, field: "id" | "sub"): unknown {
  const value = (user as Record<string, unknown>)[field];
  return typeof value === "object" || typeof value === "function" ? undefined : value;
}

/**
 * Turns whatever identifies a user into the stored `userId` string, or null: an id
 * (string, number, bigint) itself, else a user object's `id` (Passport, Prisma
 * records), else its `sub` (a JWT's claims, as express-jwt leaves them on `req.auth`).
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
      return user === null ? null : (userIdOf(scalarField(user, "id")) ?? userIdOf(scalarField(user, "sub")));
    default:
      return null;
  }
}

/**
 * The id of a user the application names itself (`ctx.setUser()`, the `user` option
 * of an event, `new AuditContext({ user })`): `null` or `undefined` means no user,
 * anything else must yield an id, so a user is never dropped silently.
 *
 * @throws {AuditError} `ERR_AUDIT_USER` naming what was given and what is accepted.
 */
export function explicitUserId(user: unknown, where: string): string | null {
  if (user === null || user === undefined) return null;
  const id = userIdOf(user);
  if (id === null) {
    const given =
      typeof user === "object"
        ? `an object with the keys [${Object.keys(user).slice(0, 10).join(", ")}]`
        : typeof user === "number"
          ? `the number ${user}`
          : typeof user === "string"
            ? "an empty string"
            : `a ${typeof user}`;
    throw new AuditError(
      "ERR_AUDIT_USER",
      `${where} got ${given}, which names no user: pass an id (a non-empty string, a number or a bigint), an object with an id or sub (such as { id: user.id }), or null for no user.`,
    );
  }
  return id;
}

/**
 * The first of `candidates` (the places a framework's authentication leaves a user,
 * in order) that yields an id.
 */
export function firstUserId(candidates: readonly unknown[]): string | null {
  for (const candidate of candidates) {
    const id = userIdOf(candidate);
    if (id !== null) return id;
  }
  return null;
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

/** Writes IPv4 clients the way people read them: `::ffff:10.0.0.1` becomes `10.0.0.1`. */
export function normalizeIp(ip: string | null | undefined): string | null {
  if (typeof ip !== "string" || ip.length === 0) return null;
  return sanitizeString(ip.startsWith("::ffff:") && ip.includes(".") ? ip.slice(7) : ip);
}
