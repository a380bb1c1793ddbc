import { v7 as uuidv7 } from "uuid";

import { exportEvents, type AuditContext, type AuditEventRecord, type EventRow } from "../../src";
import { EVENT_OUTCOMES, EVENT_SEVERITIES } from "../../src/model/event-record";
import { TextSink } from "../support/read-fixtures";
import { sampleRecord, type StoreUnderTest } from "./store-conformance";

/** 191 characters (Unicode code points), the bound of `action`, `tenantId` and `requestId`, four-byte ones among them. */
export const AT_THE_BOUND = [..."Ω😀ü中a".repeat(40)].slice(0, 191).join("");

/** The values each text field of the event model takes in turn: null, empty, one character, unicode, the bound. */
const TEXTS: Array<string | null> = [null, "order.refund", AT_THE_BOUND, "x", "ünïcødé 😀 中文 \"quoted\" 'single' \\", ""];

/**
 * One event for each outcome with each severity, and their text fields cycling through
 * {@link TEXTS} (each field out of step with the others), `minutes` apart from `start`.
 */
export function eventModelVariants(start = Date.now() - 3_600_000, minutes = 1): AuditEventRecord[] {
  const records: AuditEventRecord[] = [];
  for (const outcome of EVENT_OUTCOMES) {
    for (const severity of EVENT_SEVERITIES) {
      const k = records.length;
      const millis = start + k * minutes * 60_000;
      records.push(
        sampleRecord({
          id: uuidv7({ msecs: millis }),
          timestamp: new Date(millis),
          objectId: `v${k}`,
          outcome,
          severity,
          action: TEXTS[k % TEXTS.length]!,
          tenantId: TEXTS[(k + 2) % TEXTS.length]!,
          requestId: TEXTS[(k + 4) % TEXTS.length]!,
        }),
      );
    }
  }
  return records;
}

const byPosition = (a: AuditEventRecord, b: AuditEventRecord) => a.timestamp.getTime() - b.timestamp.getTime() || (a.id < b.id ? -1 : 1);

/**
 * The event model's fields (`action`, `outcome`, `severity`, `tenantId`, `requestId`)
 * through every way a store writes and reads: part of the store conformance suite.
 */
export function describeEventModelConformance(subject: () => StoreUnderTest, context: AuditContext): void {
  describe("the event model's fields", () => {
    const stored = (record: AuditEventRecord): AuditEventRecord => subject().stored?.(record) ?? record;
    const rowsOf = (records: AuditEventRecord[]) => records.map((r) => subject().store.toRow(r, context));

    it("reads back every outcome, severity and text value written by insert, alone and in a batch", async () => {
      const [alone, ...batch] = eventModelVariants();
      const { store } = subject();
      await store.insert([alone!], { context });
      await store.insert(batch, { context });
      for (const record of [alone!, ...batch]) expect(await store.getEvent(record.id)).toEqual(stored(record));
    });

    it("reads back every value written by writeRows (buffered and spooled writes)", async () => {
      const records = eventModelVariants();
      await subject().store.writeRows(rowsOf(records));
      for (const record of records) expect(await subject().store.getEvent(record.id)).toEqual(stored(record));
    });

    it("reads back every value written in the caller's transaction, and none of a rolled-back one (or refuses a transaction it cannot join)", async () => {
      const [committed, ...others] = eventModelVariants();
      const rolledBack = others.at(-1)!;
      const { store, transaction } = subject();
      if (transaction === undefined) {
        await expect(store.insert([committed!], { tx: {}, context })).rejects.toMatchObject({ code: "ERR_AUDIT_TX_UNSUPPORTED" });
        expect(await store.getEvent(committed!.id)).toBeNull();
        return;
      }
      await transaction((tx) => store.insert([committed!, ...others.slice(0, 3)], { tx, context }));
      await expect(
        transaction(async (tx) => {
          await store.insert([rolledBack], { tx, context });
          throw new Error("rolled back");
        }),
      ).rejects.toThrow("rolled back");
      for (const record of [committed!, ...others.slice(0, 3)]) expect(await store.getEvent(record.id)).toEqual(stored(record));
      expect(await store.getEvent(rolledBack.id)).toBeNull();
    });

    it("moves every value into the archive unchanged", async () => {
      const records = eventModelVariants(Date.UTC(2026, 0, 1));
      const { store } = subject();
      await store.insert(records, { context });
      expect((await store.archiveBatch(new Date(Date.UTC(2026, 0, 2)), 1000)).moved).toBe(records.length);
      for (const record of records) {
        expect(await store.getEvent(record.id)).toBeNull();
        expect(await store.getArchivedEvent(record.id)).toEqual({ ...stored(record), archivedAt: expect.anything() });
      }
    });

    it("returns every value from queryEvents, queryEventsAsJson and a JSON export, live and archived", async () => {
      const records = eventModelVariants(Date.UTC(2026, 0, 1));
      const { store } = subject();
      await store.insert(records, { context });
      expect((await store.archiveBatch(new Date(records[7]!.timestamp), 1000)).moved).toBe(7);
      const expected = records.map(stored).sort(byPosition);
      const filter = { source: "all" as const, content: [] };
      expect(await store.queryEvents(filter, { order: "asc", limit: 100 })).toEqual(expected);
      if (store.queryEventsAsJson !== undefined) {
        const page = await store.queryEventsAsJson(filter, { order: "asc", limit: 100 });
        expect(page.json.map((text) => JSON.parse(text))).toEqual(JSON.parse(JSON.stringify(expected)));
      }
      const sink = new TextSink();
      expect(await exportEvents({ store, source: "all", order: "asc", format: "json" }, sink)).toEqual({ exported: records.length });
      expect(JSON.parse(sink.text)).toEqual(JSON.parse(JSON.stringify(expected)));
    });

    it("reads a row without the event model's fields (spooled by a version before them) as outcome success, severity info, null for the rest", async () => {
      const { action: _a, outcome: _o, severity: _s, tenantId: _t, requestId: _r, ...old } = sampleRecord({ timestamp: new Date(Date.UTC(2026, 0, 1)) });
      const { store } = subject();
      await store.writeRows([old as unknown as EventRow]);
      const expected = { ...old, action: null, outcome: "success", severity: "info", tenantId: null, requestId: null };
      expect(await store.getEvent(old.id)).toEqual(expected);
      expect((await store.archiveBatch(new Date(Date.UTC(2026, 0, 2)), 10)).moved).toBe(1);
      expect(await store.getArchivedEvent(old.id)).toEqual({ ...expected, archivedAt: expect.anything() });
    });
  });
}
