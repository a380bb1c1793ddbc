import { parse } from "csv-parse/sync";

import {
  countEvents,
  exportEvents,
  findEvents,
  iterateEvents,
  prismaStore,
  summarizeEvents,
  type AuditEventRecord,
  type AuditQuery,
  type AuditStore,
} from "../../src";
import { EVENT_FIELDS } from "../../src/model/event-record";
import { pageStatement } from "../../src/stores/prisma-query";
import { providerOf, tableOf } from "../../src/stores/prisma-metadata";
import { parseEventFilter } from "../../src/query/parse-query";
import { openDatabase, providers, type TestDatabase } from "../support/databases";
import { byPosition, FORMULAS, insertAll, manyEvents, READ_BASE, TextSink } from "../support/read-fixtures";

const COUNT = 10_500;
const DAY = 86_400_000;

type Case = [name: string, query: AuditQuery, predicate: (e: AuditEventRecord) => boolean];

const CASES: Case[] = [
  ["contentType", { contentType: "Invoice" }, (e) => e.contentType === "Invoice"],
  ["contentType, case-sensitively", { contentType: "order" }, (e) => e.contentType === "order"],
  ["objectId, case-sensitively", { objectId: "O1" }, (e) => e.objectId === "O1"],
  ["userId", { userId: "user-7" }, (e) => e.userId === "user-7"],
  ["method", { method: "PUT" }, (e) => e.method === "PUT"],
  ["remoteAddr", { remoteAddr: "198.51.100.3" }, (e) => e.remoteAddr === "198.51.100.3"],
  ["since", { since: new Date(READ_BASE - 3 * DAY) }, (e) => e.timestamp.getTime() >= READ_BASE - 3 * DAY],
  ["until", { until: new Date(READ_BASE - 27 * DAY) }, (e) => e.timestamp.getTime() < READ_BASE - 27 * DAY],
  ["a content value", { content: { action: "refund" } }, (e) => e.content.action === "refund"],
  ["a numeric content value", { content: { amount: 42 } }, (e) => e.content.amount === 42],
  ["a boolean content value", { content: { vip: true } }, (e) => e.content.vip === true],
  ["a search", { search: "broken hinge" }, (e) => holdsText(e.content, "broken hinge")],
  ["contentType and objectId", { contentType: "Order", objectId: "o17" }, (e) => e.contentType === "Order" && e.objectId === "o17"],
  [
    "user, time window and content",
    { userId: "user-3", since: new Date(READ_BASE - 20 * DAY), until: new Date(READ_BASE - 5 * DAY), content: { action: "update", vip: false } },
    (e) => e.userId === "user-3" && e.timestamp.getTime() >= READ_BASE - 20 * DAY && e.timestamp.getTime() < READ_BASE - 5 * DAY && e.content.action === "update" && e.content.vip === false,
  ],
];

/** Removes the `'` the export put before a formula, to compare with the stored value. */
/** Whether a string value anywhere in `value` contains `text`, ignoring case: the search rule. */
function holdsText(value: unknown, text: string): boolean {
  if (typeof value === "string") return value.toLowerCase().includes(text.toLowerCase());
  if (typeof value === "object" && value !== null) return Object.values(value).some((item) => holdsText(item, text));
  return false;
}

const unneutralize = (cell: string) => (/^'[=+\-@\t\r]/.test(cell) ? cell.slice(1) : cell);

describe.each(providers)("reading 10 000+ events on %s", (provider) => {
  let db: TestDatabase;
  let store: AuditStore;
  let events: AuditEventRecord[];

  beforeAll(async () => {
    db = await openDatabase(provider, { name: `read_side_${provider}` });
    store = prismaStore(db.prisma);
    events = manyEvents(COUNT);
    await insertAll(store, events);
    if (provider === "postgresql") await db.prisma.$executeRawUnsafe("ANALYZE audit_events");
  }, 120_000);
  afterAll(async () => {
    await db?.close();
  });

  it.each(CASES)("finds exactly the events matching %s, in order, across pages", async (_name, query, predicate) => {
    const expected = events.filter(predicate).sort(byPosition).map((e) => e.id);
    expect(expected.length).toBeGreaterThan(0);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: Awaited<ReturnType<typeof findEvents>> = await findEvents({ ...query, store, order: "asc", limit: 400, ...(cursor ? { cursor } : {}) });
      seen.push(...page.events.map((e) => e.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(expected);
    expect(await countEvents({ ...query, store })).toBe(expected.length);
  });

  it("finds an event by every filter at once, and nothing when one of them differs", async () => {
    const target = events.find((e, i) => i > 5000 && e.userId !== null && e.method !== null && e.objectId !== "O1")!;
    const action = target.content.action as string;
    const query: AuditQuery = {
      contentType: target.contentType,
      objectId: target.objectId,
      userId: target.userId!,
      method: target.method!,
      remoteAddr: target.remoteAddr!,
      since: target.timestamp,
      until: new Date(target.timestamp.getTime() + 1),
      content: { action, amount: target.content.amount as number, vip: target.content.vip as boolean },
      search: action.slice(1, 4).toUpperCase(),
    };
    const expected = events.filter((e) => e.timestamp.getTime() === target.timestamp.getTime() && e.contentType === target.contentType && e.objectId === target.objectId && e.userId === target.userId && e.method === target.method && e.remoteAddr === target.remoteAddr && e.content.action === action && e.content.amount === target.content.amount && e.content.vip === target.content.vip);
    expect((await findEvents({ ...query, store })).events.map((e) => e.id)).toEqual(expected.map((e) => e.id));
    expect(expected).toContain(target);
    const variants: AuditQuery[] = [
      { contentType: target.contentType.toUpperCase() },
      { objectId: `${target.objectId}x` },
      { userId: "user-99" },
      { method: "PATCH" },
      { remoteAddr: "192.0.2.1" },
      { since: new Date(target.timestamp.getTime() + 1) },
      { until: target.timestamp },
      { content: { action, amount: -1, vip: target.content.vip as boolean } },
      { search: "no such text" },
    ];
    for (const variant of variants) expect(await countEvents({ ...query, ...variant, store })).toBe(0);
  });

  it("reads every event back unchanged, newest first, through iterateEvents", async () => {
    const read: AuditEventRecord[] = [];
    for await (const event of iterateEvents({ store })) read.push(event);
    expect(read).toHaveLength(COUNT);
    expect(read).toEqual([...events].sort(byPosition).reverse());
  });

  it("summarizes a filter by content type, user and day", async () => {
    const since = new Date(READ_BASE - 10 * DAY);
    const matching = events.filter((e) => e.timestamp >= since && e.method === "GET");
    const summary = await summarizeEvents({ store, since, method: "GET" });
    expect(summary.total).toBe(matching.length);
    expect(summary.byContentType.order).toBe(matching.filter((e) => e.contentType === "order").length);
    expect(summary.byUser["user-4"]).toBe(matching.filter((e) => e.userId === "user-4").length);
    const day = new Date(READ_BASE - 4 * DAY).toISOString().slice(0, 10);
    expect(summary.byDay[day]).toBe(matching.filter((e) => e.timestamp.toISOString().startsWith(day)).length);
    expect(Object.values(summary.byDay).reduce((a, b) => a + b, 0)).toBe(matching.length);
  });

  it("visits every event exactly once while new events are written between pages", async () => {
    for (const order of ["asc", "desc"] as const) {
      const seen = new Map<string, number>();
      const written: AuditEventRecord[] = [];
      let cursor: string | null = null;
      let round = 0;
      do {
        const page: Awaited<ReturnType<typeof findEvents>> = await findEvents({ store, order, limit: 500, ...(cursor ? { cursor } : {}) });
        for (const e of page.events) seen.set(e.id, (seen.get(e.id) ?? 0) + 1);
        cursor = page.nextCursor;
        // New events both in the past (inside the range being paged) and now.
        const fresh = manyEvents(20, 1000 + round++ + (order === "asc" ? 0 : 500));
        written.push(...fresh);
        await insertAll(store, fresh);
      } while (cursor);
      for (const e of events) expect(seen.get(e.id)).toBe(1);
      expect([...seen.values()].every((n) => n === 1)).toBe(true);
      await db.prisma.auditEvent.deleteMany({ where: { id: { in: written.map((e) => e.id) } } });
    }
    expect(await countEvents({ store })).toBe(COUNT);
  });

  it("exports every matching event as NDJSON, JSON and CSV, and the CSV parses back to the stored events", async () => {
    const query: AuditQuery = { since: new Date(READ_BASE - 15 * DAY) };
    const expected = events.filter((e) => e.timestamp >= query.since!).sort(byPosition).reverse();

    const ndjson = new TextSink();
    expect(await exportEvents({ ...query, store, format: "ndjson" }, ndjson)).toEqual({ exported: expected.length });
    const lines = ndjson.text.trimEnd().split("\n");
    expect(lines).toHaveLength(expected.length);
    expect(lines.map((line) => JSON.parse(line).id)).toEqual(expected.map((e) => e.id));

    const json = new TextSink();
    expect(await exportEvents({ ...query, store, format: "json" }, json)).toEqual({ exported: expected.length });
    expect(JSON.parse(json.text)).toEqual(JSON.parse(JSON.stringify(expected)));

    const csv = new TextSink();
    expect(await exportEvents({ ...query, store, format: "csv" }, csv)).toEqual({ exported: expected.length });
    const rows = parse(csv.text, { relax_quotes: false }) as string[][];
    expect(rows[0]).toEqual([...EVENT_FIELDS]);
    expect(rows).toHaveLength(expected.length + 1);
    const parsed = rows.slice(1).map((cells) => {
      const record: Record<string, unknown> = {};
      EVENT_FIELDS.forEach((field, i) => {
        const cell = unneutralize(cells[i]!);
        if (field === "timestamp") record[field] = new Date(cell);
        else if (["content", "queryParams", "postData", "headers"].includes(field)) record[field] = JSON.parse(cell);
        else record[field] = cell === "" ? null : cell;
      });
      return record;
    });
    expect(parsed).toEqual(expected);
  });

  it("neutralises every cell a spreadsheet would run as a formula", async () => {
    const csv = new TextSink();
    await exportEvents({ store, format: "csv" }, csv);
    const rows = parse(csv.text) as string[][];
    const cells = rows.flat();
    expect(cells.some((cell) => cell.startsWith("'=HYPERLINK"))).toBe(true);
    for (const formula of FORMULAS) expect(cells).toContain(`'${formula}`);
    expect(cells.filter((cell) => /^[=+\-@\t\r]/.test(cell))).toEqual([]);
  });

  if (provider === "postgresql") {
    it("plans the main paginated, filtered queries on an index, never a sequential scan", async () => {
      const prisma = db.prisma;
      const tables = { provider: providerOf(prisma), live: tableOf(prisma, "auditEvent", "postgresql"), archive: tableOf(prisma, "archivedAuditEvent", "postgresql") };
      const after = { timestamp: new Date(READ_BASE - 10 * DAY), id: "01970000-0000-7000-8000-000000000000" };
      // The content filter is indexed (GIN) for rare values, such as a request or order number.
      const queries: AuditQuery[] = [
        {},
        { userId: "user-3" },
        { contentType: "Order", objectId: "o17" },
        { contentType: "Invoice", since: new Date(READ_BASE - 2 * DAY) },
        { remoteAddr: "198.51.100.3", since: new Date(READ_BASE - 20 * DAY) },
        { content: { comment: "+1+1" } },
      ];
      for (const query of queries) {
        for (const page of [{ order: "desc" as const, limit: 51 }, { order: "asc" as const, limit: 51, after }]) {
          const { sql, values } = pageStatement(tables, parseEventFilter(query), page);
          const plan = JSON.stringify(await prisma.$queryRawUnsafe(`EXPLAIN (FORMAT JSON) ${sql}`, ...values));
          expect({ query, plan }).toEqual({ query, plan: expect.stringMatching(/"Node Type":"(Index Scan|Index Only Scan|Bitmap Index Scan)"/) });
          expect({ query, plan }).toEqual({ query, plan: expect.not.stringContaining("Seq Scan") });
        }
      }
    });
  }
});
