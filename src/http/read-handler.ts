import type { Writable } from "node:stream";

import { getAuditConfig } from "../config/configure";
import { suggestion } from "../config/suggestion";
import { AuditContext, type AuditContextInit } from "../context";
import { AuditConfigError } from "../errors";
import type { ArchivedAuditEventRecord, AuditEventRecord } from "../model/event-record";
import { EXPORT_CONTENT_TYPES, EXPORT_FILE_EXTENSIONS, parseExportFormat, startExport } from "../export/export-events";
import { CURSOR_SECRET_EXAMPLE, cursorKey, decodeCursor, isCursorSecret, type CursorKey, type CursorSecret } from "../query/cursor";
import type { AuditQuery } from "../query/audit-query";
import { cursorKeyFor, prepareQuery, readPage, type PreparedQuery } from "../query/find-events";
import { DEFAULT_PAGE_SIZE, readableStore } from "../query/parse-query";
import { tenantScopedStore } from "../query/tenant-scope";
import type { AuditStore } from "../stores/store";
import { originForm } from "../request-target";
import { parseHttpQuery } from "./http-query-params";
import { readGrantOf, type AuthorizeResult } from "./read-grant";

/**
 * Options of {@link auditRouter} and {@link koaAuditRouter}.
 *
 * @typeParam Req The framework's request: Express `req`, Koa `ctx`.
 */
export interface AuditRouterOptions<Req> {
  /**
   * The store to read.
   * @default the store given to `configureAudit()`, looked up on each request
   */
  store?: AuditStore;
  /**
   * Decides what the request may read; required. `true`: the whole trail. `false` (or
   * `undefined`, `null`): nothing; the request gets 403 and the denial is recorded as
   * an event. `{ tenantId }` (an object with that one key): that tenant's events only,
   * on every route whatever the query says (see the README, "Tenancy"). Any other
   * answer fails the request with 500 (`ERR_AUDIT_CONFIG`), reading nothing.
   * @example (req) => req.user?.roles.includes("auditor") === true
   * @example (req) => (req.user?.roles.includes("tenant-admin") ? { tenantId: req.user.orgId } : false)
   */
  authorize: (req: Req) => AuthorizeResult | Promise<AuthorizeResult>;
  /**
   * Signs this router's `nextCursor`s (HMAC-SHA256), so a client can neither forge
   * nor alter one: a changed cursor answers 400. Give every instance of the app the
   * same secret for cursors that survive restarts and load balancers. At least 32
   * characters or bytes.
   * @default the `cursorSecret` given to `configureAudit()`, else 32 random bytes of this process
   * @example cursorSecret: process.env.AUDIT_CURSOR_SECRET
   */
  cursorSecret?: CursorSecret;
}

/** The options, checked once, when the router is created. */
export interface ResolvedRouterOptions<Req> {
  /** `auditRouter` or `koaAuditRouter`, for messages. */
  factory: string;
  store: AuditStore | undefined;
  authorize: (req: Req) => AuthorizeResult | Promise<AuthorizeResult>;
  /** The key of this router's cursors, looked up on each request when configured process-wide. */
  cursorKey: () => CursorKey;
}

/** Tells browsers to take each answer for the content type it names, never to guess another (an export read as HTML). */
export const NOSNIFF: readonly [name: string, value: string] = ["x-content-type-options", "nosniff"];

/** The answer to a denied request; the reason names no detail of the trail. */
export const DENIED_BODY = { error: "You are not allowed to read the audit trail. This attempt has been recorded." };

/** The answer to a tenant's request whose `tenantId` parameter names another tenant. */
export const OTHER_TENANT_BODY = { error: "You may read your own tenant's events only: leave tenantId out, or name your own tenant. This attempt has been recorded." };

/** What an adapter tells the handler about one request. */
export interface ReadRequest {
  method: string;
  /** The path below where the router is mounted, e.g. `/events/summary`. */
  path: string;
  /**
   * The query string (without `?`) of the URL the route was matched on: the app's own when
   * it rewrote the request's URL (`req.url`, `ctx.url`), as the filters it added there
   * must hold.
   */
  search: string;
  /** The path and query string as the client sent them, for `next` links. */
  originalUrl: string;
}

/** The path and query string (without `?`) of a request target, in origin form. */
export function splitTarget(target: string): { path: string; search: string } {
  const url = originForm(target);
  const at = url.indexOf("?");
  return at < 0 ? { path: url, search: "" } : { path: url.slice(0, at), search: url.slice(at + 1) };
}

/**
 * The context a refusal is recorded through when the app's own is not at hand: with the
 * request's user, or without one when the user object names none (no `id` or `sub`), so
 * that the refusal is recorded all the same (`userUnresolved` in its content).
 */
export function denialContextOf(init: AuditContextInit): AuditContext {
  try {
    return new AuditContext(init);
  } catch {
    return new AuditContext({ ...init, user: undefined, extraData: { userUnresolved: true } });
  }
}

/** What the adapter sends back. */
export type ReadResponse =
  | { status: number; json: unknown }
  | { status: 200; contentType: string; attachment: string; write(out: Writable): Promise<unknown>; cancel(): Promise<void> };

/**
 * Checks the router options, naming the fix.
 *
 * @throws {AuditConfigError} when `authorize` is missing or not a function, or an option is unknown.
 */
export function resolveRouterOptions<Req>(factory: string, options: AuditRouterOptions<Req> | undefined, extraKeys: readonly string[] = []): ResolvedRouterOptions<Req> {
  const example = `${factory}({ authorize: (req) => isAuditor(req.user) })`;
  if (typeof options !== "object" || options === null) {
    throw new AuditConfigError(`${factory}() needs options with an authorize function, such as ${example}: the audit trail must never be readable by everyone.`);
  }
  const known = ["store", "authorize", "cursorSecret", ...extraKeys];
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new AuditConfigError(`${factory}(): unknown option "${key}".${suggestion(key, known)} Options are ${known.join(", ")}.`);
    }
  }
  if (typeof options.authorize !== "function") {
    throw new AuditConfigError(`${factory}() needs an authorize function, such as ${example}: the audit trail must never be readable by everyone.`);
  }
  if (options.store !== undefined) readableStore(options.store, () => undefined);
  const { cursorSecret } = options;
  if (cursorSecret !== undefined && !isCursorSecret(cursorSecret)) {
    throw new AuditConfigError(`${factory}(): cursorSecret must be a string of at least 32 characters or a Buffer of at least 32 bytes, such as ${CURSOR_SECRET_EXAMPLE}.`);
  }
  const ownKey = cursorSecret === undefined ? undefined : cursorKey(cursorSecret);
  return { factory, store: options.store, authorize: options.authorize, cursorKey: () => ownKey ?? cursorKeyFor() };
}

const EVENT_ID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** The routes: a route is matched on the path below the mount point. */
export type ReadRoute = "list" | "export" | "summary" | { id: string };

/** Which route a GET path is, or null when it is none of the router's. */
export function matchRoute(method: string, path: string): ReadRoute | null {
  if (method !== "GET") return null;
  const trimmed = path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
  if (trimmed === "/events") return "list";
  if (trimmed === "/events/export") return "export";
  if (trimmed === "/events/summary") return "summary";
  const match = /^\/events\/([^/]+)$/.exec(trimmed);
  if (match === null) return null;
  try {
    return { id: decodeURIComponent(match[1]!) };
  } catch {
    return { id: match[1]! };
  }
}

/** The URL of the page after this one: the request's own (in origin form), with `cursor` replaced. */
function nextLink(originalUrl: string, cursor: string | null): string | null {
  if (cursor === null) return null;
  const { path, search } = splitTarget(originalUrl);
  const params = new URLSearchParams(search);
  params.set("cursor", cursor);
  return `${path}?${params.toString()}`;
}

/**
 * What one request may read, built once from `authorize`'s answer: the store, or a
 * tenant's view of it that cannot return another tenant's event (see
 * `tenantScopedStore`). Every route reads through this and nothing else, so a route
 * added later is limited like the others without knowing about tenants.
 */
export interface ReadAccess {
  readonly store: AuditStore;
  /** The tenant the request is limited to, in stored form; absent for the whole trail. */
  readonly tenantId?: string;
}

function readAccess(configuredStore: AuditStore | undefined, grant: { readonly tenantId?: string }): ReadAccess {
  const store = readableStore(configuredStore, () => getAuditConfig().store);
  return grant.tenantId === undefined ? { store } : { store: tenantScopedStore(store, grant.tenantId), tenantId: grant.tenantId };
}

/**
 * The query of a request, read through its access. For a tenant the filter carries its
 * tenant id, so a cursor is signed over it and reads on for that tenant only; a
 * `tenantId` naming another tenant is "other-tenant" (403).
 */
function prepareWithin(access: ReadAccess, filters: AuditQuery): PreparedQuery | "other-tenant" {
  const prepared = prepareQuery({ ...filters, store: access.store });
  if (access.tenantId === undefined) return prepared;
  if (prepared.filter.tenantId !== undefined && prepared.filter.tenantId !== access.tenantId) return "other-tenant";
  return { ...prepared, filter: { ...prepared.filter, tenantId: access.tenantId } };
}

async function findById(store: AuditStore, id: string): Promise<AuditEventRecord | ArchivedAuditEventRecord | null> {
  // Ids are UUIDs; anything else names no event, and must not reach a uuid column.
  if (!EVENT_ID.test(id)) return null;
  const normalized = id.toLowerCase();
  return (await store.getEvent(normalized)) ?? (await store.getArchivedEvent(normalized));
}

/**
 * Answers one read request on the routes of API.md: asks `authorize`, records and
 * refuses a denial, and otherwise answers through the {@link ReadAccess} its answer
 * grants. A tenant's request whose `tenantId` names another tenant is refused with 403
 * and recorded like a denial. Bad parameters throw {@link AuditQueryError}, which the
 * adapters answer with 400; an `authorize` answer that is neither a yes nor a no
 * throws `AuditConfigError`, which they leave to the app (500).
 *
 * @param denialContext the audit context a denial is recorded through, made only when one is.
 */
export async function serveRead<Req>(route: ReadRoute, request: ReadRequest, router: ResolvedRouterOptions<Req>, req: Req, denialContext: () => AuditContext): Promise<ReadResponse> {
  const grant = readGrantOf(router.factory, await router.authorize(req));
  if (grant === "denied") {
    await recordDenial(denialContext(), request);
    return { status: 403, json: DENIED_BODY };
  }
  const response = await answerRead(route, request, readAccess(router.store, grant), router.cursorKey());
  if (response.status === 403) await recordDenial(denialContext(), request, "tenantId names another tenant");
  return response;
}

/**
 * Answers one read request allowed `access`. Nothing here reads but through `access.store`.
 * Bad parameters throw {@link AuditQueryError}.
 */
async function answerRead(route: ReadRoute, request: ReadRequest, access: ReadAccess, key: CursorKey): Promise<ReadResponse> {
  const { search } = request;
  if (typeof route === "object") {
    // A tenant's view answers null for another tenant's event: the same 404 as a missing one, after the same reads.
    const event = await findById(access.store, route.id);
    return event === null ? { status: 404, json: { error: `No event with id ${JSON.stringify(route.id.slice(0, 60))}.` } } : { status: 200, json: event };
  }
  const { query, limit, format } = parseHttpQuery(search, { format: route === "export" });
  const { cursor, ...filters } = query;
  const prepared = prepareWithin(access, filters);
  if (prepared === "other-tenant") return { status: 403, json: OTHER_TENANT_BODY };
  switch (route) {
    case "list": {
      const after = cursor === undefined ? undefined : decodeCursor(cursor, prepared.filter, prepared.order, key);
      const page = await readPage(prepared.store, prepared.filter, prepared.order, limit ?? DEFAULT_PAGE_SIZE, key, after);
      return { status: 200, json: { ...page, next: nextLink(request.originalUrl, page.nextCursor) } };
    }
    case "summary":
      if (cursor !== undefined || limit !== undefined) return { status: 400, json: { error: "summary takes filters only, not limit or cursor." } };
      return { status: 200, json: await prepared.store.summarizeEvents(prepared.filter) };
    case "export": {
      if (cursor !== undefined || limit !== undefined) return { status: 400, json: { error: "export takes filters and format only, not limit or cursor." } };
      const checked = parseExportFormat(format ?? "ndjson");
      // The first page is read before any header is set: a store that fails on it (the
      // database down) is the app's error to answer, as on the other routes.
      const started = await startExport(prepared, checked);
      return {
        status: 200,
        contentType: EXPORT_CONTENT_TYPES[checked],
        attachment: `audit-events.${EXPORT_FILE_EXTENSIONS[checked]}`,
        write: (out) => started.pipeTo(out),
        cancel: () => started.cancel(),
      };
    }
  }
}

/** The `action` of the event that records a refused read of the audit trail (its outcome is `"denied"`). */
export const DENIED_READ_ACTION = "audit.read";

/**
 * Records that a request was refused the audit trail, through `context`: the
 * adapters pass the request's own audit context when `auditEvents()` gave it one
 * (so the event carries the user and IP the app resolves), else a new one holding
 * the request's URL, method, IP and user, writing to the router's store.
 */
export async function recordDenial(context: AuditContext, request: ReadRequest, reason?: string): Promise<void> {
  const path = request.originalUrl.split("?")[0]!;
  await context.createEvent(
    { contentType: "AuditTrail", objectId: path },
    { route: `${request.method} ${request.path}`, ...(reason === undefined ? {} : { reason }) },
    { action: DENIED_READ_ACTION, outcome: "denied", severity: "warning" },
  );
}
