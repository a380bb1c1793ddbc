import { Writable } from "node:stream";

import { parse } from "csv-parse/sync";

import { exportEvents, memoryStore, type AuditStore } from "../../src";
import { JSON_EXPORT_PAGE_SIZE } from "../../src/export/export-events";
import { insertAll, manyEvents, TextSink } from "../support/read-fixtures";

/** A store that counts the pages read through it. */
function countingStore(inner: AuditStore): AuditStore & { pages: number } {
  const counted = Object.create(inner) as AuditStore & { pages: number };
  counted.pages = 0;
  counted.queryEvents = async (filter, page) => {
    counted.pages++;
    return inner.queryEvents(filter, page);
  };
  return counted;
}

/** A writable that takes nothing until `release()`: a client that stopped reading. */
class StalledSink extends Writable {
  private waiting: Array<() => void> = [];
  written = 0;
  constructor() {
    super({ highWaterMark: 1024 });
  }
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.written += chunk.length;
    this.waiting.push(callback);
  }
  release(): void {
    for (const callback of this.waiting.splice(0)) callback();
  }
  /** Takes everything from now on. */
  drainAll(): void {
    this._write = (_chunk, _encoding, callback) => callback();
    this.release();
  }
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

describe("exportEvents", () => {
  it("stops reading the store while the stream does not take what it was given", async () => {
    const store = countingStore(memoryStore());
    await insertAll(store, manyEvents(20_000));
    for (const format of ["ndjson", "csv", "json"] as const) {
      store.pages = 0;
      const sink = new StalledSink();
      const done = exportEvents({ store, format }, sink);
      for (let i = 0; i < 5; i++) await settle();
      const pageSize = format === "csv" ? 1000 : JSON_EXPORT_PAGE_SIZE;
      // 20 000 / pageSize pages exist; a stalled stream holds at most a page or two in its buffers.
      expect(20_000 / pageSize).toBeGreaterThan(3);
      expect(store.pages).toBeLessThanOrEqual(3);
      sink.drainAll();
      expect(await done).toEqual({ exported: 20_000 });
      expect(store.pages).toBe(20_000 / pageSize + 1);
    }
  });

  it("writes only a header, an empty array or nothing when no event matches", async () => {
    const store = memoryStore();
    const texts: Record<string, string> = {};
    for (const format of ["ndjson", "csv", "json"] as const) {
      const sink = new TextSink();
      expect(await exportEvents({ store, format, userId: "nobody" }, sink)).toEqual({ exported: 0 });
      texts[format] = sink.text;
    }
    expect(texts.ndjson).toBe("");
    expect(texts.csv).toBe("id,timestamp,contentType,objectId,content,userId,url,method,remoteAddr,queryParams,postData,headers,action,outcome,severity,tenantId,requestId,chainId,seq,prevHash,hash\r\n");
    expect(JSON.parse(texts.json!)).toEqual([]);
  });

  it("refuses an unknown format or a bad filter before writing anything", async () => {
    const sink = new TextSink();
    await expect(exportEvents({ store: memoryStore(), format: "xml" as never }, sink)).rejects.toMatchObject({ code: "ERR_AUDIT_QUERY", message: expect.stringContaining('"ndjson", "csv", "json"') });
    await expect(exportEvents({ store: memoryStore(), format: "csv", since: new Date("nope") }, sink)).rejects.toMatchObject({ code: "ERR_AUDIT_QUERY" });
    expect(sink.text).toBe("");
    expect(sink.writableEnded).toBe(false);
  });

  it("destroys the stream and rejects when the store fails part way", async () => {
    const inner = memoryStore();
    await insertAll(inner, manyEvents(12_000));
    const failing = Object.create(inner) as AuditStore;
    let pages = 0;
    failing.queryEvents = async (filter, page) => {
      if (++pages === 2) throw new Error("connection lost");
      return inner.queryEvents(filter, page);
    };
    const sink = new TextSink();
    await expect(exportEvents({ store: failing, format: "ndjson" }, sink)).rejects.toThrow("connection lost");
    expect(sink.destroyed).toBe(true);
    expect(sink.text.trimEnd().split("\n")).toHaveLength(JSON_EXPORT_PAGE_SIZE);
  });

  it.each(["ndjson", "csv", "json", "cloudevents"] as const)("writes nothing, destroys the stream and rejects when the store fails on its first page (%s)", async (format) => {
    const failing = Object.create(memoryStore()) as AuditStore;
    failing.queryEvents = async () => {
      throw new Error("database down");
    };
    failing.queryEventsAsJson = undefined;
    const sink = new TextSink();
    // No "error" listener on the sink: destroying it with the error would be an uncaught one.
    await expect(exportEvents({ store: failing, format }, sink)).rejects.toThrow("database down");
    expect({ destroyed: sink.destroyed, text: sink.text }).toEqual({ destroyed: true, text: "" });
  });

  it("writes the event model's columns in every format, CSV cells made formula-safe, and filters by them", async () => {
    const store = memoryStore();
    const [plain, other] = manyEvents(2, 3);
    const model = { action: "=HYPERLINK(\"http://evil.example\")", outcome: "denied", severity: "critical", tenantId: "@acme", requestId: "-req-1" } as const;
    await insertAll(store, [{ ...plain!, ...model }, other!]);
    const texts: Record<string, string> = {};
    for (const format of ["ndjson", "csv", "json"] as const) {
      const sink = new TextSink();
      expect(await exportEvents({ store, format, tenantId: "@acme", outcome: "denied", severity: "critical", action: model.action, requestId: "-req-1" }, sink)).toEqual({ exported: 1 });
      texts[format] = sink.text;
    }
    expect(JSON.parse(texts.ndjson!)).toMatchObject(model);
    expect(JSON.parse(texts.json!)).toEqual([expect.objectContaining(model)]);
    const [header, row] = parse(texts.csv!) as string[][];
    const cell = (name: string) => row![header!.indexOf(name)];
    expect([cell("action"), cell("outcome"), cell("severity"), cell("tenantId"), cell("requestId")]).toEqual([`'${model.action}`, "denied", "critical", "'@acme", "'-req-1"]);
  });
});
