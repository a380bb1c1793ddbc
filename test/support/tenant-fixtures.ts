import http from "node:http";

import express from "express";
import Koa from "koa";
import request from "supertest";
import { parse } from "csv-parse/sync";
import { v7 as uuidv7 } from "uuid";

import { auditRouter, koaAuditRouter, type AuditEventRecord, type AuditStore, type AuthorizeResult } from "../../src";
import { EVENT_OUTCOMES, EVENT_SEVERITIES } from "../../src/model/event-record";

/** Helpers of the tenancy tests: two tenants' events that look alike, and routers that read them. */

export const TENANT_BASE = Date.UTC(2026, 6, 1);
const HOUR = 3_600_000;
/** Events before this are archived by {@link archiveOlder}. */
export const TENANT_ARCHIVE_BEFORE = new Date(TENANT_BASE - 20 * 24 * HOUR);

export const TENANT_CONTENT_TYPES = ["Order", "Invoice", "order"];
export const TENANT_ACTIONS = ["order.refund", "user.login", "invoice.pay"];
/** The tenants of {@link tenantEvents}, in turn. */
const TENANT_IDS = ["A", "B", "a", null, "A "];

/**
 * `count` events over the 40 days before {@link TENANT_BASE}: tenants A, B, "a" (A in
 * another case), none and "A " (A with a trailing space, which MySQL's collations take for
 * A), in turn, with the same content types, object ids, users,
 * actions, outcomes, severities, request ids, methods and content, so that every filter
 * value finds events of B as well as of A. Every seventh event shares its millisecond
 * with the one before, across tenants.
 */
export function tenantEvents(count: number): AuditEventRecord[] {
  let previous = TENANT_BASE;
  return Array.from({ length: count }, (_, i) => {
    const millis = i % 7 === 6 ? previous : TENANT_BASE - 40 * 24 * HOUR + Math.floor(((i * 7919) % count) * ((40 * 24 * HOUR) / count));
    previous = millis;
    const group = Math.floor(i / 4);
    return {
      id: uuidv7({ msecs: millis }),
      timestamp: new Date(millis),
      contentType: TENANT_CONTENT_TYPES[group % 3]!,
      objectId: `o${group % 7}`,
      content: { action: TENANT_ACTIONS[group % 3]!, amount: group % 10, note: group % 5 === 0 ? "Broken HINGE" : "ok" },
      userId: group % 6 === 5 ? null : `user-${group % 5}`,
      url: `https://shop.example/orders/${group % 7}`,
      method: ["GET", "POST", null][group % 3]!,
      remoteAddr: "198.51.100.7",
      queryParams: {},
      postData: {},
      headers: {},
      action: group % 4 === 3 ? null : TENANT_ACTIONS[group % 3]!,
      outcome: EVENT_OUTCOMES[group % 3]!,
      severity: EVENT_SEVERITIES[group % 5]!,
      tenantId: TENANT_IDS[i % TENANT_IDS.length]!,
      requestId: `req-${group % 9}`,
      chainId: null,
      seq: null,
      prevHash: null,
      hash: null,
    };
  });
}

/** Moves every event older than {@link TENANT_ARCHIVE_BEFORE} into the archive. */
export async function archiveOlder(store: AuditStore): Promise<number> {
  let moved = 0;
  for (;;) {
    const batch = await store.archiveBatch(TENANT_ARCHIVE_BEFORE, 1000);
    moved += batch.moved;
    if (batch.moved === 0) return moved;
  }
}

export const CURSOR_SECRET = "tenancy test: a cursor secret of 32+ characters";

/**
 * What the test apps' `authorize` answers for the `x-reader` header: a tenant's grant
 * (`tenant:A`), the whole trail (`auditor`), a refusal (none), or one of the malformed
 * answers that must fail closed.
 */
export function answerFor(reader: string | undefined): AuthorizeResult {
  if (reader === undefined || reader === "") return false;
  if (reader === "auditor") return true;
  if (reader.startsWith("tenant:")) return { tenantId: reader.slice("tenant:".length) };
  const malformed: Record<string, unknown> = {
    "empty-tenant": { tenantId: "" },
    "number-tenant": { tenantId: 5 },
    "user-object": { id: "u1", tenantId: "A" },
    "one": 1,
    "yes": "yes",
    "list": ["A"],
    "tenant-key": { tenant: "A" },
    "control-tenant": { tenantId: "A\u0000" },
  };
  if (reader in malformed) return malformed[reader] as AuthorizeResult;
  return false;
}

/** An Express app serving the router under /audit. */
export function expressTenantApp(store: AuditStore): http.Server {
  const app = express();
  app.use("/audit", auditRouter({ store, cursorSecret: CURSOR_SECRET, authorize: (req) => answerFor(req.headers["x-reader"] as string | undefined) }));
  return http.createServer(app);
}

/** A Koa app serving the router under /audit. */
export function koaTenantApp(store: AuditStore): http.Server {
  const app = new Koa();
  app.silent = true;
  app.use(koaAuditRouter({ prefix: "/audit", store, cursorSecret: CURSOR_SECRET, authorize: async (ctx) => answerFor(ctx.req.headers["x-reader"] as string | undefined) }));
  return http.createServer(app.callback());
}

/** What a GET of the router answered, with the events in it whatever the route and format. */
export interface RouterAnswer {
  status: number;
  body: unknown;
  text: string;
  /** The events the answer holds: a page's, an export's (any format), the one of `/events/:id`. */
  events: Array<Pick<AuditEventRecord, "id" | "tenantId">>;
}

/** GETs `path` as `reader` and reads the events out of the answer, whatever its route and format. */
export async function getAs(server: http.Server, reader: string, path: string): Promise<RouterAnswer> {
  const res = await request(server)
    .get(path)
    .set("x-reader", reader)
    .buffer(true)
    .parse((stream, callback) => {
      let text = "";
      stream.on("data", (chunk: Buffer) => (text += chunk.toString("utf8")));
      stream.on("end", () => callback(null, text));
    });
  const text = res.body as string;
  const type = String(res.headers["content-type"] ?? "");
  const body: unknown = type.startsWith("application/json") && text !== "" ? JSON.parse(text) : text;
  let events: RouterAnswer["events"] = [];
  if (res.status === 200) {
    if (type.startsWith("application/x-ndjson")) events = text.split("\n").filter(Boolean).map((line) => JSON.parse(line));
    else if (type.startsWith("text/csv")) {
      const [header, ...rows] = parse(text) as string[][];
      const id = header!.indexOf("id");
      const tenant = header!.indexOf("tenantId");
      events = rows.map((row) => ({ id: row[id]!, tenantId: row[tenant] === "" ? null : row[tenant]! }));
    } else if (Array.isArray(body)) events = body;
    else if (typeof body === "object" && body !== null && Array.isArray((body as { events?: unknown }).events)) events = (body as { events: RouterAnswer["events"] }).events;
    else if (typeof body === "object" && body !== null && typeof (body as { id?: unknown }).id === "string") events = [body as AuditEventRecord];
  }
  return { status: res.status, body, text, events };
}
