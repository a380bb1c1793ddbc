import { InvalidArgumentError, Option, type Command } from "commander";

import type { AuditQuery } from "../query/audit-query";
import type { ContentValue } from "../model/event-filter";
import { EVENT_OUTCOMES, EVENT_SEVERITIES, type EventOutcome, type EventSeverity } from "../model/event-record";
import { storedTenantId } from "../query/parse-query";
import { AuditQueryError } from "../query/query-error";
import { tenantScopedStore } from "../query/tenant-scope";
import type { AuditStore } from "../stores/store";
import { parseContentValue, parseIsoMoment } from "../query/query-text";

/** The filter options every read command takes, as commander parses them. */
export interface QueryCommandOptions {
  contentType?: string;
  objectId?: string;
  user?: string;
  method?: string;
  remoteAddr?: string;
  action?: string;
  outcome?: EventOutcome;
  severity?: EventSeverity;
  /** The one tenant every read of the command is limited to. */
  tenant?: string;
  requestId?: string;
  since?: Date;
  until?: Date;
  content?: Array<[string, ContentValue]>;
  search?: string;
  source?: "live" | "archive" | "all";
}

function moment(name: string) {
  return (text: string): Date => {
    try {
      return parseIsoMoment(name, text);
    } catch (error) {
      throw new InvalidArgumentError((error as AuditQueryError).message);
    }
  };
}

/**
 * A parser of an option that may be given once: a second `--tenant` (say, from the
 * arguments a wrapper script passes on after its own) is a usage error, never the value
 * that silently wins.
 */
function once<T>(flag: string, parse: (text: string) => T = (text) => text as T) {
  return (text: string, previous: T | undefined): T => {
    if (previous !== undefined) throw new InvalidArgumentError(`${flag} was given twice; give it once.`);
    return parse(text);
  };
}

/** Checks a tenant id when the options are parsed, so a bad one is a usage error (exit 2), not a config one. */
function tenantId(text: string): string {
  try {
    storedTenantId(text);
  } catch (error) {
    throw new InvalidArgumentError((error as AuditQueryError).message);
  }
  return text;
}

function contentPair(text: string, previous: Array<[string, ContentValue]> = []): Array<[string, ContentValue]> {
  const at = text.indexOf("=");
  if (at <= 0) throw new InvalidArgumentError('Give a top-level content key and a value, such as action=refund or amount=42 (quote "42" to match the string).');
  return [...previous, [text.slice(0, at), parseContentValue(text.slice(at + 1))]];
}

/**
 * Adds the filter options of `AuditQuery` to a read command: `--content-type`,
 * `--object-id`, `--user`, `--method`, `--remote-addr`, `--action`, `--outcome`,
 * `--severity`, `--tenant`, `--request-id`, `--since`, `--until`, `--content key=value`
 * (repeatable), `--search` and `--source`. `--tenant` limits every read of the command
 * to that tenant's events (see {@link readQueryOf}).
 *
 * @example
 * ```ts
 * addQueryOptions(program.command("list"));
 * ```
 */
export function addQueryOptions(command: Command): Command {
  return command
    .option("--content-type <type>", "events about objects of this type, e.g. Order", once("--content-type"))
    .option("--object-id <id>", "events about the object with this id (with --content-type: one object's history)", once("--object-id"))
    .option("--user <id>", "events of this user id", once("--user"))
    .option("--method <method>", "events of requests with this HTTP method, e.g. POST", once("--method"))
    .option("--remote-addr <ip>", "events from this client IP", once("--remote-addr"))
    .option("--action <action>", "events with this action, e.g. order.refund", once("--action"))
    .addOption(new Option("--outcome <outcome>", "events with this outcome").choices(EVENT_OUTCOMES))
    .addOption(new Option("--severity <severity>", "events of exactly this severity").choices(EVENT_SEVERITIES))
    .option("--tenant <id>", "read this tenant's events only: every list, export and count is limited to it", once("--tenant", tenantId))
    .option("--request-id <id>", "events created in the request with this id", once("--request-id"))
    .option("--since <when>", "events at or after this ISO 8601 date or date-time with zone, e.g. 2026-01-31 or 2026-01-31T12:00:00Z", once("--since", moment("--since")))
    .option("--until <when>", "events before this ISO 8601 date or date-time with zone", once("--until", moment("--until")))
    .option("--content <key=value>", "events whose content has this top-level key and value; repeat for more (numbers and true/false match as JSON; quote \"42\" for text)", contentPair)
    .option("--search <text>", "events with this text in any string value of their content, ignoring case", once("--search"))
    .addOption(new Option("--source <source>", "the live table, the archive, or both").choices(["live", "archive", "all"]).default("live"));
}

/**
 * The query the options describe and the store to read it from: with `--tenant`, a view
 * of `store` that holds that tenant's events only (`tenantScopedStore`), and the tenant
 * in the filter, so `list`'s cursors read on for that tenant alone.
 *
 * @example
 * ```ts
 * const { events } = await findPage({ ...readQueryOf(options, store), limit: 20 }, cursorKey);
 * ```
 */
export function readQueryOf(options: QueryCommandOptions, store: AuditStore): AuditQuery & { store: AuditStore } {
  return { ...queryFromOptions(options), store: options.tenant === undefined ? store : tenantScopedStore(store, options.tenant) };
}

/** The query the options describe. */
export function queryFromOptions(options: QueryCommandOptions): AuditQuery {
  const query: AuditQuery = {};
  if (options.contentType !== undefined) query.contentType = options.contentType;
  if (options.objectId !== undefined) query.objectId = options.objectId;
  if (options.user !== undefined) query.userId = options.user;
  if (options.method !== undefined) query.method = options.method;
  if (options.remoteAddr !== undefined) query.remoteAddr = options.remoteAddr;
  if (options.action !== undefined) query.action = options.action;
  if (options.outcome !== undefined) query.outcome = options.outcome;
  if (options.severity !== undefined) query.severity = options.severity;
  if (options.tenant !== undefined) query.tenantId = options.tenant;
  if (options.requestId !== undefined) query.requestId = options.requestId;
  if (options.since !== undefined) query.since = options.since;
  if (options.until !== undefined) query.until = options.until;
  if (options.content !== undefined) query.content = Object.fromEntries(options.content);
  if (options.search !== undefined) query.search = options.search;
  if (options.source !== undefined) query.source = options.source;
  return query;
}
