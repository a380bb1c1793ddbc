import fc from "fast-check";
import {
  boundJson,
  boundRecord,
  boundText,
  CUT_MARKER,
  JSON_COLUMN_MAX_BYTES,
  JSON_COLUMN_MAX_DEPTH,
  JSON_DEPTH_MARKER,
  METHOD_MAX_CHARS,
  OBJECT_ID_MAX_CHARS,
  TEXT_COLUMN_LIMITS,
  URL_MAX_BYTES,
  type TextLimit,
} from "../../src/column-limits";
import type { JsonObject, JsonValue } from "../../src/model/json";
import type { AuditEventRecord } from "../../src/model/event-record";
import { sanitizeString } from "../../src/serialize";

const codePoints = (text: string) => [...text].length;
const size = (text: string, limit: TextLimit) => ("chars" in limit ? codePoints(text) : Buffer.byteLength(text, "utf8"));
const max = (limit: TextLimit) => ("chars" in limit ? limit.chars : limit.bytes);

/** Checks what an auditor relies on: a value that fits is kept, else a prefix and the marker naming what was cut. */
function expectBounded(input: string, stored: string, limit: TextLimit): void {
  const clean = sanitizeString(input);
  expect(stored.isWellFormed()).toBe(true);
  expect(size(stored, limit)).toBeLessThanOrEqual(max(limit));
  if (size(clean, limit) <= max(limit)) {
    expect(stored).toBe(clean);
    return;
  }
  const marker = CUT_MARKER.exec(stored);
  expect(marker).not.toBeNull();
  const prefix = stored.slice(0, marker!.index);
  expect(clean.startsWith(prefix)).toBe(true);
  expect(codePoints(prefix) + Number(marker![1])).toBe(codePoints(clean));
}

describe("boundText", () => {
  it("keeps a value that fits, the same string", () => {
    const id = "x".repeat(OBJECT_ID_MAX_CHARS);
    expect(boundText(id, { chars: OBJECT_ID_MAX_CHARS })).toBe(id);
  });

  it("cuts a 192-character id to 191 characters ending with the marker", () => {
    const stored = boundText("a".repeat(192), { chars: OBJECT_ID_MAX_CHARS });
    expect(stored).toBe(`${"a".repeat(179)}…[+13 chars]`);
    expect(stored).toHaveLength(191);
  });

  it("never splits a surrogate pair, wherever the cut falls", () => {
    for (let pad = 0; pad < 4; pad++) {
      const stored = boundText("a".repeat(pad) + "😀".repeat(300), { chars: OBJECT_ID_MAX_CHARS });
      expect(stored.isWellFormed()).toBe(true);
      expect(codePoints(stored)).toBeLessThanOrEqual(OBJECT_ID_MAX_CHARS);
      expectBounded("a".repeat(pad) + "😀".repeat(300), stored, { chars: OBJECT_ID_MAX_CHARS });
    }
  });

  it("counts bytes for TEXT: a URL of three-byte characters stays within 65 535 bytes", () => {
    const url = `https://shop.test/${"€".repeat(30_000)}`;
    const stored = boundText(url, { bytes: URL_MAX_BYTES });
    expect(Buffer.byteLength(stored)).toBeLessThanOrEqual(URL_MAX_BYTES);
    expectBounded(url, stored, { bytes: URL_MAX_BYTES });
  });

  it("falls back to the short marker where the long one would not fit (a method of millions of characters)", () => {
    const stored = boundText("P".repeat(3_000_000), { chars: METHOD_MAX_CHARS });
    expect(stored).toBe("PPPPP…[+2999995]");
    expectBounded("P".repeat(3_000_000), stored, { chars: METHOD_MAX_CHARS });
  });

  it("replaces NUL and lone surrogates, which PostgreSQL cannot store", () => {
    expect(boundText("a\u0000b\ud800", { chars: 16 })).toBe("a\u2400b\ufffd");
  });

  it("stores any string of any length in every bounded column within its limit (property)", () => {
    const limits = Object.values(TEXT_COLUMN_LIMITS);
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 5000 }), fc.constantFrom(...limits), (input, limit) => {
        expectBounded(input, boundText(input, limit), limit);
      }),
      { numRuns: 500 },
    );
  });

  it("stores strings around the URL's byte limit within it (property)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", minLength: 16_000, maxLength: 70_000 }), (input) => {
        expectBounded(input, boundText(input, { bytes: URL_MAX_BYTES }), { bytes: URL_MAX_BYTES });
      }),
      { numRuns: 20 },
    );
  });
});

function nested(levels: number): JsonObject {
  let value: JsonValue = "leaf";
  for (let i = 1; i < levels; i++) value = { down: value };
  return { down: value };
}

function depthOf(value: JsonValue): number {
  if (value === null || typeof value !== "object") return 0;
  return 1 + Math.max(0, ...(Array.isArray(value) ? value : Object.values(value)).map(depthOf));
}

describe("boundJson", () => {
  it("returns a value that fits as the same object", () => {
    const value = { action: "refund", items: [{ sku: "a" }] };
    expect(boundJson(value)).toBe(value);
  });

  it(`keeps ${JSON_COLUMN_MAX_DEPTH} levels and replaces deeper ones by a marker`, () => {
    const fits = nested(JSON_COLUMN_MAX_DEPTH);
    expect(boundJson(fits)).toBe(fits);
    const cut = boundJson(nested(JSON_COLUMN_MAX_DEPTH + 5));
    expect(depthOf(cut)).toBe(JSON_COLUMN_MAX_DEPTH);
    expect(JSON.stringify(cut)).toContain(JSON.stringify(JSON_DEPTH_MARKER));
  });

  it("replaces a value larger than the column by its size and the start of its JSON", () => {
    const value = { action: "upload", file: `"${"\\".repeat(1_500_000)}` };
    const text = JSON.stringify(value);
    const cut = boundJson(value);
    expect(Buffer.byteLength(JSON.stringify(cut))).toBeLessThanOrEqual(JSON_COLUMN_MAX_BYTES);
    expect(cut).toMatchObject({ _truncated: true, _bytes: Buffer.byteLength(text) });
    const head = cut._head as string;
    const marker = CUT_MARKER.exec(head)!;
    expect(text.startsWith(head.slice(0, marker.index))).toBe(true);
    expect(head.startsWith('{"action":"upload"')).toBe(true);
  });
});

describe("boundRecord", () => {
  const record = {
    id: "0190e4c8-0000-7000-8000-000000000000",
    timestamp: new Date(),
    contentType: "Order",
    objectId: "1",
    content: {},
    userId: null,
    url: null,
    method: "GET",
    remoteAddr: "10.0.0.1",
    queryParams: {},
    postData: {},
    headers: {},
    action: null,
    outcome: "success",
    severity: "info",
    tenantId: null,
    requestId: null,
    chainId: null,
    seq: null,
    prevHash: null,
    hash: null,
  } satisfies AuditEventRecord;

  it("returns the record itself when every column fits", () => {
    expect(boundRecord(record)).toBe(record);
  });

  it("bounds every text column and leaves the original untouched", () => {
    const long = { ...record, contentType: "T".repeat(500), objectId: "9".repeat(10_000), userId: "u".repeat(300), method: "M".repeat(40), remoteAddr: "r".repeat(65), url: "h".repeat(70_000), action: "a".repeat(192), tenantId: "t".repeat(400), requestId: "q".repeat(1000) };
    const stored = boundRecord(long);
    for (const [field, limit] of Object.entries(TEXT_COLUMN_LIMITS)) {
      expectBounded(long[field as keyof typeof TEXT_COLUMN_LIMITS], stored[field as keyof typeof TEXT_COLUMN_LIMITS], limit);
    }
    expect(long.objectId).toHaveLength(10_000);
  });
});
