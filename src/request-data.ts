import { AuditError } from "./errors";
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

/** The request's `Content-Type`, or "" when it sent none. */
export function contentTypeOf(headers: Readonly<Record<string, string | string[] | undefined>>): string {
  const type = headers["content-type"];
  return typeof type === "string" ? type : "";
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
