import fc from "fast-check";
import { sealEvent, verifySeal } from "../../src/integrity/seal";
import { eventHash } from "../../src/integrity/canonical-event";
import { toCloudEvent } from "../../src/integrity/cloud-event";
import { EVENT_FIELDS, type AuditEventRecord } from "../../src/model/event-record";
import { sampleRecord } from "../conformance/store-conformance";
import { AuditConfigError } from "../../src/errors";
import { thrownBy } from "../support/thrown";
import { recordArbitrary, reversedKeys } from "./record-arbitrary";

const KEY = "k".repeat(32);
const OTHER = Buffer.alloc(32, 7);

/** Another value for `field`, of the field's own type, different from `record`'s. */
function changed(record: AuditEventRecord, field: (typeof EVENT_FIELDS)[number]): unknown {
  const value = record[field];
  if (value instanceof Date) return new Date(value.getTime() + 1);
  if (typeof value === "number") return value + 1;
  if (typeof value === "string") return `${value}x`;
  if (value === null) return field === "seq" ? 1 : "x";
  // An object: a key it has goes, or one it lacks comes.
  const keys = Object.keys(value);
  return keys.length > 0 ? Object.fromEntries(Object.entries(value).slice(1)) : { added: true };
}

describe("sealEvent and verifySeal", () => {
  it("seals with the SHA-256 of the canonical form and an HMAC of it, 64 hex digits each", () => {
    const seal = sealEvent(sampleRecord(), KEY);
    expect(seal).toEqual({ hash: expect.stringMatching(/^[0-9a-f]{64}$/), signature: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(Object.keys(seal).sort()).toEqual(["hash", "signature"]);
  });

  it("covers the hash field too, unlike the chain's eventHash", () => {
    const record = { ...sampleRecord(), hash: "ab".repeat(32) };
    const seal = sealEvent(record, KEY);
    expect(eventHash({ ...record, hash: "cd".repeat(32) })).toBe(eventHash(record));
    expect(verifySeal({ ...record, hash: "cd".repeat(32) }, seal, KEY)).toBe(false);
  });

  it("breaks when any field of any event changes", () => {
    fc.assert(
      fc.property(recordArbitrary, fc.constantFrom(...EVENT_FIELDS), (record, field) => {
        const seal = sealEvent(record, KEY);
        expect(verifySeal(record, seal, KEY)).toBe(true);
        expect(verifySeal({ ...record, [field]: changed(record, field) } as AuditEventRecord, seal, KEY)).toBe(false);
      }),
    );
  });

  it("holds after a JSON round trip that reorders keys, and on the data of the event's CloudEvent", () => {
    fc.assert(
      fc.property(recordArbitrary, (record) => {
        const seal = sealEvent(record, KEY);
        const roundTrip = JSON.parse(JSON.stringify(reversedKeys(record))) as AuditEventRecord;
        expect(verifySeal(roundTrip, seal, KEY)).toBe(true);
        const data = (JSON.parse(JSON.stringify(toCloudEvent(record))) as { data: AuditEventRecord }).data;
        expect(verifySeal(data, seal, KEY)).toBe(true);
      }),
    );
  });

  it("refuses a seal under another key, a forged signature and a hash replaced with the event", () => {
    fc.assert(
      fc.property(recordArbitrary, recordArbitrary, (record, other) => {
        const seal = sealEvent(record, KEY);
        expect(verifySeal(record, seal, OTHER)).toBe(false);
        const flipped = `${seal.signature[0] === "0" ? "1" : "0"}${seal.signature.slice(1)}`;
        expect(verifySeal(record, { ...seal, signature: flipped }, KEY)).toBe(false);
        // An attacker who swaps the event and recomputes the hash still lacks the key.
        const forged = { hash: sealEvent(other, OTHER).hash, signature: seal.signature };
        expect(verifySeal(other, forged, KEY)).toBe(forged.hash === seal.hash);
      }),
    );
  });

  it("seals a record whose timestamp is a Date of another realm (a memoryStore copy) as the record itself", () => {
    const record = sampleRecord();
    const copy = structuredClone(record);
    expect(copy.timestamp instanceof Date).toBe(false);
    expect(sealEvent(copy, KEY)).toEqual(sealEvent(record, KEY));
    expect(toCloudEvent(copy)).toEqual(toCloudEvent(record));
  });

  it("signs with the first key of a rotation list and verifies under any key of it", () => {
    const next = [{ id: "2027", secret: OTHER }, { id: "2026", secret: KEY }];
    const record = sampleRecord();
    const sealedNow = sealEvent(record, next);
    expect(sealedNow).toEqual(sealEvent(record, OTHER));
    expect(verifySeal(record, sealedNow, next)).toBe(true);
    expect(verifySeal(record, sealEvent(record, KEY), next)).toBe(true);
    expect(verifySeal(record, sealedNow, KEY)).toBe(false);
  });

  it("answers false, never throws, for a seal of the wrong shape", () => {
    const record = sampleRecord();
    const { hash, signature } = sealEvent(record, KEY);
    for (const bad of [null, undefined, "seal", {}, { hash }, { signature }, { hash: hash.toUpperCase(), signature }, { hash, signature: signature.slice(2) }, { hash: 1, signature: 2 }]) {
      expect(verifySeal(record, bad as never, KEY)).toBe(false);
    }
  });

  it("refuses a key that integrity.key would refuse, naming the fix", () => {
    expect(thrownBy(() => sealEvent(sampleRecord(), "short"), AuditConfigError, "ERR_AUDIT_CONFIG").message).toMatch(/sealEvent\(\): key must be .*at least 32/);
    expect(thrownBy(() => verifySeal(sampleRecord(), { hash: "", signature: "" }, []), AuditConfigError, "ERR_AUDIT_CONFIG").message).toMatch(/verifySeal\(\): key/);
  });
});
