import { v7 as uuidv7 } from "uuid";

import { Writable } from "node:stream";

import { AuditContext, countEvents, eventsOfUser, exportEvents, findEvents, historyOf, iterateEvents, summarizeEvents, type AuditEventRecord, type AuditQuery, type AuditStore } from "../../src";
import type { JsonObject } from "../../src/model/json";

const HOUR = 3_600_000;
const BASE = Date.UTC(2026, 4, 1, 22, 30);
const ACTIONS = ["refund", "update", "view"];

/**
 * 36 events an hour apart (across two UTC days), with two pairs sharing a millisecond
 * so the id breaks the tie; content types and object ids that differ only by case; a
 * value inside an array that a content filter must not match; search targets nested
 * deep and holding LIKE wildcards.
 */
export function readFixture(): AuditEventRecord[] {
  return Array.from({ length: 36 }, (_, i) => {
    const millis = BASE + (i === 11 || i === 23 ? i - 1 : i) * HOUR;
    const content: JsonObject = { action: ACTIONS[i % 3]!, amount: i, even: i % 2 === 0, tags: i % 6 === 0 ? ["refund"] : [] };
    if (i === 5) content.note = { deep: ["Needle in a HAYSTACK"] };
    if (i === 8) content.note = "100% off_sale";
    if (i === 9) content.amount = "9";
    if (i === 7) content.text = 'quote " backslash \\ newline \n tab \t ünï 😀 <\u2028>';
    if (i === 13) content.numbers = [1.5, 1e21, 0.1, 12345678901234, { n: null }];
    return {
      id: uuidv7({ msecs: millis }),
      timestamp: new Date(millis),
      contentType: ["Order", "Customer", "order"][i % 3]!,
      objectId: i === 4 ? "ORD-1" : i === 10 ? "ord-1" : String(i % 5),
      content,
      userId: i % 4 === 0 ? null : `user-${i % 4}`,
      url: `https://shop.example/x/${i}`,
      method: ["GET", "POST", "DELETE"][i % 3]!,
      remoteAddr: i % 2 === 0 ? "203.0.113.7" : "2001:db8::1",
      queryParams: {},
      postData: {},
      headers: {},
      action: null, outcome: "success", severity: "info", tenantId: null, requestId: null,
    };
  });
}

const byPosition = (a: AuditEventRecord, b: AuditEventRecord) => a.timestamp.getTime() - b.timestamp.getTime() || (a.id < b.id ? -1 : 1);

/** The ids of `events` matching `predicate`, in ascending (timestamp, id) order. */
function expectedIds(events: AuditEventRecord[], predicate: (e: AuditEventRecord) => boolean): string[] {
  return events.filter(predicate).sort(byPosition).map((e) => e.id);
}

async function allIds(store: AuditStore, query: AuditQuery): Promise<string[]> {
  const ids: string[] = [];
  for await (const event of iterateEvents({ ...query, store })) ids.push(event.id);
  return ids;
}

/**
 * The reading half of the store conformance suite; the enclosing suite empties the store
 * before each test. `stored` says what the store reads back for a record it was given.
 */
export function describeReadConformance(subject: () => AuditStore, stored: (record: AuditEventRecord) => AuditEventRecord = (record) => record): void {
  describe("reading", () => {
    const context = new AuditContext();
    const events = readFixture();
    let store: AuditStore;

    beforeEach(async () => {
      store = subject();
      await store.insert(events, { context });
    });

    const cases: Array<[string, AuditQuery, (e: AuditEventRecord) => boolean]> = [
      ["contentType, exactly (not another case)", { contentType: "order" }, (e) => e.contentType === "order"],
      ["objectId, exactly (not another case)", { objectId: "ORD-1" }, (e) => e.objectId === "ORD-1"],
      ["contentType and objectId together", { contentType: "Order", objectId: "3" }, (e) => e.contentType === "Order" && e.objectId === "3"],
      ["userId", { userId: "user-2" }, (e) => e.userId === "user-2"],
      ["method", { method: "DELETE" }, (e) => e.method === "DELETE"],
      ["remoteAddr", { remoteAddr: "2001:db8::1" }, (e) => e.remoteAddr === "2001:db8::1"],
      ["since, inclusive", { since: new Date(BASE + 30 * HOUR) }, (e) => e.timestamp.getTime() >= BASE + 30 * HOUR],
      ["until, exclusive", { until: new Date(BASE + 3 * HOUR) }, (e) => e.timestamp.getTime() < BASE + 3 * HOUR],
      ["a string content value, not an array holding it", { content: { action: "refund" } }, (e) => e.content.action === "refund"],
      ["a number content value, not the same digits as a string", { content: { amount: 9 } }, (e) => e.content.amount === 9],
      ["a string content value, not the same number", { content: { amount: "9" } }, (e) => e.content.amount === "9"],
      ["a boolean content value", { content: { even: false } }, (e) => e.content.even === false],
      ["two content keys", { content: { action: "view", even: true } }, (e) => e.content.action === "view" && e.content.even === true],
      ["a search nested deep, ignoring case", { search: "needle in a haystack" }, (e) => e.id === events[5]!.id],
      ["a search with LIKE wildcards taken literally", { search: "100% off_" }, (e) => e.id === events[8]!.id],
      ["a search that matches no key names", { search: "amount" }, () => false],
      [
        "every filter at once",
        { contentType: "Order", userId: "user-3", method: "GET", remoteAddr: "2001:db8::1", since: new Date(BASE), until: new Date(BASE + 30 * HOUR), content: { action: "refund" }, search: "REF" },
        (e) => e.contentType === "Order" && e.userId === "user-3" && e.method === "GET" && e.remoteAddr === "2001:db8::1" && e.timestamp.getTime() < BASE + 30 * HOUR,
      ],
    ];

    it.each(cases)("filters by %s", async (_name, query, predicate) => {
      const expected = expectedIds(events, predicate);
      expect(await allIds(store, { ...query, order: "asc" })).toEqual(expected);
      expect(await allIds(store, query)).toEqual([...expected].reverse());
      expect(await countEvents({ ...query, store })).toBe(expected.length);
    });

    it("sorts by timestamp, then by id when two share a millisecond", async () => {
      const { events: page } = await findEvents({ store, order: "asc", limit: 1000 });
      expect(page.map((e) => e.id)).toEqual([...events].sort(byPosition).map((e) => e.id));
      expect(page[10]!.timestamp.getTime()).toBe(page[11]!.timestamp.getTime());
      expect(page).toEqual([...events].sort(byPosition).map(stored));
    });

    it("pages through every event exactly once, in order, both ways", async () => {
      for (const order of ["asc", "desc"] as const) {
        const seen: string[] = [];
        let cursor: string | undefined;
        let pages = 0;
        do {
          const page: Awaited<ReturnType<typeof findEvents>> = await findEvents({ store, order, limit: 5, ...(cursor ? { cursor } : {}) });
          seen.push(...page.events.map((e) => e.id));
          cursor = page.nextCursor ?? undefined;
          pages++;
          expect(page.events.length).toBeLessThanOrEqual(5);
        } while (cursor);
        const ascending = [...events].sort(byPosition).map((e) => e.id);
        expect(seen).toEqual(order === "asc" ? ascending : ascending.reverse());
        expect(pages).toBe(8);
      }
    });

    it("says there is no next page when the last page is exactly full", async () => {
      const first = await findEvents({ store, limit: 18 });
      const second = await findEvents({ store, limit: 18, cursor: first.nextCursor! });
      expect(second.events).toHaveLength(18);
      expect(second.nextCursor).toBeNull();
    });

    it("refuses a cursor made for another query, or not made by the library", async () => {
      const { nextCursor } = await findEvents({ store, userId: "user-1", limit: 2 });
      await expect(findEvents({ store, userId: "user-2", cursor: nextCursor! })).rejects.toMatchObject({ code: "ERR_AUDIT_CURSOR" });
      await expect(findEvents({ store, userId: "user-1", order: "asc", cursor: nextCursor! })).rejects.toMatchObject({ code: "ERR_AUDIT_CURSOR" });
      for (const bad of ["", "abc", "x".repeat(600), Buffer.from('[1,"a",1,"not-a-uuid"]').toString("base64url"), "%%%"]) {
        await expect(findEvents({ store, cursor: bad })).rejects.toMatchObject({ code: "ERR_AUDIT_CURSOR", name: "AuditQueryError" });
      }
    });

    it("reads one object's whole history oldest first, beyond a page, named as createEvent names it", async () => {
      // 1100 more events about Order 3: more than a page of findEvents (50) and of iteration (1000).
      const more = Array.from({ length: 1100 }, (_, i): AuditEventRecord => ({ ...events[3]!, id: uuidv7({ msecs: BASE + 40 * HOUR + i }), timestamp: new Date(BASE + 40 * HOUR + i), content: { i } }));
      await store.insert(more, { context });
      const all = [...events, ...more];
      const expected = expectedIds(all, (e) => e.contentType === "Order" && e.objectId === "3");
      expect(expected.length).toBeGreaterThan(1100);
      const ids = async (history: AsyncIterable<AuditEventRecord>) => {
        const seen: string[] = [];
        for await (const event of history) seen.push(event.id);
        return seen;
      };
      class Order {
        constructor(readonly id: number) {}
      }
      const tagged = Object.defineProperty({ id: 3 }, Symbol.for("audit-events.model"), { value: "Order" });
      for (const object of [{ contentType: "Order", objectId: 3 }, { contentType: "Order", objectId: "3" }, new Order(3), tagged]) {
        expect(await ids(historyOf(object, { store }))).toEqual(expected);
      }
      expect(await ids(historyOf(new Order(3), { store, order: "desc", content: { i: 7 } }))).toEqual([more[7]!.id]);
    });

    it("refuses a history of no object, or of an object the query overrides", () => {
      for (const object of [undefined, { contentType: "Order" }, {}, "Order:3"]) {
        expect(() => historyOf(object, { store })).toThrow(expect.objectContaining({ code: "ERR_AUDIT_CONTENT_OBJECT" }));
      }
      expect(() => historyOf({ contentType: "Order", objectId: 3 }, { store, objectId: "4" } as never)).toThrow(/leave objectId out of the query/);
    });

    it("reads one user's events newest first", async () => {
      const mine = await eventsOfUser("user-1", { store, limit: 3 });
      expect(mine.events.map((e) => e.id)).toEqual(expectedIds(events, (e) => e.userId === "user-1").reverse().slice(0, 3));
      expect(mine.nextCursor).not.toBeNull();
      await expect(eventsOfUser(undefined as never, { store })).rejects.toMatchObject({ code: "ERR_AUDIT_QUERY" });
    });

    it("refuses a wrong query field, naming it, instead of widening the query", async () => {
      await expect(findEvents({ store, userID: "user-1" } as never)).rejects.toMatchObject({ code: "ERR_AUDIT_QUERY", message: expect.stringContaining('Unknown query field "userID"') });
      await expect(countEvents({ store, since: "2026-01-01" as never })).rejects.toMatchObject({ message: expect.stringContaining("since must be a valid Date") });
      await expect(findEvents({ store, limit: 1001 })).rejects.toMatchObject({ message: expect.stringContaining("limit must be a whole number from 1 to 1000") });
      await expect(findEvents({ store, content: { a: [1] as never } })).rejects.toMatchObject({ message: expect.stringContaining("content.a must be a string") });
      await expect(summarizeEvents({ store, order: "up" as never })).rejects.toMatchObject({ message: expect.stringContaining("order must be one of") });
    });

    it("summarizes by content type, user and UTC day", async () => {
      const summary = await summarizeEvents({ store, since: new Date(BASE + HOUR) });
      const matching = events.filter((e) => e.timestamp.getTime() >= BASE + HOUR);
      const tally = (key: (e: AuditEventRecord) => string | null) => {
        const counts: Record<string, number> = {};
        for (const e of matching) {
          const k = key(e);
          if (k !== null) counts[k] = (counts[k] ?? 0) + 1;
        }
        return counts;
      };
      expect({ ...summary }).toEqual({
        total: matching.length,
        byContentType: tally((e) => e.contentType),
        byUser: tally((e) => e.userId),
        byDay: tally((e) => e.timestamp.toISOString().slice(0, 10)),
      });
      expect(Object.keys(summary.byDay).sort()).toEqual(["2026-05-01", "2026-05-02", "2026-05-03"]);
    });

    describe("over the archive", () => {
      const archivedIds = [...events].sort(byPosition).slice(0, 12).map((e) => e.id);
      beforeEach(async () => {
        expect((await store.archiveBatch(new Date(BASE + 12 * HOUR), 1000)).moved).toBe(12);
      });

      it("reads the live table, the archive or both", async () => {
        const ascending = [...events].sort(byPosition).map((e) => e.id);
        expect(await allIds(store, { order: "asc" })).toEqual(ascending.slice(12));
        expect(await allIds(store, { order: "asc", source: "archive" })).toEqual(archivedIds);
        expect(await allIds(store, { order: "asc", source: "all" })).toEqual(ascending);
        expect(await countEvents({ store, source: "all", userId: "user-1" })).toBe(events.filter((e) => e.userId === "user-1").length);
        expect((await summarizeEvents({ store, source: "archive" })).total).toBe(12);
      });

      it("exports both tables as NDJSON and JSON that parse back to the records", async () => {
        for (const format of ["ndjson", "json"] as const) {
          let text = "";
          const sink = new Writable({ write: (chunk: Buffer, _encoding, callback) => void ((text += chunk.toString("utf8")), callback()) });
          const query = { source: "all" as const, order: "asc" as const, until: new Date(BASE + 30 * HOUR) };
          const expected = [...events].filter((e) => e.timestamp.getTime() < BASE + 30 * HOUR).sort(byPosition).map(stored);
          expect(await exportEvents({ ...query, store, format }, sink)).toEqual({ exported: expected.length });
          const parsed = format === "json" ? JSON.parse(text) : text.trimEnd().split("\n").map((line) => JSON.parse(line));
          expect(parsed).toEqual(JSON.parse(JSON.stringify(expected)));
        }
      });

      it("pages across both tables exactly once, in order, both ways", async () => {
        for (const order of ["asc", "desc"] as const) {
          const seen: AuditEventRecord[] = [];
          let cursor: string | null = null;
          do {
            const page: Awaited<ReturnType<typeof findEvents>> = await findEvents({ store, source: "all", order, limit: 5, ...(cursor ? { cursor } : {}) });
            seen.push(...page.events);
            cursor = page.nextCursor;
          } while (cursor);
          const expected = [...events].sort(byPosition).map(stored);
          expect(seen).toEqual(order === "asc" ? expected : expected.reverse());
        }
      });
    });
  });
}
