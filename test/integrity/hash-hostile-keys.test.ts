/**
 * Property: an event's hash covers every key of its JSON fields, whatever the key is named.
 * JSON read back from a database is parsed with `JSON.parse`, which makes `"__proto__"` an
 * own property like any other; a hash path that copies objects with `copy[key] = value`
 * would instead set the copy's prototype and leave the key out of the hashed text.
 * The reference is SHA-256 over `canonicalize` (RFC 8785) of the same fields.
 */
import fc from "fast-check";

import { createHash } from "node:crypto";

import canonicalize from "canonicalize";

import { eventHash, HASHED_FIELDS } from "../../src/integrity/canonical-event";
import type { AuditEventRecord } from "../../src/model/event-record";
import type { JsonObject } from "../../src/model/json";

const HOSTILE_KEYS = ["__proto__", "constructor", "prototype", "toString", "valueOf", "hasOwnProperty", "__defineGetter__", "0", "01", "10", "-1", "1e3", "4294967295", "", " ", "é", "e\u0301", "😀", "\u2028", "日本"];
const hostileKey = fc.oneof(fc.constantFrom(...HOSTILE_KEYS), fc.string({ maxLength: 6 }));

type Tree = null | boolean | number | string | Tree[] | Array<[string, Tree]> | { entries: Array<[string, Tree]> };

/** A JSON value whose objects are given as entries, so any key (`__proto__` too) can be written as JSON text. */
const tree: fc.Arbitrary<Tree> = fc.letrec<{ value: Tree; object: Tree }>((tie) => ({
  value: fc.oneof({ depthSize: "small", withCrossShrink: true }, fc.constant(null), fc.boolean(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.string({ maxLength: 8 }), fc.array(tie("value"), { maxLength: 3 }), tie("object")),
  object: fc.uniqueArray(fc.tuple(hostileKey, tie("value")), { selector: ([key]) => key, maxLength: 5 }).map((entries) => ({ entries })),
})).value;

const objectTree = fc.uniqueArray(fc.tuple(hostileKey, tree), { selector: ([key]) => key, minLength: 1, maxLength: 6 }).map((entries) => ({ entries }));

/** The JSON text of a tree: what a database's JSON column holds. */
function text(value: Tree): string {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) return `{${value.entries.map(([key, item]) => `${JSON.stringify(key)}:${text(item)}`).join(",")}}`;
  if (Array.isArray(value)) return `[${(value as Tree[]).map(text).join(",")}]`;
  return JSON.stringify(value);
}

/** Every path to an object key in a tree. */
function keyPaths(value: Tree, prefix: Array<string | number> = []): Array<Array<string | number>> {
  if (value === null || typeof value !== "object") return [];
  if (Array.isArray(value)) return (value as Tree[]).flatMap((item, i) => keyPaths(item, [...prefix, i]));
  return value.entries.flatMap(([key, item]) => [[...prefix, key], ...keyPaths(item, [...prefix, key])]);
}

/** The parsed JSON with the value at `path` replaced by one it cannot equal. */
function withChanged(json: unknown, path: Array<string | number>): unknown {
  const copy = JSON.parse(JSON.stringify(json, (_key, v: unknown) => v)) as unknown;
  // JSON.stringify writes own "__proto__" keys, so the copy holds them as own properties again.
  let at = copy as Record<string | number, unknown>;
  for (const step of path.slice(0, -1)) at = at[step] as Record<string | number, unknown>;
  const last = path.at(-1)!;
  const changed = { changed: [Object.getOwnPropertyDescriptor(at, last)?.value ?? null] };
  Object.defineProperty(at, last, { value: changed, enumerable: true, writable: true, configurable: true });
  return copy;
}

function recordWith(fields: Pick<AuditEventRecord, "content" | "queryParams" | "postData" | "headers">): AuditEventRecord {
  return {
    id: "0193c0de-aaaa-7bbb-8ccc-123456789abc", timestamp: new Date(1_764_000_000_000), contentType: "Order", objectId: "1", userId: "u", url: null, method: "POST", remoteAddr: null,
    action: "order.refund", outcome: "success", severity: "info", tenantId: null, requestId: null, chainId: "c", seq: 3, prevHash: null, hash: null,
    ...fields,
  };
}

const FIELDS = ["content", "queryParams", "postData", "headers"] as const;

/** SHA-256 of the RFC 8785 text the reference implementation writes for the event's hashed fields. */
function referenceHash(record: AuditEventRecord): string {
  const fields = Object.fromEntries(HASHED_FIELDS.map((f) => [f, f === "timestamp" ? record.timestamp.toISOString() : (record[f] ?? null)]));
  return createHash("sha256").update(canonicalize(fields)!).digest("hex");
}

describe("the event hash with hostile JSON keys", () => {
  it("is the hash of the RFC 8785 reference text, and changes when any key's value changes", () => {
    fc.assert(
      fc.property(fc.tuple(objectTree, objectTree, objectTree, objectTree), fc.nat(), (trees, pick) => {
        const parsed = trees.map((t) => JSON.parse(text(t)) as JsonObject);
        const record = recordWith({ content: parsed[0]!, queryParams: parsed[1]!, postData: parsed[2]!, headers: parsed[3]! });
        const hash = eventHash(record);
        expect(referenceHash(record)).toBe(hash);

        const paths = trees.flatMap((t, i) => keyPaths(t).map((path) => ({ field: FIELDS[i]!, path })));
        const { field, path } = paths[pick % paths.length]!;
        const changed = { ...record, [field]: withChanged(record[field], path) } as AuditEventRecord;
        expect(eventHash(changed)).not.toBe(hash);
        expect(referenceHash(changed)).toBe(eventHash(changed));
      }),
      { numRuns: 500 },
    );
  });

  it("covers an own __proto__ key as JSON.parse makes it", () => {
    const plain = recordWith({ content: { amount: 3 }, queryParams: {}, postData: {}, headers: {} });
    const injected = recordWith({ content: JSON.parse('{"amount":3,"__proto__":{"approvedBy":"ceo"}}') as JsonObject, queryParams: {}, postData: {}, headers: {} });
    expect(eventHash(injected)).toBe(referenceHash(injected));
    expect(eventHash(injected)).not.toBe(eventHash(plain));
  });
});
