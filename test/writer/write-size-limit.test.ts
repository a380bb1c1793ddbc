import fc from "fast-check";

import { WRITE_LIMIT_REGROWS_AFTER_MS, WriteSizeLimit } from "../../src/writer/write-size-limit";

/** What Prisma throws for an interactive transaction past its limit, and for other failures. */
const expired = Object.assign(new Error("Transaction API error: Transaction already closed: A commit cannot be executed on an expired transaction."), { code: "P2028" });
const couldNotStart = Object.assign(new Error("Transaction API error: Unable to start a transaction in the given time."), { code: "P2028" });
const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });
const MiB = 1024 * 1024;

describe("WriteSizeLimit", () => {
  afterEach(() => jest.useRealTimers());

  it("halves to the failed write's weight only for a time limit on several events, and never grows on a failure", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ error: fc.constantFrom(expired, couldNotStart, refused), events: fc.integer({ min: 1, max: 1000 }), weight: fc.integer({ min: 1, max: 64 * MiB }) }), { maxLength: 20 }),
        (failures) => {
          const limit = new WriteSizeLimit(32 * MiB);
          let expected = 32 * MiB;
          for (const { error, events, weight } of failures) {
            const before = limit.bytes();
            limit.failed(error, events, weight);
            if (error === expired && events > 1) expected = Math.min(before, Math.max(1, Math.floor(weight / 2)));
            expect(limit.bytes()).toBe(expected);
            expect(limit.bytes()).toBeGreaterThanOrEqual(1);
          }
        },
      ),
    );
  });

  it("doubles back toward the configured size once per ten minutes without a time limit", () => {
    jest.useFakeTimers({ now: 0 });
    const limit = new WriteSizeLimit(32 * MiB);
    expect(limit.failed(expired, 40, 8 * MiB)).toBe(true);
    expect(limit.bytes()).toBe(4 * MiB);
    jest.setSystemTime(WRITE_LIMIT_REGROWS_AFTER_MS - 1);
    expect(limit.bytes()).toBe(4 * MiB);
    jest.setSystemTime(WRITE_LIMIT_REGROWS_AFTER_MS);
    expect(limit.bytes()).toBe(8 * MiB);
    expect(limit.bytes()).toBe(8 * MiB);
    jest.setSystemTime(10 * WRITE_LIMIT_REGROWS_AFTER_MS);
    expect([limit.bytes(), limit.bytes()]).toEqual([16 * MiB, 16 * MiB]);
    jest.setSystemTime(20 * WRITE_LIMIT_REGROWS_AFTER_MS);
    limit.bytes();
    jest.setSystemTime(30 * WRITE_LIMIT_REGROWS_AFTER_MS);
    expect(limit.bytes()).toBe(32 * MiB);
  });
});
