import http from "node:http";

import express from "express";
import Koa from "koa";
import request from "supertest";
import { parse } from "csv-parse/sync";

import { AuditContext, auditRouter, closeAudit, configureAudit, koaAuditRouter, memoryStore, prismaStore, toCloudEvent, type AuditEventRecord, type AuditStore } from "../../src";
import { EVENT_FIELDS } from "../../src/model/event-record";
import { openDatabase, providers, type TestDatabase } from "../support/databases";
import { byPosition } from "../support/read-fixtures";

const KEY = "an integrity key of 32 characters!";
const COUNT = 12;

function expressApp(store: AuditStore): http.Server {
  const app = express();
  app.use("/audit", auditRouter({ store, authorize: () => true }));
  return http.createServer(app);
}

function koaApp(store: AuditStore): http.Server {
  const app = new Koa();
  app.silent = true;
  app.use(koaAuditRouter({ prefix: "/audit", store, authorize: () => true }));
  return http.createServer(app.callback());
}

/** The whole body as text, whatever its content type (CSV included). */
const asText = (res: request.Response, callback: (error: Error | null, body: string) => void) => {
  let text = "";
  (res as unknown as http.IncomingMessage).on("data", (chunk: Buffer) => (text += chunk.toString("utf8")));
  (res as unknown as http.IncomingMessage).on("end", () => callback(null, text));
};

/** A stored row as the model gives it: what the router must answer, read past every read path of the library. */
type RowReader = () => Promise<Array<Record<string, unknown>>>;

const asJson = (value: unknown) => JSON.parse(JSON.stringify(value));

const subjects: Array<[string, () => Promise<{ store: AuditStore; rows: RowReader; close(): Promise<void> }>]> = [
  [
    "memory",
    async () => {
      const store = memoryStore();
      const rows: RowReader = async () => [...store.list(), ...store.listArchived()] as unknown as Array<Record<string, unknown>>;
      return { store, rows, close: async () => undefined };
    },
  ],
  ...providers.map((provider): [string, () => Promise<{ store: AuditStore; rows: RowReader; close(): Promise<void> }>] => [
    provider,
    async () => {
      const db: TestDatabase = await openDatabase(provider, { name: `router_integrity_${provider}` });
      const client = db.prisma as unknown as Record<"auditEvent" | "archivedAuditEvent", { findMany(): Promise<Array<Record<string, unknown>>> }>;
      // Prisma reads seq, a BigInt column, as a bigint: the model's type is a number.
      const rows: RowReader = async () => [...(await client.auditEvent.findMany()), ...(await client.archivedAuditEvent.findMany())].map((row) => ({ ...row, seq: Number(row.seq) }));
      return { store: prismaStore(db.prisma), rows, close: () => db.close() };
    },
  ]),
];

describe.each(subjects)("the audit router over chained events (integrity on), %s store", (_name, open) => {
  let subject: Awaited<ReturnType<typeof open>>;
  /** Every event as stored, oldest first; the two oldest archived. */
  let stored: AuditEventRecord[];
  let archivedIds: Set<string>;

  beforeAll(async () => {
    subject = await open();
    configureAudit({ store: subject.store, integrity: { key: KEY } });
    const context = new AuditContext({ user: "user-1" });
    for (let i = 0; i < COUNT; i++) await context.createEvent({ contentType: "Order", objectId: i % 4 }, { amount: i, note: `=cmd ${i}` }, { action: "order.refund" });
    await closeAudit();
    expect((await subject.store.archiveBatch(new Date(Date.now() + 1000), 2)).moved).toBe(2);
    const rows = await subject.rows();
    archivedIds = new Set(rows.filter((row) => row.archivedAt !== undefined).map((row) => row.id as string));
    stored = rows.map((row) => Object.fromEntries(EVENT_FIELDS.map((field) => [field, row[field]])) as unknown as AuditEventRecord).sort(byPosition);
    expect(stored).toHaveLength(COUNT);
    expect(stored.every((event) => event.chainId !== null && typeof event.seq === "number" && event.hash !== null)).toBe(true);
    expect(archivedIds.size).toBe(2);
  }, 60_000);
  afterAll(async () => {
    configureAudit({});
    await subject?.close();
  });

  describe.each([
    ["Express", expressApp],
    ["Koa", koaApp],
  ] as const)("%s", (_framework, makeApp) => {
    let server: http.Server;
    beforeAll(() => {
      server = makeApp(subject.store);
    });

    it("answers GET /events with the chained events, seq a number", async () => {
      const res = await request(server).get("/audit/events?order=asc&source=all&limit=100").expect(200);
      expect(res.body.events).toEqual(asJson(stored));
      expect(res.body.events.map((e: AuditEventRecord) => typeof e.seq)).toEqual(stored.map(() => "number"));
      const live = await request(server).get("/audit/events?limit=3").expect(200);
      expect(live.body.events).toEqual(asJson(stored.filter((e) => !archivedIds.has(e.id)).reverse().slice(0, 3)));
    });

    it("answers GET /events/:id with a chained event, live or archived", async () => {
      for (const event of stored) {
        const res = await request(server).get(`/audit/events/${event.id}`).expect(200);
        expect(res.body).toEqual(archivedIds.has(event.id) ? { ...asJson(event), archivedAt: expect.any(String) } : asJson(event));
      }
    });

    it.each(["ndjson", "json", "csv", "cloudevents"])("exports them whole as %s", async (format) => {
      const res = await request(server).get(`/audit/events/export?format=${format}&source=all&order=asc`).buffer(true).parse(asText).expect(200);
      const text = res.body as string;
      switch (format) {
        case "json":
          expect(JSON.parse(text)).toEqual(asJson(stored));
          break;
        case "ndjson":
          expect(text.trimEnd().split("\n").map((line) => JSON.parse(line))).toEqual(asJson(stored));
          break;
        case "cloudevents":
          expect(text.trimEnd().split("\n").map((line) => JSON.parse(line))).toEqual(asJson(stored.map((e) => toCloudEvent(e))));
          break;
        case "csv": {
          const [header, ...rows] = parse(text) as string[][];
          expect(header).toEqual([...EVENT_FIELDS]);
          expect(rows.map((row) => [row[0], row[header!.indexOf("seq")], row[header!.indexOf("chainId")]])).toEqual(stored.map((e) => [e.id, String(e.seq), e.chainId]));
          break;
        }
      }
    });
  });
});
