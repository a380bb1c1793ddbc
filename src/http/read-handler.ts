import type { Writable } from "node:stream";

import { getAuditConfig } from "../config/configure";
import { suggestion } from "../config/suggestion";
import type { AuditContext } from "../context";
import { AuditConfigError } from "../errors";
import type { ArchivedAuditEventRecord, AuditEventRecord } from "../model/event-record";
import { EXPORT_CONTENT_TYPES, exportPrepared, parseExportFormat } from "../export/export-events";
import { CURSOR_SECRET_EXAMPLE, cursorKey, decodeCursor, isCursorSecret, type CursorKey, type CursorSecret } from "../query/cursor";
import { cursorKeyFor, prepareQuery, readPage } from "../query/find-events";
import { DEFAULT_PAGE_SIZE, readableStore } from "../query/parse-query";
import type { AuditStore } from "../stores/store";
import { parseHttpQuery } from "./http-query-params";

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
   * Decides whether the request may read the audit trail; required. A `false` answers
   * 403 and records the denial as an event.
   * @example (req) => req.user?.roles.includes("auditor") === true
   */
  authorize: (req: Req) => boolean | Promise<boolean>;
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
  store: AuditStore | undefined;
  authorize: (req: Req) => boolean | Promise<boolean>;
  /** The key of this router's cursors, looked up on each request when configured process-wide. */
  cursorKey: () => CursorKey;
}

/** Tells browsers to take each answer for the content type it names, never to guess another (an export read as HTML). */
export const NOSNIFF: readonly [name: string, value: string] = ["x-content-type-options", "nosniff"];

/** The answer to a denied request; the reason names no detail of the trail. */
export const DENIED_BODY = { error: "You are not allowed to read the audit trail. This attempt has been recorded." };

/** What an adapter tells the handler about one request. */
export interface ReadRequest {
  method: string;
  /** The path below where the router is mounted, e.g. `/events/summary`. */
  path: string;
  /** The path and query string as the client sent them, for `next` links. */
  originalUrl: string;
}

/** What the adapter sends back. */
export type ReadResponse =
  | { status: number; json: unknown }
  | { status: 200; contentType: string; attachment: string; write(out: Writable): Promise<unknown> };

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
  return { store: options.store, authorize: options.authorize, cursorKey: () => ownKey ?? cursorKeyFor() };
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

function searchOf(originalUrl: string): string {
  const at = originalUrl.indexOf("?");
  return at < 0 ? "" : originalUrl.slice(at + 1);
}

/** The URL of the page after this one: the request's own, with `cursor` replaced. */
function nextLink(originalUrl: string, cursor: string | null): string | null {
  if (cursor === null) return null;
  const at = originalUrl.indexOf("?");
  const params = new URLSearchParams(at < 0 ? "" : originalUrl.slice(at + 1));
  params.set("cursor", cursor);
  return `${at < 0 ? originalUrl : originalUrl.slice(0, at)}?${params.toString()}`;
}

async function findById(store: AuditStore, id: string): Promise<AuditEventRecord | ArchivedAuditEventRecord | null> {
  // Ids are UUIDs; anything else names no event, and must not reach a uuid column.
  if (!EVENT_ID.test(id)) return null;
  const normalized = id.toLowerCase();
  return (await store.getEvent(normalized)) ?? (await store.getArchivedEvent(normalized));
}

/**
 * Answers one read request on the routes of API.md, after `authorize` allowed it.
 * Bad parameters throw {@link AuditQueryError}, which the adapters answer with 400.
 */
export async function answerRead(route: ReadRoute, request: ReadRequest, configuredStore: AuditStore | undefined, key: CursorKey): Promise<ReadResponse> {
  const search = searchOf(request.originalUrl);
  if (typeof route === "object") {
    const store = readableStore(configuredStore, () => getAuditConfig().store);
    const event = await findById(store, route.id);
    return event === null ? { status: 404, json: { error: `No event with id ${JSON.stringify(route.id.slice(0, 60))}.` } } : { status: 200, json: event };
  }
  const { query, limit, format } = parseHttpQuery(search, { format: route === "export" });
  const { cursor, ...filters } = query;
  const prepared = prepareQuery(configuredStore === undefined ? filters : { ...filters, store: configuredStore });
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
      return {
        status: 200,
        contentType: EXPORT_CONTENT_TYPES[checked],
        attachment: `audit-events.${checked}`,
        write: (out) => exportPrepared(prepared, checked, out),
      };
    }
  }
}

/**
 * Records that a request was refused the audit trail, through `context`: the
 * adapters pass the request's own audit context when `auditEvents()` gave it one
 * (so the event carries the user and IP the app resolves), else a new one holding
 * the request's URL, method, IP and user, writing to the router's store.
 */
export async function recordDenial(context: AuditContext, request: ReadRequest): Promise<void> {
  const path = request.originalUrl.split("?")[0]!;
  await context.createEvent({ contentType: "AuditTrail", objectId: path }, { action: "audit-read-denied", route: `${request.method} ${request.path}` });
}
