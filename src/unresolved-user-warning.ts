import type { IncomingHttpHeaders } from "node:http";
import type { AuditLogger } from "./writer/spool";

/** Process-wide on purpose: the advice is about the app's set-up, not about one request. */
let warned = false;

/**
 * Warns, once per process, that a request which looks authenticated (an
 * `Authorization` header, or a user object without an id) reached an event with no
 * user the default resolver could read: every event would say `userId: null` and
 * nobody would notice. `places` names where the framework's default resolver looked.
 */
export function warnUnresolvedUser(logger: AuditLogger, headers: IncomingHttpHeaders, candidates: readonly unknown[], places: string | undefined): void {
  if (warned || places === undefined) return;
  const unreadable = candidates.find((c) => typeof c === "object" && c !== null);
  if (headers.authorization === undefined && unreadable === undefined) return;
  warned = true;
  const why =
    unreadable === undefined
      ? `a request with an Authorization header created an audit event, but ${places} hold${places.includes(" and ") ? "" : "s"} no user`
      : `a request's user object (keys: ${Object.keys(unreadable).slice(0, 10).join(", ")}) has no id or sub`;
  logger.warn(
    `audit-events: ${why}, so its events are stored with userId null. Tell audit-events where your authentication keeps the user with the userResolver option, ` +
      "e.g. configureAudit({ store, userResolver: (req) => req.session?.userId ?? null }) (Koa: resolvers receive ctx), " +
      "or name the user yourself with ctx.setUser(user) or createEvent(object, content, { user }). This warning is given once per process.",
  );
}
