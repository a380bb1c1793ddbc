import { InvalidArgumentError, Option, type Command } from "commander";

import type { AuditQuery } from "../query/audit-query";
import type { ContentValue } from "../model/event-filter";
import { AuditQueryError } from "../query/query-error";
import { parseContentValue, parseIsoMoment } from "../query/query-text";

/** The filter options every read command takes, as commander parses them. */
export interface QueryCommandOptions {
  contentType?: string;
  objectId?: string;
  user?: string;
  method?: string;
  remoteAddr?: string;
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

function contentPair(text: string, previous: Array<[string, ContentValue]> = []): Array<[string, ContentValue]> {
  const at = text.indexOf("=");
  if (at <= 0) throw new InvalidArgumentError('Give a top-level content key and a value, such as action=refund or amount=42 (quote "42" to match the string).');
  return [...previous, [text.slice(0, at), parseContentValue(text.slice(at + 1))]];
}

/**
 * Adds the filter options of `AuditQuery` to a read command: `--content-type`,
 * `--object-id`, `--user`, `--method`, `--remote-addr`, `--since`, `--until`,
 * `--content key=value` (repeatable), `--search` and `--source`.
 *
 * @example
 * ```ts
 * addQueryOptions(program.command("list"));
 * ```
 */
export function addQueryOptions(command: Command): Command {
  return command
    .option("--content-type <type>", "events about objects of this type, e.g. Order")
    .option("--object-id <id>", "events about the object with this id (with --content-type: one object's history)")
    .option("--user <id>", "events of this user id")
    .option("--method <method>", "events of requests with this HTTP method, e.g. POST")
    .option("--remote-addr <ip>", "events from this client IP")
    .option("--since <when>", "events at or after this ISO 8601 date or date-time with zone, e.g. 2026-01-31 or 2026-01-31T12:00:00Z", moment("--since"))
    .option("--until <when>", "events before this ISO 8601 date or date-time with zone", moment("--until"))
    .option("--content <key=value>", "events whose content has this top-level key and value; repeat for more (numbers and true/false match as JSON; quote \"42\" for text)", contentPair)
    .option("--search <text>", "events with this text in any string value of their content, ignoring case")
    .addOption(new Option("--source <source>", "the live table, the archive, or both").choices(["live", "archive", "all"]).default("live"));
}

/** The query the options describe. */
export function queryFromOptions(options: QueryCommandOptions): AuditQuery {
  const query: AuditQuery = {};
  if (options.contentType !== undefined) query.contentType = options.contentType;
  if (options.objectId !== undefined) query.objectId = options.objectId;
  if (options.user !== undefined) query.userId = options.user;
  if (options.method !== undefined) query.method = options.method;
  if (options.remoteAddr !== undefined) query.remoteAddr = options.remoteAddr;
  if (options.since !== undefined) query.since = options.since;
  if (options.until !== undefined) query.until = options.until;
  if (options.content !== undefined) query.content = Object.fromEntries(options.content);
  if (options.search !== undefined) query.search = options.search;
  if (options.source !== undefined) query.source = options.source;
  return query;
}
