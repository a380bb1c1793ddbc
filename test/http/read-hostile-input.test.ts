import http from "node:http";

import express from "express";
import fc from "fast-check";
import Koa from "koa";
import request from "supertest";
import { v7 as uuidv7 } from "uuid";

import { auditRouter, countEvents, findEvents, koaAuditRouter, memoryStore, prismaStore, summarizeEvents, type AuditQuery, type AuditStore } from "../../src";
import { cursorKey, encodeCursor } from "../../src/query/cursor";
import { parseHttpQuery } from "../../src/http/http-query-params";
import { parseEventFilter } from "../../src/query/parse-query";
import { openDatabase, providers, type TestDatabase } from "../support/databases";
import { insertAll, manyEvents } from "../support/read-fixtures";

/* eslint-disable @typescript-eslint/no-require-imports */
const express4 = require("express4") as typeof express;
const Koa2 = require("koa2") as typeof Koa;

const SECRET = "the router's cursor secret, 32+ characters long";

/** The four routers, each answering a store failure through the app's own error handling. */
const frameworks: Array<[string, (store: AuditStore) => http.Server]> = [
  [
    "Express 5",
    (store) => {
      const app = express();
      app.use("/audit", auditRouter({ store, authorize: (req) => req.headers["x-user"] !== "guest", cursorSecret: SECRET }));
      app.use((_error: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => void res.status(500).json({ error: "failed" }));
      return http.createServer(app);
    },
  ],
  ["Express 4", (store) => http.createServer(express4().use("/audit", auditRouter({ store, authorize: (req) => req.headers["x-user"] !== "guest", cursorSecret: SECRET })))],
  [
    "Koa 3",
    (store) => {
      const app = new Koa();
      app.silent = true;
      return http.createServer(app.use(koaAuditRouter({ prefix: "/audit", store, authorize: (ctx) => ctx.req.headers["x-user"] !== "guest", cursorSecret: SECRET })).callback());
    },
  ],
  [
    "Koa 2",
    (store) => {
      const app = new Koa2();
      app.silent = true;
      return http.createServer(app.use(koaAuditRouter({ prefix: "/audit", store, authorize: (ctx) => ctx.req.headers["x-user"] !== "guest", cursorSecret: SECRET })).callback());
    },
  ],
];

/** Bytes as the client sends them: every byte percent-encoded, so invalid UTF-8 and NUL reach the router too. */
const percentEncoded = (bytes: Uint8Array) => [...bytes].map((b) => `%${b.toString(16).padStart(2, "0")}`).join("");
const text = (value: string) => percentEncoded(Buffer.from(value, "utf8"));

const NAMES = ["since", "until", "limit", "cursor", "order", "source", "contentType", "objectId", "userId", "method", "remoteAddr", "action", "outcome", "severity", "tenantId", "requestId", "search", "format"];
/** Values near what databases refuse: instants at and beyond their span, wildcards, controls, long and odd text. */
const value = fc.oneof(
  fc.date({ min: new Date(-8.64e15), max: new Date(8.64e15), noInvalidDate: true }).chain((d) => fc.constantFrom(d.toISOString(), d.toISOString().slice(0, 10), d.toISOString().replace("Z", "+14:00"))).map(text),
  fc.constantFrom("0000-01-01", "0999-12-31T23:59:59.999Z", "1000-01-01", "9999-12-31T23:59:59.999Z", "9999-12-31T23:59:59.999-01:00", "-000001-01-01T00:00:00Z", "+010000-01-01T00:00:00Z").map(text),
  fc.constantFrom("%", "_", "\\", "%_\\", "'", '"', "\\u0000", "$.a", "1e400", "-0", "9007199254740993", "true", '"x"', "null", "[1]", "{}").map(text),
  fc.integer({ min: -5, max: 2000 }).map(String),
  fc.string({ unit: "binary", maxLength: 40 }).map(text),
  // Long, but short enough that the URL stays under Node's 16 KB header limit, which answers 431 before any app runs.
  fc.string({ unit: "grapheme-ascii", minLength: 500, maxLength: 700 }).map(text),
  fc.uint8Array({ maxLength: 30 }).map(percentEncoded),
);
const name = fc.oneof(
  fc.constantFrom(...NAMES),
  fc.string({ unit: "binary", maxLength: 20 }).map((key) => `content.${text(key)}`),
  fc.constantFrom("content.", "content..", "content.a.b", "content.__proto__", "content.$", "content.a b", "content.%22", "content.%5C").map(String),
);
const inSpan = fc.date({ min: new Date("1000-01-01T00:00:00Z"), max: new Date("9999-12-31T23:59:59.999Z"), noInvalidDate: true });
/** Parameters a database takes, so that many queries reach it with what remains. */
const plausible = fc.oneof(
  fc.tuple(fc.constantFrom("since", "until"), inSpan.map((d) => text(d.toISOString()))),
  fc.tuple(fc.constantFrom("contentType", "objectId", "userId", "method", "remoteAddr", "action", "tenantId", "requestId", "search"), fc.string({ unit: "grapheme", minLength: 1, maxLength: 30 }).map(text)),
  fc.tuple(fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 10 }).filter((key) => /^[\w .:@-]+$/.test(key)).map((key) => `content.${text(key)}`), fc.string({ unit: "grapheme", minLength: 1, maxLength: 30 }).map(text)),
  fc.tuple(fc.constant("limit"), fc.integer({ min: 1, max: 500 }).map(String)),
);
/** Instants written as accepted ISO text but outside the span every database holds. */
const beyondSpan = fc.tuple(
  fc.constantFrom("since", "until"),
  fc.oneof(fc.date({ min: new Date("0000-01-01T00:00:00Z"), max: new Date("0999-12-31T23:59:59.999Z"), noInvalidDate: true }).map((d) => d.toISOString()), fc.constant("9999-12-31T23:59:59.999-00:01")).map(text),
);
const queryString = fc.array(fc.oneof({ weight: 3, arbitrary: plausible }, { weight: 1, arbitrary: beyondSpan }, { weight: 1, arbitrary: fc.tuple(name, value) }), { maxLength: 3 }).map((pairs) => pairs.map(([n, v]) => `${n}=${v}`).join("&"));
const route = fc.oneof(fc.constantFrom("/audit/events", "/audit/events/summary", "/audit/events/export"), fc.uint8Array({ maxLength: 40 }).map((b) => `/audit/events/${percentEncoded(b)}`));

/** A programmatic query of any shape a caller might pass. */
const anyQuery: fc.Arbitrary<AuditQuery> = fc.record(
  {
    since: fc.oneof(fc.date({ min: new Date(-8.64e15), max: new Date(8.64e15) }), fc.date({ min: new Date("1000-01-01T00:00:00Z"), max: new Date("2026-01-01T00:00:00Z") })),
    until: fc.oneof(fc.date({ min: new Date(-8.64e15), max: new Date(8.64e15) }), fc.date({ min: new Date("2026-01-01T00:00:00Z"), max: new Date("9999-12-31T23:59:59.999Z") })),
    userId: fc.oneof(fc.string({ unit: "grapheme", maxLength: 600 }), fc.string({ unit: "binary", maxLength: 20 })),
    objectId: fc.oneof(fc.string({ unit: "grapheme", maxLength: 300 }), fc.string({ unit: "binary", maxLength: 20 })),
    search: fc.oneof(fc.string({ unit: "grapheme", maxLength: 40 }), fc.constantFrom("%", "_", "\\", "%_\\")),
    content: fc.dictionary(fc.oneof(fc.string({ unit: "grapheme", minLength: 1, maxLength: 10 }), fc.constantFrom("action", "a b", "x.y", "__proto__", "$", "k:1")), fc.oneof(fc.string({ unit: "grapheme", maxLength: 20 }), fc.double(), fc.boolean()), { maxKeys: 3 }),
  },
  { requiredKeys: [] },
);

describe.each(providers)("reading with parameters the database cannot take, on %s", (provider) => {
  let db: TestDatabase;
  let store: AuditStore;

  beforeAll(async () => {
    db = await openDatabase(provider, { name: `hostile_read_${provider}` });
    store = prismaStore(db.prisma);
    await insertAll(store, manyEvents(60, 3));
  }, 60_000);
  afterAll(async () => {
    await db?.close();
  });

  it("refuses instants outside 1000-01-01..9999-12-31 and half surrogate pairs through the programmatic API with ERR_AUDIT_QUERY", async () => {
    for (const query of [{ since: new Date("0000-01-01") }, { until: new Date("0999-12-31T23:59:59.999Z") }, { since: new Date(8.64e15) }, { userId: "\ud800" }, { content: { note: "a\udfffb" } }]) {
      for (const read of [countEvents, summarizeEvents, findEvents]) {
        await expect(read({ ...query, store })).rejects.toMatchObject({ name: "AuditQueryError", code: "ERR_AUDIT_QUERY" });
      }
    }
    expect(await countEvents({ store, since: new Date("1000-01-01"), until: new Date("9999-12-31T23:59:59.999Z") })).toBe(60);
  });

  it("answers any programmatic query with its result or an AuditQueryError, never a driver error", async () => {
    let answered = 0;
    await fc.assert(
      fc.asyncProperty(anyQuery, async (query) => {
        try {
          await countEvents({ ...query, store });
          await findEvents({ ...query, store, limit: 3 });
          answered++;
        } catch (error) {
          expect(error).toMatchObject({ name: "AuditQueryError" });
        }
      }),
      { numRuns: 200 },
    );
    // The property means something only if many queries reached the database.
    expect(answered).toBeGreaterThan(20);
  });

  describe.each(frameworks.filter(([framework]) => framework === "Express 5" || framework === "Koa 3"))("through %s", (_framework, makeServer) => {
    let server: http.Server;
    beforeAll(() => {
      server = makeServer(store);
    });

    it.each([
      ["since=0000-01-01", /since must lie between 1000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z/],
      ["until=0999-12-31T23:59:59.999Z", /until must lie between/],
      ["since=9999-12-31T23:59:59.999-01:00", /since must lie between/],
      ["objectId=%ED%A0%80x", /"objectId" is not valid UTF-8/],
      ["search=%25_%5C", null],
      ["content.note=%25", null],
      ["search=100%", null],
      ["userId=%C0%AF", /"userId" is not valid UTF-8/],
      ["userId=%FF%FE", /"userId" is not valid UTF-8/],
      ["content.n%FFte=1", /is not valid UTF-8/],
    ])("answers %s with 200 or a 400 naming the problem", async (query, reason) => {
      const res = await request(server).get(`/audit/events?${query}`);
      expect({ status: res.status, error: res.body.error }).toEqual(reason === null ? { status: 200, error: undefined } : { status: 400, error: expect.stringMatching(reason) });
    });

    it("answers 400 to a cursor holding a timestamp out of range, even one signed with the router's secret", async () => {
      const filter = parseEventFilter({});
      const signed = encodeCursor(filter, "desc", { timestamp: new Date(Date.UTC(0, 0, 1) - 1900 * 365 * 86_400_000), id: uuidv7() }, cursorKey(SECRET));
      const res = await request(server).get(`/audit/events?cursor=${signed}`).expect(400);
      expect(res.body.error).toMatch(/its timestamp is wrong/);
    });

    it("answers 400 to a cursor a client altered or made, and reads on with the one it was given", async () => {
      const first = await request(server).get("/audit/events?limit=7").expect(200);
      const cursor: string = first.body.nextCursor;
      const [position, mac] = cursor.split(".") as [string, string];
      const payload = JSON.parse(Buffer.from(position, "base64url").toString()) as [number, number, string];
      const moved = Buffer.from(JSON.stringify([payload[0], payload[1] + 86_400_000, payload[2]])).toString("base64url");
      // The MAC's first character carries six bits of its first byte (its last carries only four, and a lenient decoder drops the rest), so changing it always changes the MAC.
      const otherMac = `${mac.startsWith("A") ? "B" : "A"}${mac.slice(1)}`;
      expect(Buffer.from(otherMac, "base64url").equals(Buffer.from(mac, "base64url"))).toBe(false);
      for (const altered of [`${moved}.${mac}`, `${position}.${otherMac}`, position, `${moved}.${cursorKey("guessed by the client, 32 characters").bytes.toString("base64url")}`]) {
        const res = await request(server).get(`/audit/events?limit=7&cursor=${altered}`);
        expect({ status: res.status, error: res.body.error }).toEqual({ status: 400, error: expect.stringMatching(/^cursor is not valid/) });
      }
      const second = await request(server).get(first.body.next).expect(200);
      expect(second.body.events).toHaveLength(7);
    });

    it("never answers 500 to any query string on any route, and always says nosniff", async () => {
      let answered = 0;
      await fc.assert(
        fc.asyncProperty(route, queryString, async (path, query) => {
          const res = await request(server).get(`${path}?${query}`);
          if (res.status === 200) answered++;
          expect({ path, query, status: [200, 400, 404].includes(res.status) ? "not 500" : res.status }).toEqual({ path, query, status: "not 500" });
          expect(res.headers["x-content-type-options"]).toBe("nosniff");
          if (res.status === 400) expect(res.body.error).toEqual(expect.any(String));
        }),
        { numRuns: 200 },
      );
      expect(answered).toBeGreaterThan(20);
    });
  });
});

describe("X-Content-Type-Options: nosniff", () => {
  const store = memoryStore();
  const failing: AuditStore = { ...store, queryEvents: () => Promise.reject(new Error("database went away")) };

  beforeAll(async () => {
    await insertAll(store, manyEvents(10, 1));
  });

  it.each(frameworks)("is on every answer of the %s router: lists, events, exports, summaries, 400, 403, 404 and failures", async (_framework, makeServer) => {
    const server = makeServer(store);
    const [event] = store.list();
    const answers = await Promise.all(
      [
        ["/audit/events", 200],
        [`/audit/events/${event!.id}`, 200],
        ["/audit/events/export?format=csv", 200],
        ["/audit/events/export?format=ndjson", 200],
        ["/audit/events/summary", 200],
        ["/audit/events?limit=0", 400],
        [`/audit/events/${uuidv7()}`, 404],
      ].map(async ([path, status]) => [path, (await request(server).get(path as string).expect(status as number)).headers["x-content-type-options"]]),
    );
    const denied = await request(server).get("/audit/events").set("x-user", "guest").expect(403);
    const failed = await request(makeServer(failing)).get("/audit/events").expect(500);
    expect([...answers, ["403", denied.headers["x-content-type-options"]], ["500", failed.headers["x-content-type-options"]]]).toEqual(
      [...answers.map(([path]) => [path, "nosniff"]), ["403", "nosniff"], ["500", "nosniff"]],
    );
  });
});

describe("a query string's percent-escapes", () => {
  const strictUtf8 = new TextDecoder("utf-8", { fatal: true });
  const isUtf8 = (bytes: Uint8Array) => {
    try {
      strictUtf8.decode(bytes);
      return true;
    } catch {
      return false;
    }
  };
  /** Bytes near UTF-8's edges: lead bytes, continuations, overlong forms, surrogates, beyond U+10FFFF. */
  const utf8ish = fc.array(fc.oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0x80, max: 0xbf }), fc.integer({ min: 0xc0, max: 0xff }), fc.constantFrom(0xc0, 0xc1, 0xe0, 0xed, 0xf0, 0xf4, 0xf5, 0xa0, 0x9f, 0x90, 0x8f)), { maxLength: 12 }).map((b) => Uint8Array.from(b));

  it("are refused, naming the parameter, exactly when their bytes are not UTF-8 (oracle: a fatal TextDecoder), in a value or a content key", () => {
    fc.assert(
      fc.property(utf8ish, fc.constantFrom("value", "key"), (bytes, where) => {
        const query = where === "value" ? `search=${percentEncoded(bytes)}` : `content.k${percentEncoded(bytes)}=1`;
        let refused: string | undefined;
        try {
          parseHttpQuery(query, { format: false });
        } catch (error) {
          refused = (error as Error).message;
        }
        const utf8Refusal = refused !== undefined && / is not valid UTF-8 /.test(refused);
        expect({ query, utf8Refusal }).toEqual({ query, utf8Refusal: !isUtf8(bytes) });
        if (utf8Refusal && where === "value") expect(refused).toMatch(/^"search" /);
      }),
      { numRuns: 2000 },
    );
  });
});
