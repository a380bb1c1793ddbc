import { AuditConfigError } from "../errors";
import { EVENT_FIELDS, type AuditEventRecord } from "../model/event-record";

/** A tag check, not instanceof: a Date from another realm (structuredClone under a vm, as memoryStore copies) is a Date too. */
const isDate = (value: unknown): value is Date => Object.prototype.toString.call(value) === "[object Date]";

/** The `source` of {@link toCloudEvent} when none is given: a URI-reference naming this library. */
export const DEFAULT_CLOUD_EVENT_SOURCE = "audit-events";

/** The prefix of every CloudEvents `type` {@link toCloudEvent} writes. */
export const CLOUD_EVENT_TYPE_PREFIX = "audit-events";

/** Options of {@link toCloudEvent}. */
export interface CloudEventOptions {
  /**
   * The CloudEvents `source`: a non-empty URI-reference (RFC 3986) naming the context the
   * events happened in, such as your application (`"https://orders.example.com"`,
   * `"/orders-service"`, `"urn:example:orders"`). Ids are UUID v7, so `source` + `id`
   * is unique however many applications share one source.
   * @default "audit-events"
   */
  source?: string;
}

/** An audit event as a CloudEvents 1.0 event in the JSON format (structured mode). */
export interface AuditCloudEvent {
  specversion: "1.0";
  /** The event's id. */
  id: string;
  source: string;
  /** `"audit-events"`, or `"audit-events.<action>"` for an event with an action. */
  type: string;
  /** `"<contentType>/<objectId>"`, a `/` or `%` inside contentType percent-encoded. */
  subject: string;
  /** The event's timestamp, RFC 3339 in UTC to the millisecond. */
  time: string;
  datacontenttype: "application/json";
  /** The stored event: every field of `EVENT_FIELDS`, the timestamp as its ISO text. */
  data: Record<string, unknown>;
  /** Extension: the event's outcome. */
  outcome: string;
  /** Extension: the event's severity. */
  severity: string;
  /** Extension, when the event has one: its action. */
  action?: string;
  /** Extension, when the event has one: its tenant. */
  tenantid?: string;
  /** Extension, when the event has one: its request id. */
  requestid?: string;
}

/**
 * A character CloudEvents' String type forbids (control characters, lone surrogates,
 * noncharacters), or `%` itself, so that escaping stays reversible; `extra` adds more.
 */
const FORBIDDEN = /[\p{Cc}\p{Cs}\p{Noncharacter_Code_Point}%]/gu;

/**
 * A string as a CloudEvents String attribute value: each forbidden character (and `%`,
 * and the characters of `extra`) percent-encoded as its UTF-8 bytes, a lone surrogate
 * as U+FFFD's; the exact value stays in `data`.
 */
function attributeText(value: string, extra?: RegExp): string {
  const encode = (char: string) => {
    const bytes = Buffer.from(char.length === 1 && char >= "\ud800" && char <= "\udfff" ? "\ufffd" : char, "utf8");
    return [...bytes].map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, "0")}`).join("");
  };
  const escaped = value.replace(FORBIDDEN, encode);
  return extra === undefined ? escaped : escaped.replace(extra, encode);
}

/** RFC 3986's URI-reference: its characters, each `%` starting an escape. */
const URI_REFERENCE = /^(?:[A-Za-z0-9\-._~:/?#[\]@!$&'()*+,;=]|%[0-9A-Fa-f]{2})+$/;

/**
 * Checks a CloudEvents `source`: undefined gives the default.
 *
 * @throws {AuditConfigError} `ERR_AUDIT_CONFIG` for one that is not a non-empty URI-reference.
 */
export function checkCloudEventSource(source: unknown): string {
  if (source === undefined) return DEFAULT_CLOUD_EVENT_SOURCE;
  if (typeof source !== "string" || !URI_REFERENCE.test(source)) {
    throw new AuditConfigError(
      `toCloudEvent(): source must be a non-empty URI-reference (RFC 3986: no spaces, other characters percent-encoded), got ${JSON.stringify(source)?.slice(0, 80)}. For example: { source: "https://orders.example.com" } or { source: "/orders-service" }.`,
    );
  }
  return source;
}

/**
 * The event as a CloudEvents 1.0 event in the JSON event format (structured mode: the
 * whole event in one JSON object, media type `application/cloudevents+json`), after
 * mobius-auditlog's envelope:
 * - `id`: the event id (UUID v7); `source`: `opts.source`, default `"audit-events"`;
 *   `time`: its timestamp (RFC 3339, UTC, milliseconds);
 * - `type`: `"audit-events.<action>"` (e.g. `"audit-events.order.refund"`), or
 *   `"audit-events"` for an event without an action, so a consumer can route on it;
 * - `subject`: `"<contentType>/<objectId>"` (e.g. `"Order/42"`);
 * - `datacontenttype` `"application/json"`, and `data`: the stored event, every field
 *   (the chain fields too), so `verifySeal(cloudEvent.data, seal, key)` checks it;
 * - extension attributes (lower-case letters only, at most 20, as the spec asks):
 *   `outcome` and `severity` always, `action`, `tenantid` and `requestid` when set
 *   (unset ones are left out, as the JSON format prefers to null).
 *
 * Context attribute values are CloudEvents Strings: a character the spec forbids there
 * (a control character, a lone surrogate, a noncharacter) and `%` are percent-encoded
 * (`"a\nb"` → `"a%0Ab"`); `data` keeps every value exactly.
 *
 * @example
 * ```ts
 * toCloudEvent(record, { source: "https://orders.example.com" });
 * // { specversion: "1.0", id: "0193…", source: "https://orders.example.com", type: "audit-events.order.refund",
 * //   subject: "Order/42", time: "2026-12-01T10:00:00.000Z", datacontenttype: "application/json",
 * //   outcome: "success", severity: "info", action: "order.refund", data: { id: "0193…", … } }
 * ```
 * @throws {AuditConfigError} `ERR_AUDIT_CONFIG` for a `source` that is not a non-empty URI-reference.
 */
export function toCloudEvent(record: AuditEventRecord, opts?: CloudEventOptions): AuditCloudEvent {
  const source = checkCloudEventSource(opts?.source);
  const data: Record<string, unknown> = {};
  for (const field of EVENT_FIELDS) {
    const value = (record as unknown as Record<string, unknown>)[field];
    data[field] = isDate(value) ? value.toISOString() : (value ?? null);
  }
  const time = isDate(record.timestamp) ? record.timestamp.toISOString() : new Date(record.timestamp).toISOString();
  const event: AuditCloudEvent = {
    specversion: "1.0",
    id: attributeText(record.id),
    source,
    type: record.action == null ? CLOUD_EVENT_TYPE_PREFIX : `${CLOUD_EVENT_TYPE_PREFIX}.${attributeText(record.action)}`,
    subject: `${attributeText(record.contentType, /\//g)}/${attributeText(record.objectId)}`,
    time,
    datacontenttype: "application/json",
    outcome: attributeText(record.outcome),
    severity: attributeText(record.severity),
    data,
  };
  if (record.action != null) event.action = attributeText(record.action);
  if (record.tenantId != null) event.tenantid = attributeText(record.tenantId);
  if (record.requestId != null) event.requestid = attributeText(record.requestId);
  return event;
}
