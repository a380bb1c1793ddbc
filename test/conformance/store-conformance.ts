import { AuditContext, AuditStoreError, MASK, type AuditEventRecord, type AuditStore } from "../../src";
import { v7 as uuidv7 } from "uuid";
import { newEventIdentity } from "../../src/model/event-record";
import { describeEventModelConformance } from "./event-model-conformance";
import { describeReadConformance } from "./read-conformance";

/** What a store's test file hands the conformance suite. */
export interface StoreUnderTest {
  store: AuditStore;
  /** Empties the store between tests. */
  reset(): Promise<void>;
  close(): Promise<void>;
  /**
   * What the store reads back for an event written with `insert` or `writeRows(toRow(...))`,
   * for a store whose model lacks some of the event's fields or fills them with `toRecord`.
   * @default the record itself
   */
  stored?(record: AuditEventRecord): AuditEventRecord;
  /** Runs `work` in a database transaction, for a store that writes in one (`{ tx }`); absent for one that refuses it. */
  transaction?(work: (tx: unknown) => Promise<void>): Promise<void>;
}

/** A complete record with every field set; `overrides` replace fields. */
export function sampleRecord(overrides: Partial<AuditEventRecord> = {}): AuditEventRecord {
  return {
    ...newEventIdentity(),
    contentType: "Order",
    objectId: "42",
    content: { action: "refund", amount: "12.50", nested: { list: [1, "two", null, { deep: true }] } },
    userId: "user-1",
    url: "https://shop.example/orders/42/refund?reason=damaged",
    method: "POST",
    remoteAddr: "203.0.113.7",
    queryParams: { reason: "damaged" },
    postData: { password: MASK, note: "x" },
    headers: { "user-agent": "jest" },
    action: "order.refund",
    outcome: "failure",
    severity: "warning",
    tenantId: "tenant-1",
    requestId: "0193a1f2-7c4e-7b2a-9d3e-5f6a7b8c9d0e", chainId: null, seq: null, prevHash: null, hash: null,
    ...overrides,
  };
}

/**
 * The behaviour every {@link AuditStore} must have. Run it from one test file per
 * store and per database.
 */
/** What a suite knows of its store before opening it. */
export interface ConformanceOptions {
  /**
   * Whether the store keeps every event-model field, so reads filter and count by them. A
   * model without those columns refuses such filters instead (ERR_AUDIT_STORE_SCHEMA,
   * proved in test/integration/prisma-store.test.ts).
   * @default true
   */
  keepsEventModel?: boolean;
}

export function describeStoreConformance(name: string, open: () => Promise<StoreUnderTest>, { keepsEventModel = true }: ConformanceOptions = {}): void {
  describe(`${name} (store conformance)`, () => {
    let subject: StoreUnderTest;
    const context = new AuditContext();
    const stored = (record: AuditEventRecord): AuditEventRecord => subject.stored?.(record) ?? record;

    beforeAll(async () => {
      subject = await open();
    });
    afterAll(async () => {
      await subject?.close();
    });
    beforeEach(async () => {
      await subject.reset();
    });

    it("stores an event and reads every field back unchanged", async () => {
      const record = sampleRecord();
      await subject.store.insert([record], { context });
      expect(await subject.store.getEvent(record.id)).toEqual(stored(record));
    });

    it("keeps nulls, empty objects, unicode, control characters and prototype-like keys in JSON", async () => {
      const content = JSON.parse('{"[__proto__]":{"x":1},"constructor":{"prototype":1},"emoji":"😀 ünïcødé 中文","ctl":"a\\tb\\u0001c\\u2400","empty":{},"arr":[]}');
      const record = sampleRecord({ content, userId: null, url: null, method: null, remoteAddr: null, queryParams: {}, postData: {}, headers: {} });
      await subject.store.insert([record], { context });
      expect(await subject.store.getEvent(record.id)).toEqual(stored(record));
    });

    it("keeps long URLs and ids that are not integers", async () => {
      const record = sampleRecord({ objectId: "0b6f1e8e-0c1e-4d4e-9b7a-8f0e4c7b2a11", url: `https://shop.example/${"a".repeat(3000)}?q=1` });
      await subject.store.insert([record], { context });
      expect(await subject.store.getEvent(record.id)).toEqual(stored(record));
    });

    it("keeps the timestamp to the millisecond", async () => {
      const record = sampleRecord({ timestamp: new Date("2026-03-04T05:06:07.891Z") });
      await subject.store.insert([record], { context });
      expect((await subject.store.getEvent(record.id))!.timestamp.toISOString()).toBe("2026-03-04T05:06:07.891Z");
    });

    it("returns null for an id it does not hold", async () => {
      expect(await subject.store.getEvent(newEventIdentity().id)).toBeNull();
    });

    it("stores a batch of events together", async () => {
      const batch = Array.from({ length: 25 }, (_, i) => sampleRecord({ objectId: String(i) }));
      await subject.store.insert(batch, { context });
      for (const record of batch) expect(await subject.store.getEvent(record.id)).toEqual(stored(record));
    });

    it("refuses an id it holds already, with ERR_AUDIT_DUPLICATE_ID, and stores none of that batch", async () => {
      const first = sampleRecord();
      await subject.store.insert([first], { context });
      await expect(subject.store.insert([sampleRecord({ id: first.id, objectId: "other" })], { context })).rejects.toMatchObject({
        code: "ERR_AUDIT_DUPLICATE_ID",
      });
      const fresh = sampleRecord({ objectId: "fresh" });
      await expect(subject.store.insert([fresh, sampleRecord({ id: first.id })], { context })).rejects.toMatchObject({
        code: "ERR_AUDIT_DUPLICATE_ID",
      });
      expect(await subject.store.getEvent(fresh.id)).toBeNull();
      expect((await subject.store.getEvent(first.id))!.objectId).toBe("42");
    });

    it("stores every one of 100 concurrent writes", async () => {
      const records = Array.from({ length: 100 }, (_, i) => sampleRecord({ objectId: `c${i}` }));
      await Promise.all(records.map((r) => subject.store.insert([r], { context })));
      const stored = await Promise.all(records.map((r) => subject.store.getEvent(r.id)));
      expect(stored.map((s) => s?.objectId)).toEqual(records.map((r) => r.objectId));
    });

    it("does not change what it stored when the caller mutates the record afterwards", async () => {
      const record = sampleRecord();
      await subject.store.insert([record], { context });
      (record.content as Record<string, unknown>).action = "tampered";
      expect((await subject.store.getEvent(record.id))!.content.action).toBe("refund");
    });

    describe("bulk writes (writeRows)", () => {
      const rowsOf = (records: AuditEventRecord[]) => records.map((r) => subject.store.toRow(r, context));

      it("stores every field of every row unchanged, including awkward JSON", async () => {
        const content = JSON.parse('{"[__proto__]":{"x":1},"emoji":"😀 中文","ctl":"a\\tb\\u0001c","quote":"\'\\"\\\\","empty":{},"arr":[1,null]}');
        const records = [
          sampleRecord(),
          sampleRecord({ content, userId: null, url: null, method: null, remoteAddr: null, queryParams: {}, postData: {}, headers: {} }),
          sampleRecord({ timestamp: new Date("2026-03-04T05:06:07.891Z"), objectId: "x".repeat(150) }),
        ];
        await subject.store.writeRows(rowsOf(records));
        for (const record of records) expect(await subject.store.getEvent(record.id)).toEqual(stored(record));
      });

      it("skips ids already stored, in the store or twice in one batch, and stores the rest", async () => {
        const first = sampleRecord();
        await subject.store.insert([first], { context });
        const fresh = Array.from({ length: 30 }, (_, i) => sampleRecord({ objectId: `f${i}` }));
        const replay = sampleRecord({ id: first.id, timestamp: first.timestamp, objectId: "replayed" });
        await subject.store.writeRows(rowsOf([replay, ...fresh, fresh[3]!]));
        await subject.store.writeRows(rowsOf(fresh));
        expect((await subject.store.getEvent(first.id))!.objectId).toBe("42");
        for (const record of fresh) expect(await subject.store.getEvent(record.id)).toEqual(stored(record));
      });

      it("stores a batch of 5 000 rows", async () => {
        const records = Array.from({ length: 5000 }, (_, i) => sampleRecord({ objectId: `b${i}` }));
        await subject.store.writeRows(rowsOf(records));
        for (const i of [0, 1234, 4999]) expect(await subject.store.getEvent(records[i]!.id)).toEqual(stored(records[i]!));
        expect(await subject.store.countLiveBefore(new Date(Date.now() + 60_000))).toBe(5000);
      });

      it("accepts an empty batch", async () => {
        await subject.store.writeRows([]);
        expect(await subject.store.countLiveBefore(new Date(Date.now() + 60_000))).toBe(0);
      });
    });

    describe("archival", () => {
      const day = 86_400_000;
      const at = (daysAgo: number) => new Date(Date.UTC(2026, 0, 31) - daysAgo * day);

      /** Events `ages` days old, with ids of the same moment, as the library makes them. */
      async function seed(ages: number[]) {
        const records = ages.map((age, i) => sampleRecord({ id: uuidv7({ msecs: at(age).getTime() }), timestamp: at(age), objectId: `a${i}` }));
        await subject.store.insert(records, { context });
        return records;
      }

      it("counts the live events older than a moment", async () => {
        await seed([10, 20, 30, 40]);
        expect(await subject.store.countLiveBefore(at(25))).toBe(2);
        expect(await subject.store.countLiveBefore(at(0))).toBe(4);
        expect(await subject.store.countLiveBefore(at(50))).toBe(0);
      });

      it("moves the oldest events first, at most the limit, keeps every field, and names the last event it took", async () => {
        const records = await seed([5, 40, 30, 20, 10]);
        const before = new Date();
        const [r5, r40, r30, r20, r10] = records;
        const keyOf = (r: AuditEventRecord | undefined) => ({ timestamp: r!.timestamp, id: r!.id });
        expect(await subject.store.archiveBatch(at(15), 2)).toEqual({ moved: 2, last: keyOf(r30) });
        expect(await subject.store.getEvent(r40!.id)).toBeNull();
        expect(await subject.store.getEvent(r30!.id)).toBeNull();
        expect(await subject.store.getEvent(r20!.id)).toEqual(stored(r20!));
        const archived = await subject.store.getArchivedEvent(r40!.id);
        expect(archived).toEqual({ ...stored(r40!), archivedAt: expect.anything() });
        expect(archived!.archivedAt.getTime()).toBeGreaterThanOrEqual(before.getTime() - 1000);
        expect(await subject.store.archiveBatch(at(15), 2)).toEqual({ moved: 1, last: keyOf(r20) });
        expect(await subject.store.archiveBatch(at(15), 2)).toEqual({ moved: 0, last: null });
        expect(await subject.store.getEvent(r5!.id)).toEqual(stored(r5!));
        expect(await subject.store.getEvent(r10!.id)).toEqual(stored(r10!));
        expect(await subject.store.getArchivedEvent(r5!.id)).toBeNull();
      });

      it("continues after a position: events at or before it stay, ties on the timestamp are ordered by id", async () => {
        // Two events share each of two moments (to the millisecond); ids decide their order.
        const moment = (daysAgo: number) => new Date(at(daysAgo).getTime() + 789);
        const ids = (daysAgo: number) => [uuidv7({ msecs: moment(daysAgo).getTime() }), uuidv7({ msecs: moment(daysAgo).getTime() })].sort();
        const records = [40, 40, 30, 30, 20].map((age, i) => sampleRecord({ timestamp: moment(age), objectId: `t${i}` }));
        const [id40, id40b] = ids(40);
        const [id30, id30b] = ids(30);
        Object.assign(records[0]!, { id: id40b });
        Object.assign(records[1]!, { id: id40 });
        Object.assign(records[2]!, { id: id30b });
        Object.assign(records[3]!, { id: id30 });
        await subject.store.insert(records, { context });
        const [second40, first40, second30, first30, r20] = records;

        // After the first of the two 40-day events: the second one comes next.
        const step1 = await subject.store.archiveBatch(at(0), 2, { timestamp: first40!.timestamp, id: first40!.id });
        expect(step1).toEqual({ moved: 2, last: { timestamp: first30!.timestamp, id: first30!.id } });
        expect(await subject.store.getEvent(second40!.id)).toBeNull();
        expect(await subject.store.getEvent(first30!.id)).toBeNull();
        expect(await subject.store.getEvent(first40!.id)).toEqual(stored(first40!));
        // The position a batch returned, passed back, continues exactly after it.
        expect(await subject.store.archiveBatch(at(0), 2, step1.last!)).toEqual({ moved: 2, last: { timestamp: r20!.timestamp, id: r20!.id } });
        expect(await subject.store.getEvent(second30!.id)).toBeNull();
        expect(await subject.store.archiveBatch(at(0), 2, { timestamp: r20!.timestamp, id: r20!.id })).toEqual({ moved: 0, last: null });
        // Without a position, the event left behind is found.
        expect(await subject.store.archiveBatch(at(0), 2)).toEqual({ moved: 1, last: { timestamp: first40!.timestamp, id: first40!.id } });
        expect(await subject.store.countLiveBefore(at(0))).toBe(0);
      });

      it("moves disjoint events in concurrent batches, and nothing in a batch that fails", async () => {
        const records = await seed(Array.from({ length: 60 }, (_, i) => 70 - i));
        // A lock conflict (a MariaDB deadlock) may fail a batch; archiveOldEvents retries those.
        const outcomes = await Promise.allSettled([1, 2, 3, 4].map(() => subject.store.archiveBatch(at(0), 20)));
        for (const outcome of outcomes) if (outcome.status === "rejected") expect(outcome.reason).toBeInstanceOf(AuditStoreError);
        const moved = outcomes.reduce((sum, o) => sum + (o.status === "fulfilled" ? o.value.moved : 0), 0);
        let live = 0;
        let archived = 0;
        for (const r of records) {
          const inLive = (await subject.store.getEvent(r.id)) !== null;
          const inArchive = (await subject.store.getArchivedEvent(r.id)) !== null;
          expect(inLive && inArchive).toBe(false);
          if (inLive) live++;
          if (inArchive) archived++;
        }
        expect(archived).toBe(moved);
        expect(live + archived).toBe(60);
      });
    });

    describeEventModelConformance(() => subject, context);
    describeReadConformance(() => subject.store, stored, keepsEventModel);
  });
}
