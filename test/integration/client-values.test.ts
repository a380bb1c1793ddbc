import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import fc from "fast-check";
import request from "supertest";
import {
  AuditContext,
  auditMetrics,
  closeAudit,
  configureAudit,
  countEvents,
  fileSpool,
  flushAudit,
  getAuditConfig,
  prismaStore,
  type AuditEventRecord,
  type AuditStore,
  type PrismaStore,
} from "../../src";
import { normalizeClientIp } from "../../src/client-ip";
import { CUT_MARKER, JSON_COLUMN_MAX_BYTES, JSON_COLUMN_MAX_DEPTH, JSON_DEPTH_MARKER, TEXT_COLUMN_LIMITS, type TextLimit } from "../../src/column-limits";
import { sanitizeString } from "../../src/serialize";
import { copyRecordingPool, type CopyRecordingPool } from "../support/copy-pool";
import { openDatabase, providers, type Provider, type TestDatabase } from "../support/databases";
import { frameworks, type TestApp } from "../support/http-apps";

/**
 * Issue 11, points 1 and 5: whatever a client (or a caller) puts in a bounded column,
 * the event is stored on every database and in every write mode, cut with a visible
 * marker where the column is too narrow; the client address is stored as an address.
 */

const codePoints = (text: string) => [...text].length;
const limitSize = (limit: TextLimit) => ("chars" in limit ? limit.chars : limit.bytes);
const sizeIn = (text: string, limit: TextLimit) => ("chars" in limit ? codePoints(text) : Buffer.byteLength(text, "utf8"));

/** A stored value is the input when it fits, else a prefix of it and the marker naming how much was cut, within the limit. */
function expectBounded(input: string, stored: string | null, limit: TextLimit): void {
  const clean = sanitizeString(input);
  expect(typeof stored).toBe("string");
  expect(sizeIn(stored!, limit)).toBeLessThanOrEqual(limitSize(limit));
  expect(stored!.isWellFormed()).toBe(true);
  if (sizeIn(clean, limit) <= limitSize(limit)) {
    expect(stored).toBe(clean);
    return;
  }
  const marker = CUT_MARKER.exec(stored!);
  expect(marker).not.toBeNull();
  const prefix = stored!.slice(0, marker!.index);
  expect(clean.startsWith(prefix)).toBe(true);
  expect(codePoints(prefix) + Number(marker![1])).toBe(codePoints(clean));
}

function nested(levels: number): Record<string, unknown> {
  let value: unknown = "leaf";
  for (let i = 1; i < levels; i++) value = { down: value };
  return { down: value };
}

function depthOf(value: unknown): number {
  if (value === null || typeof value !== "object") return 0;
  return 1 + Math.max(0, ...(Array.isArray(value) ? value : Object.values(value)).map(depthOf));
}

const dir = mkdtempSync(path.join(tmpdir(), "audit-client-values-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const modes = ["sync", "buffered"] as const;

/** Each database, and PostgreSQL once more with a pgPool, so buffered batches go by COPY first. */
const targets: { label: string; provider: Provider; pooled: boolean }[] = [
  ...providers.map((provider) => ({ label: provider, provider, pooled: false })),
  { label: "postgresql with pgPool (buffered batches by COPY)", provider: "postgresql", pooled: true },
];

describe.each(targets)("on $label", ({ provider, pooled }) => {
  let db: TestDatabase;
  let store: PrismaStore;
  let pool: CopyRecordingPool | undefined;

  beforeAll(async () => {
    db = await openDatabase(provider, { name: "client_values" });
    pool = pooled ? copyRecordingPool(db.url) : undefined;
    store = prismaStore(db.prisma, pool === undefined ? {} : { pgPool: pool });
  });
  afterEach(async () => {
    await closeAudit();
    configureAudit({});
    await db.reset();
  });
  afterAll(async () => {
    await pool?.end();
    await db?.close();
  });

  /** The stored row of `record`, once everything buffered is written. */
  async function stored(record: { id: string }): Promise<AuditEventRecord> {
    await flushAudit();
    const row = await store.getEvent(record.id);
    expect(row).not.toBeNull();
    return row!;
  }

  describe.each(modes)("in %s mode", (writeMode) => {
    describe.each(frameworks)("through $name", (framework) => {
      let app: TestApp;
      beforeEach(async () => {
        configureAudit({ store, writeMode });
        app = await framework.start({ trustedHops: 1 });
      });
      afterEach(() => app.close());

      async function send(objectId: string, forwardedFor?: string): Promise<AuditEventRecord> {
        let call = request(app.server).get(`/orders/${encodeURIComponent(objectId)}`);
        if (forwardedFor !== undefined) call = call.set("x-forwarded-for", forwardedFor);
        const res = await call;
        expect(res.status).toBe(200);
        const record = res.body.record as AuditEventRecord;
        const row = await stored(record);
        expect(row.objectId).toBe(record.objectId);
        expect(row.remoteAddr).toBe(record.remoteAddr);
        expect(row.url).toBe(record.url);
        return row;
      }

      it("stores the address a trusted proxy forwards without its port, brackets or zone id, and finds it by any spelling", async () => {
        expect((await send("1", "203.0.113.5:4711")).remoteAddr).toBe("203.0.113.5");
        expect((await send("2", "[2001:DB8:0::1]:443")).remoteAddr).toBe("2001:db8::1");
        expect((await send("3", `fe80::1%${"eth".repeat(100)}`)).remoteAddr).toBe("fe80::1");
        expect((await send("4", "::ffff:10.0.0.1")).remoteAddr).toBe("10.0.0.1");
        await expect(countEvents({ store, remoteAddr: "203.0.113.5" })).resolves.toBe(1);
        await expect(countEvents({ store, remoteAddr: "[2001:DB8::1]" })).resolves.toBe(1);
        await expect(countEvents({ store, remoteAddr: "2001:0db8::0001" })).resolves.toBe(1);
        await expect(countEvents({ store, remoteAddr: "fe80::1%eth0" })).resolves.toBe(1);
      });

      it("stores an event whose forwarded address is too long for its column, cut with the marker", async () => {
        const forwarded = `unknown-${"p".repeat(57)}`;
        const row = await send("5", forwarded);
        expectBounded(forwarded, row.remoteAddr, TEXT_COLUMN_LIMITS.remoteAddr);
        expect(row.remoteAddr).toMatch(CUT_MARKER);
        await expect(countEvents({ store, remoteAddr: forwarded })).resolves.toBe(1);
      });

      it.each([
        ["192 characters", "a".repeat(192)],
        ["10 000 characters", "7".repeat(10_000)],
        ["multi-byte characters at the cut", "é".repeat(185) + "€".repeat(20)],
        ["astral characters at the cut", "x".repeat(177) + "😀".repeat(40)],
      ])("stores an event whose id from the route has %s, cut with the marker", async (_, id) => {
        const row = await send(id);
        expectBounded(id, row.objectId, TEXT_COLUMN_LIMITS.objectId);
        expect(row.objectId).toMatch(CUT_MARKER);
        await expect(countEvents({ store, objectId: id.slice(0, 500) })).resolves.toBe(id.length <= 500 ? 1 : 0);
      });
    });
  });

  describe.each(["sync", "tx", "buffered"] as const)("from a job context, written %s", (how) => {
    async function write(context: AuditContext, ref: { contentType: string; objectId: string }, content: Record<string, unknown>): Promise<AuditEventRecord> {
      configureAudit({ store, writeMode: how === "buffered" ? "buffered" : "sync" });
      if (how !== "tx") return context.createEvent(ref, content);
      const prisma = db.prisma as unknown as { $transaction<T>(fn: (tx: unknown) => Promise<T>): Promise<T> };
      return prisma.$transaction((tx) => context.createEvent(ref, content, { tx }));
    }

    it("stores a 70 KB URL, a long method, user id and content type, each cut within its column", async () => {
      const url = `https://shop.test/export/${"ü".repeat(35_000)}`;
      const context = new AuditContext({ url, method: "PROPFIND-".repeat(5), user: "u".repeat(300), remoteAddr: "x".repeat(100) });
      const contentType = "C".repeat(250);
      const record = await write(context, { contentType, objectId: "9".repeat(300) }, { action: "export" });
      const row = await stored(record);
      expect(row).toEqual(record);
      expectBounded(url, row.url, TEXT_COLUMN_LIMITS.url);
      expectBounded("PROPFIND-".repeat(5), row.method, TEXT_COLUMN_LIMITS.method);
      expectBounded("u".repeat(300), row.userId, TEXT_COLUMN_LIMITS.userId);
      expectBounded("x".repeat(100), row.remoteAddr, TEXT_COLUMN_LIMITS.remoteAddr);
      expectBounded(contentType, row.contentType, TEXT_COLUMN_LIMITS.contentType);
      for (const value of [row.url, row.method, row.userId, row.remoteAddr, row.contentType, row.objectId]) expect(value).toMatch(CUT_MARKER);
    });

    it("stores JSON nested deeper than MariaDB takes, and larger than a column holds, with their markers", async () => {
      const context = new AuditContext({ postData: nested(40), queryParams: { q: "é".repeat(700_000) } });
      const record = await write(context, { contentType: "Order", objectId: "1" }, { deep: nested(40), file: "A".repeat(1_200_000) });
      const row = await stored(record);
      expect(row).toEqual(record);
      expect(depthOf(row.content)).toBeLessThanOrEqual(JSON_COLUMN_MAX_DEPTH);
      expect(row.content).toMatchObject({ _truncated: true });
      // Request data is cut at maxPostDataBytes by the masking walk, which stops there: its size is a lower bound.
      expect(row.queryParams).toEqual({ _truncated: true, _bytes: expect.any(Number), _bytesAtLeast: true });
      expect(row.queryParams._bytes).toBeGreaterThan(getAuditConfig().maxPostDataBytes);
      expect(Buffer.byteLength(JSON.stringify(row.queryParams))).toBeLessThanOrEqual(JSON_COLUMN_MAX_BYTES);
      expect(depthOf(row.postData)).toBe(JSON_COLUMN_MAX_DEPTH);
      expect(JSON.stringify(row.postData)).toContain(JSON.stringify(JSON_DEPTH_MARKER));
    });
  });

  it("stores any strings of any length in every bounded column, in sync and buffered mode (property)", async () => {
    const text = (minLength: number) => fc.string({ unit: "binary", minLength, maxLength: 5000 });
    const writes = { sync: 0, buffered: 0 };
    await fc.assert(
      fc.asyncProperty(
        fc.record({ contentType: text(1), objectId: text(1), userId: text(1), method: text(0), remoteAddr: text(1), path: text(0) }),
        fc.constantFrom(...modes),
        async (input, writeMode) => {
          configureAudit({ store, writeMode });
          writes[writeMode]++;
          // "?" would start a query string, whose masking is not what this tests.
          const url = `https://h.test/${input.path.replaceAll("?", "")}`;
          const context = new AuditContext({ user: input.userId, method: input.method, remoteAddr: input.remoteAddr, url });
          const record = await context.createEvent({ contentType: input.contentType, objectId: input.objectId });
          const row = await stored(record);
          expect(row).toEqual(record);
          expectBounded(input.contentType, row.contentType, TEXT_COLUMN_LIMITS.contentType);
          expectBounded(input.objectId, row.objectId, TEXT_COLUMN_LIMITS.objectId);
          expectBounded(input.userId, row.userId, TEXT_COLUMN_LIMITS.userId);
          expectBounded(input.method, row.method, TEXT_COLUMN_LIMITS.method);
          expectBounded(url, row.url, TEXT_COLUMN_LIMITS.url);
          const address = normalizeClientIp(input.remoteAddr);
          if (address === null) expect(row.remoteAddr).toBeNull();
          else expectBounded(address, row.remoteAddr, TEXT_COLUMN_LIMITS.remoteAddr);
        },
      ),
      { numRuns: 40 },
    );
    expect(writes.sync).toBeGreaterThan(0);
    expect(writes.buffered).toBeGreaterThan(0);
  });

  it("stores long values of events that waited in the spool, when they are replayed", async () => {
    let down = true;
    const flaky: AuditStore = {
      ...store,
      writeRows: (rows) => (down ? Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1")) : store.writeRows(rows)),
    };
    configureAudit({ store: flaky, writeMode: "buffered", spool: fileSpool({ path: path.join(dir, `${provider}${pooled ? "-pooled" : ""}.log`) }), logger: { warn: () => undefined } });
    const context = new AuditContext({ remoteAddr: "[2001:DB8::7]:8443", url: `https://h.test/${"y".repeat(70_000)}` });
    const record = await context.createEvent({ contentType: "Order", objectId: "😀".repeat(200) });
    await flushAudit();
    expect(auditMetrics().spooled).toBe(1);
    down = false;
    await flushAudit();
    expect(auditMetrics().spooled).toBe(0);
    const row = await stored(record);
    expect(row).toEqual(record);
    expect(row.remoteAddr).toBe("2001:db8::7");
    expectBounded("😀".repeat(200), row.objectId, TEXT_COLUMN_LIMITS.objectId);
    expectBounded(`https://h.test/${"y".repeat(70_000)}`, row.url, TEXT_COLUMN_LIMITS.url);
  });

  if (pooled) {
    it("wrote the events of its buffered tests through COPY (the pool's own record)", () => {
      expect(pool!.copies.filter((copy) => copy.ok).length).toBeGreaterThan(0);
    });
  }
});
