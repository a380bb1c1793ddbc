// An event's content is walked and masked only as far as CONTENT_WALK_MAX_BYTES (4 MiB of
// masked JSON): an app that puts a client's parsed body into an event must not let that
// client make the event cost seconds. Work is counted in reads of the content, never
// timed. Content up to the cap is stored as before: whole when it fits its 1 MiB column,
// else cut to its head.

import { AuditContext, memoryStore } from "../../src";
import { JSON_COLUMN_MAX_BYTES } from "../../src/column-limits";
import { CONTENT_WALK_MAX_BYTES } from "../../src/serialize";

const TRUNCATED = { _truncated: true, _bytes: expect.any(Number), _bytesAtLeast: true };

/** A content object of `count` keys answered by a Proxy, counting every read of a field. */
function countingContent(count: number): { content: Record<string, unknown>; reads: () => number } {
  const names = Array.from({ length: count }, (_, i) => `field${i}`);
  const exists = (key: string | symbol) => typeof key === "string" && key.startsWith("field") && Number(key.slice(5)) < count;
  let reads = 0;
  const content = new Proxy({} as Record<string, unknown>, {
    ownKeys: () => names,
    getOwnPropertyDescriptor(target, key) {
      if (!exists(key)) return Reflect.getOwnPropertyDescriptor(target, key);
      reads++;
      return { value: `value of ${String(key)}`, enumerable: true, configurable: true, writable: true };
    },
    get(target, key, receiver) {
      if (!exists(key)) return Reflect.get(target, key, receiver) as unknown;
      reads++;
      return `value of ${String(key)}`;
    },
  });
  return { content, reads: () => reads };
}

describe("an event's content", () => {
  const store = memoryStore();
  const context = new AuditContext({ store });

  it("is read only as far as the walk's cap, and stored as the truncation marker past it: 300 000 keys", async () => {
    const { content, reads } = countingContent(300_000);
    const event = await context.createEvent({ contentType: "Import", objectId: "1" }, content);
    expect(event.content).toEqual(TRUNCATED);
    expect(event.content._bytes).toBeGreaterThan(CONTENT_WALK_MAX_BYTES);
    // Each key is charged its length and separators (at least 8 bytes here), read at most twice.
    expect(reads()).toBeLessThan(CONTENT_WALK_MAX_BYTES / 4);
    expect(store.list().at(-1)!.content).toEqual(event.content);
  });

  it("is read only as far as the cap inside a wide array: 5 000 000 items", async () => {
    let reads = 0;
    const rows = new Proxy([] as unknown[], {
      get(target, key, receiver) {
        if (key === "length") return 5_000_000;
        if (typeof key === "string" && /^\d+$/.test(key)) return (reads++, { sku: `SKU-${key}`, password: `S3CR3T${key}` });
        return Reflect.get(target, key, receiver) as unknown;
      },
    });
    const event = await context.createEvent({ contentType: "Import", objectId: "2" }, { rows });
    expect(event.content).toEqual(TRUNCATED);
    expect(reads).toBeLessThan(CONTENT_WALK_MAX_BYTES / 10);
    expect(JSON.stringify(event.content)).not.toContain("S3CR3T");
  });

  it("below the cap but over its column is cut to its masked head, as before", async () => {
    const rows = Array.from({ length: 40_000 }, (_, i) => ({ sku: `SKU-${i}`, password: `S3CR3T${i}` }));
    const event = await context.createEvent({ contentType: "Import", objectId: "3" }, { rows });
    expect(event.content).toMatchObject({ _truncated: true, _head: expect.stringMatching(/^\{"rows":\[\{"sku":"SKU-0","password":"\*{16}"\}/) });
    expect(event.content._bytes).toBeGreaterThan(JSON_COLUMN_MAX_BYTES);
    expect(event.content._bytes).toBeLessThan(CONTENT_WALK_MAX_BYTES);
    expect(JSON.stringify(event.content)).not.toContain("S3CR3T");
  });

  it("still refuses what JSON cannot store before the cap", async () => {
    await expect(context.createEvent({ contentType: "Import", objectId: "4" }, { callback: () => 1 })).rejects.toMatchObject({ code: "ERR_AUDIT_SERIALIZE" });
  });
});
