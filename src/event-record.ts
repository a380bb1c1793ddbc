import { v7 as uuidv7 } from "uuid";
import type { JsonObject } from "./json";

/** One stored audit event: a row of the `audit_events` table. */
export interface AuditEventRecord {
  /** UUID v7: time-ordered, generated in the library before the event leaves the process. */
  id: string;
  /** When the event was created; the same millisecond as the one in `id`. */
  timestamp: Date;
  /** Which kind of object the event is about, e.g. `"Order"`. */
  contentType: string;
  /** The object's id, as a string. */
  objectId: string;
  /** `{ ...extraData, ...fieldValues, ...content }`, as JSON. */
  content: JsonObject;
  /** The acting user's id, or null. */
  userId: string | null;
  /** The absolute request URL with its query string, masked keys reading `MASK`. */
  url: string | null;
  /** The HTTP method. */
  method: string | null;
  /** The client IP. */
  remoteAddr: string | null;
  /** The parsed query string when `includeQueryParams` is on, masked; else `{}`. */
  queryParams: JsonObject;
  /** The parsed body when `includePostData` is on, masked and size-capped; else `{}`. */
  postData: JsonObject;
  /** The whitelisted request headers; else `{}`. */
  headers: JsonObject;
}

/** An event in the archive table: the same fields, plus when it was archived. */
export interface ArchivedAuditEventRecord extends AuditEventRecord {
  archivedAt: Date;
}

/** The names of the stored fields, in column order. */
export const EVENT_FIELDS = [
  "id",
  "timestamp",
  "contentType",
  "objectId",
  "content",
  "userId",
  "url",
  "method",
  "remoteAddr",
  "queryParams",
  "postData",
  "headers",
] as const satisfies readonly (keyof AuditEventRecord)[];

/**
 * A new event id and its timestamp. The uuid package keeps ids strictly increasing
 * within a process, even within one millisecond; the timestamp is read back from
 * the id so that the two never disagree.
 */
export function newEventIdentity(): { id: string; timestamp: Date } {
  const id = uuidv7();
  const millis = parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
  return { id, timestamp: new Date(millis) };
}
