import fc from "fast-check";
import { canonicalEventText, eventHash, HASHED_FIELDS } from "../../src/integrity/canonical-event";
import { derivedKeyId, resolveIntegrityKeys, signCheckpoint, verifyCheckpointSignature, type CheckpointFields } from "../../src/integrity/integrity-keys";
import type { AuditEventRecord } from "../../src/model/event-record";
import type { JsonObject } from "../../src/model/json";
import { sampleRecord } from "../conformance/store-conformance";

/** A JSON object with its keys in reverse order at every depth: what a database may give back. */
function reversed(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reversed);
  if (typeof value !== "object" || value === null || value instanceof Date) return value;
  return Object.fromEntries(Object.entries(value).reverse().map(([k, v]) => [k, reversed(v)]));
}

const jsonObject = fc.dictionary(fc.string(), fc.jsonValue({ noUnicodeString: false })) as fc.Arbitrary<JsonObject>;

describe("the canonical form of an event", () => {
  it("covers every stored field but the hash itself", () => {
    expect(HASHED_FIELDS).toContain("prevHash");
    expect(HASHED_FIELDS).toContain("seq");
    expect(HASHED_FIELDS).not.toContain("hash");
    expect(Object.keys(JSON.parse(canonicalEventText(sampleRecord()))).sort()).toEqual([...HASHED_FIELDS].sort());
  });

  it("is the same text after a JSON round trip that reorders keys and respells numbers", () => {
    fc.assert(
      fc.property(jsonObject, jsonObject, (content, headers) => {
        const record = { ...sampleRecord(), content, headers, chainId: "c", seq: 7, prevHash: "0".repeat(64), hash: null };
        const roundTrip = JSON.parse(JSON.stringify(reversed(record)), (key, value) => (key === "timestamp" ? new Date(value) : value)) as AuditEventRecord;
        expect(canonicalEventText(roundTrip)).toBe(canonicalEventText(record));
        expect(eventHash(roundTrip)).toBe(eventHash(record));
      }),
    );
  });

  it("changes its hash when any field changes, and not when only the hash does", () => {
    const record: AuditEventRecord = { ...sampleRecord(), chainId: "chain", seq: 3, prevHash: "ab".repeat(32), hash: null };
    const base = eventHash(record);
    expect(base).toMatch(/^[0-9a-f]{64}$/);
    expect(eventHash({ ...record, hash: "ff".repeat(32) })).toBe(base);
    const changed: Partial<AuditEventRecord> = {
      id: "0193a1f2-0000-7000-8000-000000000000",
      timestamp: new Date(record.timestamp.getTime() + 1),
      contentType: "Invoice",
      objectId: "43",
      content: { ...record.content, amount: "12.51" },
      userId: null,
      url: null,
      method: "PUT",
      remoteAddr: "203.0.113.8",
      queryParams: {},
      postData: {},
      headers: {},
      action: "order.ship",
      outcome: "success",
      severity: "critical",
      tenantId: "tenant-2",
      requestId: null,
      chainId: "other",
      seq: 4,
      prevHash: null,
    };
    expect(Object.keys(changed).sort()).toEqual([...HASHED_FIELDS].sort());
    for (const [field, value] of Object.entries(changed)) {
      expect({ field, hash: eventHash({ ...record, [field]: value }) }).not.toEqual({ field, hash: base });
    }
  });
});

describe("integrity keys and checkpoint signatures", () => {
  const secret = "s".repeat(32);
  const checkpoint: CheckpointFields = { chainId: "chain", seq: 1000, hash: "cd".repeat(32), keyId: derivedKeyId(Buffer.from(secret)), createdAt: new Date("2026-12-01T00:00:00.000Z") };

  it("names a single secret by a digest of it, and a list by its ids, the first signing", () => {
    expect(resolveIntegrityKeys(secret).signing.id).toBe(checkpoint.keyId);
    const ring = resolveIntegrityKeys([{ id: "2027", secret: "n".repeat(40) }, { id: "2026", secret: Buffer.alloc(32, 7) }]);
    expect(ring.signing.id).toBe("2027");
    expect([...ring.byId.keys()]).toEqual(["2027", "2026"]);
  });

  it.each([
    ["a short secret", "short"],
    ["a short buffer", Buffer.alloc(31)],
    ["an empty list", []],
    ["an id with a space", [{ id: "a b", secret }]],
    ["two keys with one id", [{ id: "k", secret }, { id: "k", secret }]],
    ["a number", 42],
  ])("refuses %s with ERR_AUDIT_CONFIG", (_, key) => {
    expect(() => resolveIntegrityKeys(key)).toThrow(expect.objectContaining({ code: "ERR_AUDIT_CONFIG" }));
  });

  it("verifies a signature under the key it names, after rotation too, and nothing altered", () => {
    const old = resolveIntegrityKeys(secret);
    const signature = signCheckpoint(checkpoint, old.signing);
    const rotated = resolveIntegrityKeys([{ id: "next", secret: "n".repeat(32) }, { id: checkpoint.keyId, secret }]);
    expect(verifyCheckpointSignature(checkpoint, signature, rotated)).toBe(true);
    expect(verifyCheckpointSignature({ ...checkpoint, seq: 1001 }, signature, rotated)).toBe(false);
    expect(verifyCheckpointSignature({ ...checkpoint, hash: "ce".repeat(32) }, signature, rotated)).toBe(false);
    expect(verifyCheckpointSignature({ ...checkpoint, createdAt: new Date(checkpoint.createdAt.getTime() + 1) }, signature, rotated)).toBe(false);
    expect(verifyCheckpointSignature(checkpoint, signature, resolveIntegrityKeys("x".repeat(32)))).toBe(false);
    expect(verifyCheckpointSignature(checkpoint, "not hex", rotated)).toBe(false);
  });
});
