/**
 * Events without chain fields dated before the first signed event look like events written
 * before integrity was switched on: verify reports them and `ok` stays true. An attacker
 * with INSERT alone can forge such an event (no chain fields, back-dated). The pin
 * `expectedUnsigned` (the count `report.unsigned` gave when integrity was switched on) makes
 * any other count a problem, on every database.
 */
import fc from "fast-check";
import { v7 as uuidv7 } from "uuid";

import { verifyAuditTrail } from "../../src/integrity/verify-trail";
import { prismaStore } from "../../src/stores/prisma-store";
import { openDatabase, providers, type TestDatabase } from "../support/databases";
import { buildTrail, insertRaw, rawSql, TEST_KEYS, TRAIL_START, writeTrail } from "./verify-trail-writer";

const key = [
  { id: "2027-01", secret: "a test secret of at least thirty-two characters, new" },
  { id: "2026-01", secret: "a test secret of at least thirty-two characters, old" },
];

describe.each(providers)("verify pins the count of events without chain fields on %s", (provider) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await openDatabase(provider);
  });
  afterAll(() => db?.close());

  it("fails for any count other than the pinned one (a back-dated INSERT without chain fields, or a deletion); passes the pinned one", async () => {
    const store = prismaStore(db.prisma);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 3 }), fc.integer({ min: -3, max: 2 }), async (before, change) => {
        const delta = Math.max(change, -before);
        await db.reset();
        const trail = buildTrail([3, 2], 2, before);
        await writeTrail(db, store, trail);
        const pinned = await verifyAuditTrail({ store, key, expectedUnsigned: before });
        expect(pinned).toMatchObject({ ok: true, unsigned: before });

        const forged = Array.from({ length: Math.max(0, delta) }, (_, i) => ({ ...trail.events.at(-1)!, id: uuidv7(), objectId: `forged-${i}`, timestamp: new Date(TRAIL_START - (i + 1) * 3_600_000), chainId: null, seq: null, prevHash: null, hash: null }));
        for (const event of forged) await insertRaw(db, event);
        const unsignedIds = trail.events.filter((e) => e.chainId === null).map((e) => e.id);
        for (const id of unsignedIds.slice(0, Math.max(0, -delta))) await rawSql(db)(`DELETE FROM "audit_events" WHERE "id" = ?`, id);

        // Without the pin the forgery passes as an event written before integrity was on.
        const unpinned = await verifyAuditTrail({ store, key });
        expect(unpinned).toMatchObject({ ok: true, unsigned: before + delta });
        const report = await verifyAuditTrail({ store, key, expectedUnsigned: before });
        expect(report.unsigned).toBe(before + delta);
        if (delta === 0) {
          expect(report.ok).toBe(true);
          return;
        }
        expect(report.ok).toBe(false);
        const oldest = forged.at(-1)?.id ?? unsignedIds[-delta];
        expect(report.problems).toEqual([
          {
            kind: "unsigned",
            chainId: "",
            seq: 0,
            ...(oldest === undefined ? {} : { id: oldest }),
            detail: expect.stringContaining(`${before + delta} event(s) carry no hash chain, ${before} expected (expectedUnsigned)`),
          },
        ]);
      }),
      { numRuns: Number(process.env.VERIFY_PROPERTY_RUNS ?? 8) },
    );
    expect(TEST_KEYS.signing.id).toBe("2027-01");
  }, 300_000);
});

describe("verifyAuditTrail({ expectedUnsigned })", () => {
  it.each([-1, 1.5, Number.NaN, "3", 2 ** 53])("refuses %p, naming the fix", async (value) => {
    await expect(verifyAuditTrail({ key, expectedUnsigned: value as number })).rejects.toMatchObject({
      code: "ERR_AUDIT_QUERY",
      message: expect.stringContaining("expectedUnsigned must be a whole number from 0"),
    });
  });
});
