import http from "node:http";

import express from "express";
import Koa from "koa";
import request from "supertest";
import { parse } from "csv-parse/sync";

import {
  auditEvents,
  auditRouter,
  configureAudit,
  countEvents,
  findEvents,
  koaAuditEvents,
  koaAuditRouter,
  memoryStore,
  prismaStore,
  type AuditEventRecord,
  type AuditStore,
} from "../../src";
import { openDatabase, providers, type TestDatabase } from "../support/databases";
import { byPosition, insertAll, manyEvents } from "../support/read-fixtures";

const COUNT = 10_200;

type User = { id: string; role: string };

/** Stands in for the app's authentication: `x-user: alice:auditor`. */
function userOf(header: string | string[] | undefined): User | undefined {
  if (typeof header !== "string") return undefined;
  const [id, role] = header.split(":");
  return { id: id!, role: role ?? "" };
}

function expressApp(store: AuditStore): http.Server {
  const app = express();
  app.use(auditEvents());
  app.use((req, _res, next) => {
    (req as unknown as { user?: User }).user = userOf(req.headers["x-user"]);
    next();
  });
  app.use("/audit", auditRouter({ store, authorize: (req) => (req.user as User | undefined)?.role === "auditor" }));
  return http.createServer(app);
}

function koaApp(store: AuditStore): http.Server {
  const app = new Koa();
  app.silent = true;
  app.use(koaAuditEvents());
  app.use(async (ctx, next) => {
    ctx.state.user = userOf(ctx.headers["x-user"]);
    await next();
  });
  app.use(koaAuditRouter({ prefix: "/audit", store, authorize: async (ctx) => (ctx.state.user as User | undefined)?.role === "auditor" }));
  return http.createServer(app.callback());
}

const AUDITOR = { "x-user": "alice:auditor" };

describe("creating the router", () => {
  it("is refused without authorize, naming the fix", () => {
    for (const create of [() => auditRouter(undefined as never), () => auditRouter({} as never), () => koaAuditRouter({ store: undefined } as never)]) {
      expect(create).toThrow(expect.objectContaining({ name: "AuditConfigError", code: "ERR_AUDIT_CONFIG", message: expect.stringContaining("authorize") }));
    }
  });

  it("is refused with an unknown option or a bad prefix", () => {
    expect(() => auditRouter({ authorize: () => true, authorise: true } as never)).toThrow(/unknown option "authorise"/);
    expect(() => koaAuditRouter({ authorize: () => true, prefix: "audit" })).toThrow(/prefix must be a path/);
  });
});

describe.each(providers)("the audit router on %s", (provider) => {
  let db: TestDatabase;
  let store: AuditStore;
  let events: AuditEventRecord[];

  beforeAll(async () => {
    db = await openDatabase(provider, { name: `router_${provider}` });
    store = prismaStore(db.prisma);
    events = manyEvents(COUNT, 11);
    await insertAll(store, events);
  }, 120_000);
  afterAll(async () => {
    await db?.close();
  });
  beforeEach(() => configureAudit({ store }));

  describe.each([
    ["Express", expressApp],
    ["Koa", koaApp],
  ] as const)("%s", (_framework, makeApp) => {
    let server: http.Server;
    beforeAll(() => {
      server = makeApp(store);
    });

    it("answers GET /events with the newest 50 events, a cursor and a next link", async () => {
      const res = await request(server).get("/audit/events").set(AUDITOR).expect(200);
      const newest = [...events].sort(byPosition).reverse().slice(0, 50);
      expect(res.body.events).toEqual(JSON.parse(JSON.stringify(newest)));
      expect(res.body.nextCursor).toEqual(expect.any(String));
      expect(res.body.next).toBe(`/audit/events?cursor=${res.body.nextCursor}`);
    });

    it("follows next links to a deep page, visiting each matching event once", async () => {
      const expected = events.filter((e) => e.userId !== null && e.userId.startsWith("user-1")).length;
      expect(expected).toBeGreaterThan(0);
      const all = [...events].sort(byPosition).map((e) => e.id);
      const seen: string[] = [];
      let next: string | null = "/audit/events?order=asc&limit=500";
      let pages = 0;
      while (next) {
        const res: request.Response = await request(server).get(next).set(AUDITOR).expect(200);
        seen.push(...res.body.events.map((e: AuditEventRecord) => e.id));
        next = res.body.next;
        pages++;
      }
      expect(pages).toBe(Math.ceil(COUNT / 500));
      expect(seen).toEqual(all);
    });

    it("filters by query parameters: columns, ISO times and typed content values", async () => {
      const since = "2026-05-20T00:00:00Z";
      const res = await request(server)
        .get(`/audit/events?userId=user-3&since=${since}&until=2026-06-01&content.vip=true&content.action=refund&limit=500`)
        .set(AUDITOR)
        .expect(200);
      const expected = events
        .filter((e) => e.userId === "user-3" && e.timestamp >= new Date(since) && e.timestamp < new Date("2026-06-01") && e.content.vip === true && e.content.action === "refund")
        .sort(byPosition)
        .reverse();
      expect(res.body.events.map((e: AuditEventRecord) => e.id)).toEqual(expected.map((e) => e.id));
      const amount = await request(server).get("/audit/events?content.amount=42&limit=500").set(AUDITOR).expect(200);
      expect(amount.body.events).toHaveLength(events.filter((e) => e.content.amount === 42).length);
      const quoted = await request(server).get('/audit/events?content.amount="42"').set(AUDITOR).expect(200);
      expect(quoted.body.events).toEqual([]);
    });

    it("answers GET /events/:id with the event, from the archive too, or 404", async () => {
      const target = events[1234]!;
      expect((await request(server).get(`/audit/events/${target.id}`).set(AUDITOR).expect(200)).body).toEqual(JSON.parse(JSON.stringify(target)));
      await request(server).get("/audit/events/01970000-0000-7000-8000-000000000000").set(AUDITOR).expect(404);
      await request(server).get("/audit/events/not-an-id").set(AUDITOR).expect(404);
      await request(server).get("/audit/events/%E0%A4%A").set(AUDITOR).expect(404);
    });

    it("streams GET /events/export as NDJSON, CSV and JSON with their content types", async () => {
      const expected = events.filter((e) => e.contentType === "Invoice").length;
      const ndjson = await request(server).get("/audit/events/export?format=ndjson&contentType=Invoice").set(AUDITOR).expect(200);
      expect(ndjson.headers["content-type"]).toBe("application/x-ndjson; charset=utf-8");
      expect(ndjson.headers["content-disposition"]).toBe('attachment; filename="audit-events.ndjson"');
      expect(ndjson.text.trimEnd().split("\n")).toHaveLength(expected);
      const csv = await request(server).get("/audit/events/export?format=csv&contentType=Invoice").set(AUDITOR).buffer(true).parse((res, callback) => {
        let text = "";
        res.on("data", (chunk: Buffer) => (text += chunk.toString()));
        res.on("end", () => callback(null, text));
      }).expect(200);
      expect(csv.headers["content-type"]).toBe("text/csv; charset=utf-8");
      expect(parse(csv.body as string)).toHaveLength(expected + 1);
      const json = await request(server).get("/audit/events/export?format=json&contentType=Invoice").set(AUDITOR).expect(200);
      expect(json.headers["content-type"]).toBe("application/json; charset=utf-8");
      expect(json.body).toHaveLength(expected);
    });

    it("answers GET /events/summary with the counts of a filter", async () => {
      const res = await request(server).get("/audit/events/summary?method=DELETE").set(AUDITOR).expect(200);
      const matching = events.filter((e) => e.method === "DELETE");
      expect(res.body.total).toBe(matching.length);
      expect(res.body.byContentType.Invoice).toBe(matching.filter((e) => e.contentType === "Invoice").length);
    });

    it("answers 403 to a request authorize refuses, and records the denial with the user", async () => {
      const before = await countEvents({ store, contentType: "AuditTrail" });
      const res = await request(server).get("/audit/events/export?format=csv").set({ "x-user": "mallory:clerk" }).expect(403);
      expect(res.body).toEqual({ error: expect.stringContaining("not allowed") });
      await request(server).get("/audit/events").expect(403);
      expect(await countEvents({ store, contentType: "AuditTrail" })).toBe(before + 2);
      const [denial] = (await findEvents({ store, contentType: "AuditTrail", userId: "mallory" })).events;
      expect(denial).toMatchObject({ objectId: "/audit/events/export", method: "GET", action: "audit.read", outcome: "denied", severity: "warning", content: { route: "GET /events/export" } });
      expect(denial!.url).toMatch(/\/audit\/events\/export\?format=csv$/);
      await db.prisma.auditEvent.deleteMany({ where: { contentType: "AuditTrail" } });
    });

    const hostile: Array<[string, RegExp]> = [
      ["/audit/events?limit=0", /limit must be a whole number from 1 to 500/],
      ["/audit/events?limit=501", /limit must be/],
      ["/audit/events?limit=1e2", /limit must be/],
      ["/audit/events?since=yesterday", /since must be an ISO 8601/],
      ["/audit/events?until=2026-02-30T00:00:00", /until must be an ISO 8601/],
      ["/audit/events?since=2026-06-02&until=2026-06-01", /is after until/],
      ["/audit/events?order=up", /order must be one of/],
      ["/audit/events?source=elsewhere", /source must be one of/],
      ["/audit/events?cursor=garbage", /cursor is not valid/],
      ["/audit/events?userId=a&userId=b", /userId is given more than once/],
      ["/audit/events?userId[]=a", /Unknown query parameter "userId\[\]"/],
      ["/audit/events?__proto__=x", /Unknown query parameter "__proto__"/],
      ["/audit/events?constructor=x", /Unknown query parameter/],
      [`/audit/events?userId=${"x".repeat(600)}`, /at most 512/],
      [`/audit/events?search=${"%F0%9F%98%80".repeat(700)}`, /The query string is \d+ characters long/],
      ["/audit/events?objectId=a%00b", /control character/],
      ["/audit/events?search=%1B%5B31m", /control character/],
      ["/audit/events?content.a%22b=1", /content key .* is not accepted/],
      ["/audit/events?userId=", /must not be empty/],
      ["/audit/events?outcome=ok", /outcome must be one of "success", "failure", "denied"/],
      ["/audit/events/summary?severity=WARNING", /severity must be one of "debug", "info", "warning", "error", "critical"/],
      ["/audit/events/export?format=csv&action=", /action must not be empty/],
      ["/audit/events?tenantId=a%00b", /control character/],
      [`/audit/events?requestId=${"r".repeat(513)}`, /at most 512/],
      ["/audit/events?format=csv", /Unknown query parameter "format"/],
      ["/audit/events/export?format=xml", /format must be one of/],
      ["/audit/events/export?limit=5", /not limit or cursor/],
      ["/audit/events/summary?cursor=x", /not limit or cursor/],
    ];

    it.each(hostile.map(([url, reason]) => [url.length > 80 ? `${url.slice(0, 60)}... (${url.length} characters)` : url, url, reason] as const))("answers 400 with the reason to %s", async (_label, url, reason) => {
      const res = await request(server).get(url).set(AUDITOR);
      expect({ status: res.status, error: res.body.error }).toEqual({ status: 400, error: expect.stringMatching(reason) });
    });

    it("answers 400 to a cursor of another query", async () => {
      const first = await request(server).get("/audit/events?userId=user-2").set(AUDITOR).expect(200);
      const res = await request(server).get(`/audit/events?userId=user-3&cursor=${first.body.nextCursor}`).set(AUDITOR).expect(400);
      expect(res.body.error).toMatch(/made for a query with other filters/);
    });

    it("treats a content key named __proto__ as a key like any other", async () => {
      const res = await request(server).get("/audit/events?content.__proto__=x").set(AUDITOR).expect(200);
      expect(res.body.events).toEqual([]);
      expect(({} as Record<string, unknown>).x).toBeUndefined();
    });

    it("leaves other paths and methods to the app", async () => {
      await request(server).get("/audit/other").set(AUDITOR).expect(404);
      await request(server).post("/audit/events").set(AUDITOR).expect(404);
    });
  });
});

describe("the audit router on Express 4 and Koa 2", () => {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const express4 = require("express4") as typeof express;
  const Koa2 = require("koa2") as typeof Koa;
  const store = memoryStore();
  const events = manyEvents(120, 5);

  beforeAll(async () => {
    await insertAll(store, events);
  });

  const servers: Array<[string, () => http.Server]> = [
    [
      "Express 4",
      () => {
        const app = express4();
        app.use((req, _res, next) => {
          (req as unknown as { user?: User }).user = userOf(req.headers["x-user"]);
          next();
        });
        app.use("/audit", auditRouter({ store, authorize: (req) => (req.user as User | undefined)?.role === "auditor" }));
        return http.createServer(app);
      },
    ],
    [
      "Koa 2",
      () => {
        const app = new Koa2();
        app.silent = true;
        app.use(async (ctx, next) => {
          ctx.state.user = userOf(ctx.headers["x-user"]);
          await next();
        });
        app.use(koaAuditRouter({ prefix: "/audit", store, authorize: (ctx) => (ctx.state.user as User | undefined)?.role === "auditor" }));
        return http.createServer(app.callback());
      },
    ],
  ];

  it.each(servers)("%s: pages, exports, refuses with 403 and answers bad parameters with 400", async (_name, makeServer) => {
    const server = makeServer();
    const page = await request(server).get("/audit/events?limit=100&order=asc").set(AUDITOR).expect(200);
    const second = await request(server).get(page.body.next).set(AUDITOR).expect(200);
    expect([...page.body.events, ...second.body.events].map((e: AuditEventRecord) => e.id)).toEqual([...events].sort(byPosition).map((e) => e.id));
    const ndjson = await request(server).get("/audit/events/export?format=ndjson").set(AUDITOR).expect(200);
    expect(ndjson.text.trimEnd().split("\n")).toHaveLength(events.length);
    const before = store.list().length;
    await request(server).get("/audit/events/summary").set({ "x-user": "eve:guest" }).expect(403);
    expect(store.list().length).toBe(before + 1);
    expect(store.list().at(-1)).toMatchObject({ contentType: "AuditTrail", userId: "eve", action: "audit.read", outcome: "denied" });
    expect((await request(server).get("/audit/events?limit=9999").set(AUDITOR).expect(400)).body.error).toMatch(/limit must be/);
    await forgetDenials(store);
  });
});

/** Forgets the denial events a test recorded, keeping the seeded ones. */
async function forgetDenials(store: ReturnType<typeof memoryStore>): Promise<void> {
  const kept = store.list().filter((event) => event.contentType !== "AuditTrail");
  store.clear();
  await insertAll(store, kept);
}
