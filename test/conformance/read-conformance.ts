import { v7 as uuidv7 } from "uuid";

import { Writable } from "node:stream";

import { parse } from "csv-parse/sync";

import {
  AuditContext,
  countEvents,
  eventsOfUser,
  exportEvents,
  findEvents,
  historyOf,
  iterateEvents,
  summarizeEvents,
  tenantScopedStore,
  toCloudEvent,
  type AuditEventRecord,
  type AuditQuery,
  type AuditStore,
} from "../../src";
import { ACTION_MAX_CHARS, boundText } from "../../src/column-limits";
import { EVENT_OUTCOMES, EVENT_SEVERITIES } from "../../src/model/event-record";
import type { JsonObject } from "../../src/model/json";
import { csvCells } from "../../src/export/csv-cells";
import { CHAINED_BASE, chainedFixture, HIGH_SEQ, modelTypeProblems } from "../support/chained-fixtures";

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
      action: null, outcome: "success", severity: "info", tenantId: null, requestId: null, chainId: null, seq: null, prevHash: null, hash: null,
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
 * before each test. `stored` says what the store reads back for a record it was given;
 * `keepsEventModel` whether it filters and counts by the event-model fields.
 */
export function describeReadConformance(
  subject: () => AuditStore,
  stored: (record: AuditEventRecord) => AuditEventRecord = (record) => record,
  keepsEventModel = true,
): void {
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
        byAction: {},
        // A model without the event-model columns did not store them: it counts none.
        byOutcome: keepsEventModel ? { success: matching.length } : {},
        bySeverity: keepsEventModel ? { info: matching.length } : {},
      });
      expect(Object.keys(summary.byDay).sort()).toEqual(["2026-05-01", "2026-05-02", "2026-05-03"]);
    });

    if (keepsEventModel) describeEventModelReading(() => store, events);
    // A model without the event model's columns has no chain columns either: integrity refuses it.
    if (keepsEventModel) describeChainedReading(() => store);

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

const LONG_ACTION = `bulk.${"x".repeat(300)}`;
const MODEL_ACTIONS = ["order.refund", "Order.Refund", null, "user.login", boundText(LONG_ACTION, { chars: ACTION_MAX_CHARS })];
const TENANTS = ["A", "B", "a", null];
// Values that differ from others only by a trailing space: MySQL's PAD SPACE collations
// (utf8mb4_bin too) take each for the other; every store must tell them apart.
const SPACED_ACTION = "order.refund ";
const SPACED_TENANT = "A ";

/**
 * 40 events an hour apart with every outcome and severity, actions and tenant ids that
 * differ only by case, events without an action or tenant, an action stored cut to its
 * column, and request ids shared across tenants; then 4 whose action or tenant id differs
 * from another's only by a trailing space.
 */
export function eventModelFixture(): AuditEventRecord[] {
  return Array.from({ length: 40 }, (_, i) => {
    const millis = BASE + 100 * HOUR + i * HOUR;
    return {
      ...readFixture()[i % 36]!,
      id: uuidv7({ msecs: millis }),
      timestamp: new Date(millis),
      action: MODEL_ACTIONS[i % MODEL_ACTIONS.length]!,
      outcome: EVENT_OUTCOMES[i % 3]!,
      severity: EVENT_SEVERITIES[i % 5 === 4 ? 4 : (i * 7) % 4]!,
      tenantId: TENANTS[i % TENANTS.length]!,
      requestId: `req-${i % 6}`,
    };
  }).concat(
    Array.from({ length: 4 }, (_, i) => {
      const millis = BASE + 140 * HOUR + i * HOUR;
      return {
        ...readFixture()[i]!,
        id: uuidv7({ msecs: millis }),
        timestamp: new Date(millis),
        action: i % 2 === 0 ? SPACED_ACTION : "order.refund",
        outcome: EVENT_OUTCOMES[i % 3]!,
        severity: EVENT_SEVERITIES[i % 5]!,
        tenantId: i < 2 ? SPACED_TENANT : "A",
        requestId: `req-${i % 6} `.trimEnd(),
      };
    }),
  );
}

/**
 * Filters, summaries and tenant views over the event model's columns (action, outcome,
 * severity, tenantId, requestId), live and archived. `current()` holds `base` (the read
 * fixture); this adds {@link eventModelFixture} to it.
 */
function describeEventModelReading(current: () => AuditStore, base: readonly AuditEventRecord[]): void {
  describe("the event model's columns", () => {
    const context = new AuditContext();
    const modelEvents = eventModelFixture();
    let store: AuditStore;
    // A third of the new events are archived: every read is checked over the live table, the archive and both.
    const archivedIds = new Set(modelEvents.filter((_, i) => i % 3 === 0).map((e) => e.id));
    const inSource = (e: AuditEventRecord, source: "live" | "archive" | "all") => source === "all" || (source === "archive") === archivedIds.has(e.id);

    beforeEach(async () => {
      store = current();
      await store.insert(modelEvents, { context });
      // The read fixture is older than every new event: archive it whole, then the chosen new events one by one.
      await store.archiveBatch(new Date(BASE + 100 * HOUR), 1000);
      const ordered = [...modelEvents].sort(byPosition);
      for (const event of ordered) {
        if (archivedIds.has(event.id)) {
          const before = ordered[ordered.indexOf(event) - 1];
          const moved = await store.archiveBatch(new Date(event.timestamp.getTime() + 1), 1, before === undefined ? undefined : { timestamp: before.timestamp, id: before.id });
          expect(moved.moved).toBe(1);
        }
      }
    });

    const everything = () => [...base, ...modelEvents];
    const baseInSource = (source: "live" | "archive" | "all") => source !== "live";
    const matching = (source: "live" | "archive" | "all", predicate: (e: AuditEventRecord) => boolean) =>
      everything().filter((e) => (modelEvents.includes(e) ? inSource(e, source) : baseInSource(source)) && predicate(e));

    const cases: Array<[string, AuditQuery, (e: AuditEventRecord) => boolean]> = [
      ["action, exactly (not another case)", { action: "order.refund" }, (e) => e.action === "order.refund"],
      ["action, as sent, when it was stored cut to its column", { action: LONG_ACTION }, (e) => e.action === MODEL_ACTIONS[4]],
      ...EVENT_OUTCOMES.map((outcome): [string, AuditQuery, (e: AuditEventRecord) => boolean] => [`outcome ${outcome}`, { outcome }, (e) => e.outcome === outcome]),
      ...EVENT_SEVERITIES.map((severity): [string, AuditQuery, (e: AuditEventRecord) => boolean] => [`severity ${severity}, exactly`, { severity }, (e) => e.severity === severity]),
      ["tenantId, exactly (not another case)", { tenantId: "A" }, (e) => e.tenantId === "A"],
      ["requestId", { requestId: "req-2" }, (e) => e.requestId === "req-2"],
      [
        "the five together, and the older filters",
        { action: "user.login", outcome: "failure", tenantId: "A", requestId: "req-4", contentType: "Customer" },
        (e) => e.action === "user.login" && e.outcome === "failure" && e.tenantId === "A" && e.requestId === "req-4" && e.contentType === "Customer",
      ],
    ];

    it.each(cases)("filters by %s, over the live table, the archive and both", async (_name, query, predicate) => {
      for (const source of ["live", "archive", "all"] as const) {
        const expected = expectedIds(matching(source, predicate), () => true);
        expect({ source, ids: await allIds(store, { ...query, source, order: "asc" }) }).toEqual({ source, ids: expected });
        expect({ source, count: await countEvents({ ...query, source, store }) }).toEqual({ source, count: expected.length });
      }
    });

    it("finds an event for every combination drawn in the cases (no case is vacuous)", () => {
      for (const [name, , predicate] of cases) expect({ name, found: matching("all", predicate).length > 0 }).toEqual({ name, found: true });
    });

    it("summarizes by action, outcome and severity, over each source", async () => {
      for (const source of ["live", "archive", "all"] as const) {
        const events = matching(source, (e) => e.tenantId !== "B");
        const tally = (key: (e: AuditEventRecord) => string | null) => {
          const counts: Record<string, number> = {};
          for (const e of events) {
            const k = key(e);
            if (k !== null) counts[k] = (counts[k] ?? 0) + 1;
          }
          return counts;
        };
        // tenantId "B" cannot be excluded by a filter; summarize "A" and "a" and no tenant separately and add up.
        const parts = await Promise.all([{ tenantId: "A" }, { tenantId: "a" }].map((q) => summarizeEvents({ ...q, source, store })));
        const whole = await summarizeEvents({ source, store });
        const bParts = await summarizeEvents({ tenantId: "B", source, store });
        expect(whole.total).toBe(events.length + bParts.total);
        expect(parts[0]!.total + parts[1]!.total).toBe(matching(source, (e) => e.tenantId === "A" || e.tenantId === "a").length);
        const minus = (a: Record<string, number>, b: Record<string, number>) => Object.fromEntries(Object.entries(a).map(([k, n]) => [k, n - (b[k] ?? 0)]).filter(([, n]) => n !== 0));
        expect({ source, byAction: minus({ ...whole.byAction }, bParts.byAction) }).toEqual({ source, byAction: tally((e) => e.action) });
        expect({ source, byOutcome: minus({ ...whole.byOutcome }, bParts.byOutcome) }).toEqual({ source, byOutcome: tally((e) => e.outcome) });
        expect({ source, bySeverity: minus({ ...whole.bySeverity }, bParts.bySeverity) }).toEqual({ source, bySeverity: tally((e) => e.severity) });
      }
      const denied = await summarizeEvents({ store, source: "all", outcome: "denied" });
      expect(Object.keys(denied.byOutcome)).toEqual(["denied"]);
      expect(denied.byAction["Order.Refund"]).toBe(modelEvents.filter((e) => e.outcome === "denied" && e.action === "Order.Refund").length);
    });

    it("refuses an outcome or a severity that is not one of the values, naming them", async () => {
      await expect(findEvents({ store, outcome: "ok" as never })).rejects.toMatchObject({ code: "ERR_AUDIT_QUERY", message: expect.stringContaining('outcome must be one of "success", "failure", "denied"') });
      await expect(countEvents({ store, severity: "WARNING" as never })).rejects.toMatchObject({ message: expect.stringContaining('severity must be one of "debug", "info", "warning", "error", "critical"') });
      await expect(summarizeEvents({ store, action: "" })).rejects.toMatchObject({ message: expect.stringContaining("action must not be empty") });
      await expect(findEvents({ store, tenantId: 5 as never })).rejects.toMatchObject({ message: expect.stringContaining("tenantId must be a string") });
    });

    it("binds a cursor to its tenant, action, outcome, severity and request id", async () => {
      const { nextCursor } = await findEvents({ store, tenantId: "A", source: "all", limit: 2 });
      expect(nextCursor).not.toBeNull();
      for (const other of [{ tenantId: "B" }, {}, { tenantId: "A", outcome: "success" as const }, { tenantId: "A", requestId: "req-0" }, { tenantId: "A", action: "x" }, { tenantId: "A", severity: "info" as const }]) {
        await expect(findEvents({ store, ...other, source: "all", cursor: nextCursor! })).rejects.toMatchObject({ code: "ERR_AUDIT_CURSOR" });
      }
      expect((await findEvents({ store, tenantId: "A", source: "all", limit: 2, cursor: nextCursor! })).events.every((e) => e.tenantId === "A")).toBe(true);
    });

    describe("through tenantScopedStore()", () => {
      it("reads, counts, summarizes and exports the tenant's events only, from every source", async () => {
        const a = tenantScopedStore(store, "A");
        for (const source of ["live", "archive", "all"] as const) {
          const own = expectedIds(matching(source, (e) => e.tenantId === "A"), () => true);
          expect(await allIds(a, { source, order: "asc" })).toEqual(own);
          expect(await allIds(a, { source, order: "asc", tenantId: "A" })).toEqual(own);
          expect(await allIds(a, { source, tenantId: "B" })).toEqual([]);
          expect(await allIds(a, { source, requestId: "req-1" })).toEqual(expectedIds(matching(source, (e) => e.tenantId === "A" && e.requestId === "req-1"), () => true).reverse());
          expect(await countEvents({ store: a, source })).toBe(own.length);
          expect(await countEvents({ store: a, source, tenantId: "a" })).toBe(0);
          const summary = await summarizeEvents({ store: a, source });
          expect(summary.total).toBe(own.length);
          expect((await summarizeEvents({ store: a, source, tenantId: "B" })).total).toBe(0);
          let text = "";
          const sink = new Writable({ write: (chunk: Buffer, _encoding, callback) => void ((text += chunk.toString("utf8")), callback()) });
          await exportEvents({ store: a, source, format: "ndjson", order: "asc" }, sink);
          expect(text.split("\n").filter(Boolean).map((line) => JSON.parse(line).id)).toEqual(own);
        }
      });

      it("answers null for another tenant's event by id, live or archived, as for a missing one", async () => {
        const a = tenantScopedStore(store, "A");
        for (const event of modelEvents) {
          const archived = archivedIds.has(event.id);
          const live = await a.getEvent(event.id);
          const old = await a.getArchivedEvent(event.id);
          if (event.tenantId === "A") expect(archived ? old?.id : live?.id).toBe(event.id);
          else expect([live, old]).toEqual([null, null]);
        }
        expect(await a.getEvent(uuidv7())).toBeNull();
      });

      it("refuses to write or archive, and refuses a tenant id that names no tenant", async () => {
        const a = tenantScopedStore(store, "A");
        await expect(a.insert([modelEvents[1]!], { context })).rejects.toMatchObject({ code: "ERR_AUDIT_CONFIG" });
        await expect(a.archiveBatch(new Date(), 10)).rejects.toMatchObject({ code: "ERR_AUDIT_CONFIG" });
        for (const bad of ["", 5, null, "a\u0000b"]) expect(() => tenantScopedStore(store, bad as never)).toThrow(expect.objectContaining({ code: "ERR_AUDIT_CONFIG" }));
      });
    });
  });
}

/** Everything an export writes, as text. */
async function exported(query: Parameters<typeof exportEvents>[0]): Promise<string> {
  let text = "";
  const sink = new Writable({ write: (chunk: Buffer, _encoding, callback) => void ((text += chunk.toString("utf8")), callback()) });
  await exportEvents(query, sink);
  return text;
}

/**
 * Chained events (`integrity` on) read through every read function, live and archived:
 * each gives the model's types (`seq` a number, never the bigint a BigInt column reads
 * as), equal to what was stored, and JSON-serializes. `current()` holds the read fixture.
 */
function describeChainedReading(current: () => AuditStore): void {
  describe("chained events", () => {
    const context = new AuditContext();
    const chained = chainedFixture();
    // The four oldest are archived, so every read is checked over both tables.
    const archivedIds = new Set(chained.slice(0, 4).map((e) => e.id));
    const since = new Date(CHAINED_BASE);
    const json = (value: unknown) => JSON.parse(JSON.stringify(value));
    let store: AuditStore;

    beforeEach(async () => {
      store = current();
      await store.insert(chained, { context });
      // The read fixture is older than the chained events: it is archived with them.
      await store.archiveBatch(new Date(CHAINED_BASE + 4 * 60_000), 1000);
    });

    const expectModelTyped = (records: readonly object[]) => {
      expect(records.length).toBeGreaterThan(0);
      for (const record of records) expect({ id: (record as AuditEventRecord).id, problems: modelTypeProblems(record) }).toEqual({ id: (record as AuditEventRecord).id, problems: [] });
    };

    it("has a chain above 2^32 (a 32-bit conversion would show)", () => {
      expect(chained.some((e) => e.seq === HIGH_SEQ)).toBe(true);
    });

    it("reads them by id, live and archived, in the model's types", async () => {
      for (const event of chained) {
        const found = archivedIds.has(event.id) ? await store.getArchivedEvent(event.id) : await store.getEvent(event.id);
        expect(found).toEqual(archivedIds.has(event.id) ? { ...event, archivedAt: expect.anything() } : event);
        expectModelTyped([found!]);
        expect(json(found)).toMatchObject(json(event));
      }
    });

    it("reads them through findEvents, iterateEvents, historyOf and eventsOfUser, from every source, in the model's types", async () => {
      for (const source of ["live", "archive", "all"] as const) {
        const expected = chained.filter((e) => source === "all" || (source === "archive") === archivedIds.has(e.id));
        const page = await findEvents({ store, source, since, order: "asc", limit: 100 });
        expect({ source, events: page.events }).toEqual({ source, events: expected });
        expectModelTyped(page.events);
        expect(json(page)).toEqual(json({ events: expected, nextCursor: null }));
        const iterated: AuditEventRecord[] = [];
        for await (const event of iterateEvents({ store, source, since })) iterated.push(event);
        expect(iterated).toEqual([...expected].reverse());
        expect(JSON.stringify(iterated)).toBe(JSON.stringify([...expected].reverse()));
      }
      const history: AuditEventRecord[] = [];
      for await (const event of historyOf({ contentType: "Order", objectId: 1 }, { store, source: "all", since })) history.push(event);
      expect(history).toEqual(chained.filter((e) => e.objectId === "1"));
      expectModelTyped(history);
      const mine = await eventsOfUser("user-1", { store, source: "all", since, limit: 2 });
      expect(mine.events).toEqual(chained.filter((e) => e.userId === "user-1").reverse().slice(0, 2));
      expect(() => JSON.stringify(mine)).not.toThrow();
    });

    it("reads them through the store's own page reads, records and JSON text alike", async () => {
      const records = await store.queryEvents({ content: [], source: "all", since }, { order: "asc", limit: 100 });
      expect(records).toEqual(chained);
      expectModelTyped(records);
      if (store.queryEventsAsJson !== undefined) {
        const page = await store.queryEventsAsJson({ content: [], source: "all", since }, { order: "asc", limit: 100 });
        expect(page.json.map((text) => JSON.parse(text))).toEqual(json(chained));
      }
    });

    it("exports them in every format, each value as the record holds it", async () => {
      const query = { store, source: "all" as const, since, order: "asc" as const };
      expect(JSON.parse(await exported({ ...query, format: "json" }))).toEqual(json(chained));
      expect((await exported({ ...query, format: "ndjson" })).trimEnd().split("\n").map((line) => JSON.parse(line))).toEqual(json(chained));
      const rows = parse(await exported({ ...query, format: "csv" })) as string[][];
      expect(rows.slice(1)).toEqual(chained.map(csvCells));
      expect(rows.slice(1).map((row) => row[rows[0]!.indexOf("seq")])).toEqual(chained.map((e) => String(e.seq)));
      const cloud = (await exported({ ...query, format: "cloudevents" })).trimEnd().split("\n").map((line) => JSON.parse(line));
      expect(cloud).toEqual(json(chained.map((e) => toCloudEvent(e))));
    });

    it("reads a tenant's own through tenantScopedStore(), by id, by page and exported", async () => {
      const a = tenantScopedStore(store, "A");
      const own = chained.filter((e) => e.tenantId === "A");
      const page = await findEvents({ store: a, source: "all", since, order: "asc" });
      expect(page.events).toEqual(own);
      expectModelTyped(page.events);
      const live = own.find((e) => !archivedIds.has(e.id))!;
      expect(await a.getEvent(live.id)).toEqual(live);
      expect((await exported({ store: a, source: "all", since, order: "asc", format: "ndjson" })).trimEnd().split("\n").map((line) => JSON.parse(line))).toEqual(json(own));
    });
  });
}
