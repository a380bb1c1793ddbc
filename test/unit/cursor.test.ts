import { createHash } from "node:crypto";

import fc from "fast-check";
import { v7 as uuidv7 } from "uuid";

import { configureAudit, findEvents, memoryStore, AuditContext } from "../../src";
import { cursorKey, decodeCursor, encodeCursor, processCursorKey } from "../../src/query/cursor";
import { EARLIEST_INSTANT, LATEST_INSTANT } from "../../src/query/instant-range";
import { parseEventFilter } from "../../src/query/parse-query";

const SECRET = "a secret of at least thirty-two characters";
const key = cursorKey(SECRET);
const filter = parseEventFilter({ userId: "u1" });
const position = fc.record({
  timestamp: fc.date({ min: EARLIEST_INSTANT, max: LATEST_INSTANT, noInvalidDate: true }),
  id: fc.date({ min: new Date(0), max: new Date(2 ** 47), noInvalidDate: true }).map((d) => uuidv7({ msecs: d.getTime() })),
});

describe("cursors", () => {
  it("read back the position they were made for, under the same key and query", () => {
    fc.assert(
      fc.property(position, fc.constantFrom("asc" as const, "desc" as const), (last, order) => {
        expect(decodeCursor(encodeCursor(filter, order, last, key), filter, order, key)).toEqual(last);
      }),
    );
  });

  it("are refused after any change of a character", () => {
    fc.assert(
      fc.property(position, fc.nat(), fc.constantFrom(..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."), (last, at, replacement) => {
        const cursor = encodeCursor(filter, "desc", last, key);
        const i = at % cursor.length;
        fc.pre(cursor[i] !== replacement);
        const changed = cursor.slice(0, i) + replacement + cursor.slice(i + 1);
        let decoded: unknown;
        try {
          decoded = decodeCursor(changed, filter, "desc", key);
        } catch (error) {
          expect(error).toMatchObject({ name: "AuditQueryError", code: "ERR_AUDIT_CURSOR" });
          return;
        }
        // Base64 leaves the low bits of a last character unused: such a change reads the same bytes.
        expect(decoded).toEqual(last);
        expect(Buffer.from(changed.split(".")[1]!, "base64url")).toEqual(Buffer.from(cursor.split(".")[1]!, "base64url"));
      }),
    );
  });

  it("are refused under another key, another query, or another order", () => {
    fc.assert(
      fc.property(position, (last) => {
        const cursor = encodeCursor(filter, "desc", last, key);
        for (const [otherFilter, order, otherKey] of [
          [filter, "desc", cursorKey(`${SECRET}!`)],
          [filter, "desc", processCursorKey()],
          [parseEventFilter({ userId: "u2" }), "desc", key],
          [filter, "asc", key],
        ] as const) {
          expect(() => decodeCursor(cursor, otherFilter, order, otherKey)).toThrow(expect.objectContaining({ code: "ERR_AUDIT_CURSOR" }));
        }
      }),
    );
  });

  it("read on when the same content filters come in another order, and not under other values", () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.constantFrom("a", "b", "status", "code", "Z", "é"), { minLength: 2, maxLength: 5 }), position, (keys, last) => {
        const content = Object.fromEntries(keys.map((k, i) => [k, `v${i}`]));
        const made = parseEventFilter({ content });
        const reordered = parseEventFilter({ content: Object.fromEntries([...keys].reverse().map((k) => [k, content[k]!])) });
        const cursor = encodeCursor(made, "desc", last, key);
        expect(decodeCursor(cursor, reordered, "desc", key)).toEqual(last);
        const other = parseEventFilter({ content: { ...content, [keys[0]!]: "another value" } });
        expect(() => decodeCursor(cursor, other, "desc", key)).toThrow();
      }),
    );
  });

  it("cannot be forged by a client who recomputes a bare hash of the query, as version 1 cursors held", () => {
    const print = createHash("sha256").update(JSON.stringify(["desc", "live", null, null, "u1", null, null, null, null, [], null])).digest("base64url").slice(0, 16);
    const forged = Buffer.from(JSON.stringify([1, print, Date.UTC(0, 0, 1) - 1900 * 365 * 86_400_000, uuidv7()])).toString("base64url");
    expect(() => decodeCursor(forged, filter, "desc", key)).toThrow(expect.objectContaining({ code: "ERR_AUDIT_CURSOR" }));
    const position = Buffer.from(JSON.stringify([2, -62_167_219_200_000, uuidv7()])).toString("base64url");
    const guessedMac = createHash("sha256").update(position).digest("base64url");
    expect(() => decodeCursor(`${position}.${guessedMac}`, filter, "desc", key)).toThrow(expect.objectContaining({ code: "ERR_AUDIT_CURSOR" }));
  });

  it("are refused with a timestamp outside the span every database holds, even when signed", () => {
    for (const millis of [EARLIEST_INSTANT.getTime() - 1, LATEST_INSTANT.getTime() + 1, Date.UTC(0, 0, 1) - 1900 * 365 * 86_400_000]) {
      const cursor = encodeCursor(filter, "desc", { timestamp: new Date(millis), id: uuidv7() }, key);
      expect(() => decodeCursor(cursor, filter, "desc", key)).toThrow(/its timestamp is wrong/);
    }
  });

  describe("of findEvents()", () => {
    const store = memoryStore();
    beforeAll(async () => {
      await store.insert(Array.from({ length: 5 }, (_, i) => ({ id: uuidv7({ msecs: 1_780_000_000_000 + i }), timestamp: new Date(1_780_000_000_000 + i), contentType: "T", objectId: "1", content: {}, userId: "u1", url: null, method: null, remoteAddr: null, queryParams: {}, postData: {}, headers: {}, action: null, outcome: "success", severity: "info", tenantId: null, requestId: null, chainId: null, seq: null, prevHash: null, hash: null })), { context: new AuditContext() });
    });
    afterAll(() => configureAudit({}));

    it("read on under the same configured cursorSecret, as another instance or a restarted process does, and not under another", async () => {
      configureAudit({ store, cursorSecret: SECRET });
      const { nextCursor } = await findEvents({ limit: 2 });
      configureAudit({ store, cursorSecret: Buffer.from(SECRET) });
      expect((await findEvents({ limit: 2, cursor: nextCursor! })).events).toHaveLength(2);
      configureAudit({ store, cursorSecret: `${SECRET}, rotated` });
      await expect(findEvents({ limit: 2, cursor: nextCursor! })).rejects.toMatchObject({ code: "ERR_AUDIT_CURSOR", message: expect.stringContaining("without a shared cursorSecret") });
      configureAudit({ store });
      await expect(findEvents({ limit: 2, cursor: nextCursor! })).rejects.toMatchObject({ code: "ERR_AUDIT_CURSOR" });
    });

    it("is refused, naming the fix, when the configured cursorSecret is short or of the wrong type", () => {
      for (const cursorSecret of ["short", Buffer.alloc(31), 42]) {
        expect(() => configureAudit({ cursorSecret: cursorSecret as never })).toThrow(expect.objectContaining({ code: "ERR_AUDIT_CONFIG", message: expect.stringContaining("at least 32 characters") }));
      }
      expect(() => configureAudit({ cursorSecrets: SECRET } as never)).toThrow('Did you mean "cursorSecret"?');
    });
  });
});
