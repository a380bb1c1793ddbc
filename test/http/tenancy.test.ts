import http from "node:http";

import fc from "fast-check";

import { memoryStore, prismaStore, type AuditEventRecord, type AuditStore } from "../../src";
import { openDatabase, type Provider, type TestDatabase } from "../support/databases";
import { insertAll } from "../support/read-fixtures";
import {
  archiveOlder,
  expressTenantApp,
  getAs,
  koaTenantApp,
  TENANT_ACTIONS,
  TENANT_ARCHIVE_BEFORE,
  TENANT_CONTENT_TYPES,
  tenantEvents,
  type RouterAnswer,
} from "../support/tenant-fixtures";

const COUNT = 480;
const A = "tenant:A";
const B = "tenant:B";
/** A's answers hold A's events only: this is what every test below comes down to. */
const onlyA = (answer: RouterAnswer) => answer.events.filter((e) => e.tenantId !== "A");

type Subject = { name: string; open(): Promise<{ store: AuditStore; close(): Promise<void> }> };

const subjects: Subject[] = [
  { name: "memoryStore()", open: async () => ({ store: memoryStore(), close: async () => undefined }) },
  ...(["postgresql", "mysql", "sqlite"] as Provider[]).map(
    (provider): Subject => ({
      name: `prismaStore() on ${provider}`,
      open: async () => {
        const db: TestDatabase = await openDatabase(provider, { name: `tenancy_${provider}` });
        return { store: prismaStore(db.prisma), close: () => db.close() };
      },
    }),
  ),
];

/** Every filter parameter and a value of it that B's events (and A's) hold. */
const FILTERS: Array<[string, string]> = [
  ["contentType", "Order"],
  ["objectId", "o3"],
  ["userId", "user-2"],
  ["method", "POST"],
  ["remoteAddr", "198.51.100.7"],
  ["action", "user.login"],
  ["outcome", "denied"],
  ["severity", "warning"],
  ["requestId", "req-4"],
  ["search", "hinge"],
  ["content.action", "invoice.pay"],
  ["since", "2026-06-10"],
  ["until", "2026-06-20T00:00:00Z"],
];
const SOURCES = ["live", "archive", "all"] as const;
const EXPORTS = ["ndjson", "csv", "json"] as const;

describe.each(subjects)("tenancy by construction on $name", ({ open }) => {
  let store: AuditStore;
  let close: () => Promise<void>;
  const events = tenantEvents(COUNT);
  const ofTenant = (tenant: string | null) => events.filter((e) => e.tenantId === tenant);
  const archived = (e: AuditEventRecord) => e.timestamp < TENANT_ARCHIVE_BEFORE;

  beforeAll(async () => {
    ({ store, close } = await open());
    await insertAll(store, events);
    expect(await archiveOlder(store)).toBe(events.filter(archived).length);
    // Every filter value must find events of B, or the test could not see a leak.
    for (const [name, value] of FILTERS.filter(([n]) => !["since", "until", "search"].includes(n))) {
      const key = name.startsWith("content.") ? name.slice(8) : name;
      const holders = ofTenant("B").filter((e) => (name.startsWith("content.") ? e.content[key] : (e as unknown as Record<string, unknown>)[key]) === value);
      expect({ name, live: holders.some((e) => !archived(e)), archived: holders.some(archived) }).toEqual({ name, live: true, archived: true });
    }
  }, 120_000);
  afterAll(async () => {
    await close?.();
  });

  describe.each([
    ["Express", expressTenantApp],
    ["Koa", koaTenantApp],
  ] as const)("through %s", (_framework, makeApp) => {
    let server: http.Server;
    beforeAll(() => {
      server = makeApp(store);
    });

    it("lists A's events only, for every filter and source, exactly those the whole trail holds for A", async () => {
      for (const source of SOURCES) {
        for (const [name, value] of [["order", "desc"] as [string, string], ...FILTERS]) {
          const query = `source=${source}&${name}=${encodeURIComponent(value)}&limit=500`;
          const mine = await getAs(server, A, `/audit/events?${query}`);
          const reference = await getAs(server, "auditor", `/audit/events?${query}&tenantId=A`);
          expect({ query, status: mine.status, leaked: onlyA(mine) }).toEqual({ query, status: 200, leaked: [] });
          expect(mine.events).toEqual(reference.events);
        }
      }
      const all = await getAs(server, A, "/audit/events?source=all&limit=500");
      expect(all.events.map((e) => e.id).sort()).toEqual(ofTenant("A").map((e) => e.id).sort());
    });

    it("answers 403 to a tenantId naming another tenant, on every route, and records it; its own tenant reads on", async () => {
      for (const other of ["B", "a", "A ", "tenant:A", "%41%00"]) {
        for (const path of ["/audit/events", "/audit/events/summary", ...EXPORTS.map((f) => `/audit/events/export?format=${f}`)]) {
          const url = `${path}${path.includes("?") ? "&" : "?"}tenantId=${other}&source=all`;
          const answer = await getAs(server, A, url);
          expect({ url, status: answer.status, events: answer.events }).toEqual({ url, status: other === "%41%00" ? 400 : 403, events: [] });
          expect(answer.text).not.toMatch(/"tenantId":"B"/);
        }
      }
      const refused = await getAs(server, A, "/audit/events?tenantId=B");
      expect(refused.body).toEqual({ error: expect.stringContaining("your own tenant's events only") });
      expect((await getAs(server, A, "/audit/events?tenantId=A&source=all&limit=500")).events).toHaveLength(ofTenant("A").length);
      const recorded = await getAs(server, "auditor", "/audit/events?contentType=AuditTrail&limit=500");
      expect(recorded.events.length).toBeGreaterThan(0);
      expect(recorded.body).toMatchObject({ events: expect.arrayContaining([expect.objectContaining({ action: "audit.read", outcome: "denied", severity: "warning", content: expect.objectContaining({ reason: "tenantId names another tenant" }) })]) });
    });

    it("answers 404 to B's ids, live or archived, exactly as to an id that does not exist", async () => {
      const missing = "01970000-0000-7000-8000-000000000000";
      const absent = await getAs(server, A, `/audit/events/${missing}`);
      expect(absent.status).toBe(404);
      for (const event of [...ofTenant("B"), ...ofTenant("a"), ...ofTenant(null)].filter((_, i) => i % 5 === 0)) {
        for (const id of [event.id, event.id.toUpperCase()]) {
          const answer = await getAs(server, A, `/audit/events/${id}`);
          expect({ status: answer.status, body: answer.body }).toEqual({ status: 404, body: { error: (absent.body as { error: string }).error.replace(missing, id) } });
        }
        expect((await getAs(server, B, `/audit/events/${event.id}`)).status).toBe(event.tenantId === "B" ? 200 : 404);
      }
      for (const event of ofTenant("A").filter((_, i) => i % 10 === 0)) {
        expect((await getAs(server, A, `/audit/events/${event.id}`)).body).toMatchObject(JSON.parse(JSON.stringify(event)));
      }
    });

    it("refuses B's cursors and the whole trail's, and follows its own next links through A's events only", async () => {
      for (const query of ["limit=3", "limit=3&source=all", "limit=3&source=archive&action=user.login", "limit=3&order=asc&requestId=req-4"]) {
        const ofB = await getAs(server, B, `/audit/events?${query}`);
        const ofAll = await getAs(server, "auditor", `/audit/events?${query}`);
        for (const cursor of [(ofB.body as { nextCursor: string }).nextCursor, (ofAll.body as { nextCursor: string }).nextCursor]) {
          expect(cursor).toEqual(expect.any(String));
          const answer = await getAs(server, A, `/audit/events?${query}&cursor=${cursor}`);
          expect({ query, status: answer.status, events: answer.events }).toEqual({ query, status: 400, events: [] });
        }
      }
      const seen: string[] = [];
      let next: string | null = "/audit/events?source=all&limit=37&order=asc";
      while (next !== null) {
        const page: RouterAnswer = await getAs(server, A, next);
        expect(onlyA(page)).toEqual([]);
        seen.push(...page.events.map((e) => e.id));
        next = (page.body as { next: string | null }).next;
      }
      expect(seen.sort()).toEqual(ofTenant("A").map((e) => e.id).sort());
    });

    it("exports A's events only, in every format and from every source", async () => {
      for (const format of EXPORTS) {
        for (const source of SOURCES) {
          const answer = await getAs(server, A, `/audit/events/export?format=${format}&source=${source}`);
          const expected = ofTenant("A").filter((e) => source === "all" || (source === "archive") === archived(e));
          expect({ format, source, status: answer.status, leaked: onlyA(answer) }).toEqual({ format, source, status: 200, leaked: [] });
          expect(answer.events.map((e) => e.id).sort()).toEqual(expected.map((e) => e.id).sort());
          expect(answer.text).not.toMatch(/"tenantId":\s*"(B|a)"/);
        }
      }
    });

    it("summarizes A's events only, for every filter and source", async () => {
      for (const source of SOURCES) {
        for (const [name, value] of [["order", "desc"] as [string, string], ...FILTERS]) {
          const query = `source=${source}&${name}=${encodeURIComponent(value)}`;
          const mine = await getAs(server, A, `/audit/events/summary?${query}`);
          const reference = await getAs(server, "auditor", `/audit/events/summary?${query}&tenantId=A`);
          expect({ query, status: mine.status }).toEqual({ query, status: 200 });
          expect(mine.body).toEqual(reference.body);
        }
      }
      const whole = (await getAs(server, A, "/audit/events/summary?source=all")).body as { total: number; byAction: Record<string, number> };
      expect(whole.total).toBe(ofTenant("A").length);
      expect(whole.byAction).toEqual(Object.fromEntries(TENANT_ACTIONS.map((a) => [a, ofTenant("A").filter((e) => e.action === a).length]).filter(([, n]) => n !== 0)));
    });

    it("fails closed, reading nothing, when authorize answers neither a yes nor a no", async () => {
      for (const reader of ["empty-tenant", "number-tenant", "user-object", "one", "yes", "list", "tenant-key", "control-tenant"]) {
        for (const path of ["/audit/events?source=all", `/audit/events/${events[1]!.id}`, "/audit/events/summary", "/audit/events/export?format=json"]) {
          const answer = await getAs(server, reader, path);
          expect({ reader, path, status: answer.status, events: answer.events }).toEqual({ reader, path, status: 500, events: [] });
          expect(events.filter((e) => answer.text.includes(e.id))).toEqual([]);
        }
      }
      for (const path of ["/audit/events", "/audit/events/summary"]) expect((await getAs(server, "", path)).status).toBe(403);
    });

    it("never returns or counts another tenant's event, whatever the query (property)", async () => {
      const ids = events.map((e) => e.id);
      const param = fc.oneof(
        fc.constantFrom(...FILTERS).map(([name, value]) => `${name}=${encodeURIComponent(value)}`),
        fc.constantFrom(...TENANT_CONTENT_TYPES).map((v) => `contentType=${v}`),
        fc.constantFrom("A", "B", "a", "").map((v) => `tenantId=${v}`),
        fc.constantFrom(...SOURCES).map((v) => `source=${v}`),
        fc.constantFrom("asc", "desc").map((v) => `order=${v}`),
        fc.integer({ min: 1, max: 500 }).map((v) => `limit=${v}`),
        fc.constantFrom("success", "failure", "denied", "info", "error").map((v) => `outcome=${v}`),
        fc.constantFrom("debug", "info", "critical", "nope").map((v) => `severity=${v}`),
        fc.integer({ min: 0, max: 8 }).map((v) => `requestId=req-${v}`),
      );
      const route = fc.oneof(
        fc.constant("/audit/events"),
        fc.constant("/audit/events/summary"),
        fc.constantFrom(...EXPORTS).map((f) => `/audit/events/export?format=${f}`),
        fc.constantFrom(...ids).map((id) => `/audit/events/${id}`),
      );
      await fc.assert(
        fc.asyncProperty(route, fc.uniqueArray(param, { maxLength: 6, selector: (p) => p.split("=")[0] }), async (path, params) => {
          const isById = /\/events\/[0-9a-f-]{36}$/.test(path);
          const url = isById || params.length === 0 ? path : `${path}${path.includes("?") ? "&" : "?"}${params.join("&")}`;
          const mine = await getAs(server, A, url);
          expect([200, 400, 403, 404]).toContain(mine.status);
          expect(onlyA(mine)).toEqual([]);
          if (mine.status !== 200 || isById) return;
          // The whole trail, asked for A's events with the same query, must answer the same: A's answer counts nothing else.
          const withoutTenant = params.filter((p) => !p.startsWith("tenantId="));
          const reference = await getAs(server, "auditor", `${path}${path.includes("?") ? "&" : "?"}${[...withoutTenant, "tenantId=A"].join("&")}`);
          if (path.includes("/export")) expect(mine.events).toEqual(reference.events);
          else if (path.endsWith("/summary")) expect(mine.body).toEqual(reference.body);
          else expect(mine.body).toMatchObject({ events: reference.events, nextCursor: (reference.body as { nextCursor: unknown }).nextCursor });
        }),
        { numRuns: 60 },
      );
    }, 120_000);
  });
});
