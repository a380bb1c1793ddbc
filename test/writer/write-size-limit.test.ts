import fc from "fast-check";

import { WRITE_LIMIT_REGROWS_AFTER_MS, WriteSizeLimit } from "../../src/writer/write-size-limit";

/** What Prisma throws for an interactive transaction past its limit, and for other failures. */
const expired = Object.assign(new Error("Transaction API error: Transaction already closed: A commit cannot be executed on an expired transaction."), { code: "P2028" });
const couldNotStart = Object.assign(new Error("Transaction API error: Unable to start a transaction in the given time."), { code: "P2028" });
const refused = Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });
const MiB = 1024 * 1024;

/** Writes `events` events of `each` bytes through `limit` to a database that takes at most `takes` bytes a write in time; returns each write's events and outcome. */
function writeAll(limit: WriteSizeLimit, events: number, each: number, takes: (bytes: number) => boolean): { events: number; ok: boolean }[] {
  const writes: { events: number; ok: boolean }[] = [];
  let left = events;
  while (left > 0 && writes.length < 10_000) {
    const count = Math.min(left, Math.max(1, Math.floor(limit.bytes() / each)));
    const ok = takes(count * each);
    writes.push({ events: count, ok });
    if (ok) {
      limit.succeeded(count * each);
      left -= count;
    } else limit.failed(expired, count, count * each);
  }
  return writes;
}

describe("WriteSizeLimit", () => {
  afterEach(() => jest.useRealTimers());

  it("stays between one byte and the configured size, and moves only on a time limit of several events or a success", () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.constant("ok" as const), fc.record({ error: fc.constantFrom(expired, couldNotStart, refused), events: fc.integer({ min: 1, max: 1000 }), weight: fc.integer({ min: 1, max: 64 * MiB }) })), { maxLength: 30 }),
        (outcomes) => {
          const limit = new WriteSizeLimit(32 * MiB);
          for (const outcome of outcomes) {
            const before = limit.bytes();
            if (outcome === "ok") {
              limit.succeeded(before);
              expect(limit.bytes()).toBeGreaterThanOrEqual(before);
            } else {
              limit.failed(outcome.error, outcome.events, outcome.weight);
              if (outcome.error !== expired || outcome.events < 2) expect(limit.bytes()).toBe(before);
              else expect(limit.bytes()).toBe(Math.min(before, Math.max(1, Math.floor(outcome.weight / 2))));
            }
            expect(limit.bytes()).toBeGreaterThanOrEqual(1);
            expect(limit.bytes()).toBeLessThanOrEqual(32 * MiB);
          }
        },
      ),
    );
  });

  it("settles under a database's size limit with one refused write a halving, then keeps it", () => {
    fc.assert(
      // A single event always fits (one that does not is an outage, not a size).
      fc.property(fc.integer({ min: 1, max: 32 * MiB }), fc.integer({ min: 100, max: 1_000_000 }), (extra, each) => {
        const takes = each + extra;
        const limit = new WriteSizeLimit(32 * MiB);
        const writes = writeAll(limit, 2000, each, (bytes) => bytes <= takes);
        expect(writes.length).toBeLessThan(10_000);
        // Once settled, every later batch goes without a refusal.
        const later = writeAll(limit, 2000, each, (bytes) => bytes <= takes);
        expect(later.filter((w) => !w.ok)).toEqual([]);
      }),
    );
  });

  it("after a stuck database (every write failing, whatever its size) comes back within a few writes to half the first failed size", () => {
    const limit = new WriteSizeLimit(32 * MiB);
    let stuck = true;
    // The database fails 12 writes in a row, each smaller, then answers again.
    const writes = writeAll(limit, 100_000, 1000, (bytes) => {
      if (stuck && bytes > 0) {
        stuck = limit.bytes() > 10_000;
        return false;
      }
      return true;
    });
    const after = writes.slice(writes.findIndex((w) => w.ok));
    // 16 MiB a write (16 777 events of 1 000 bytes) again within 15 writes.
    expect(after.slice(0, 15).some((w) => w.events === 16_777)).toBe(true);
  });

  it("leaves the ceiling alone when a light write fails after heavier ones went (a lock wait, not a size): back to full size within a few writes", () => {
    const limit = new WriteSizeLimit(32 * MiB);
    limit.succeeded(32 * MiB);
    expect(limit.failed(expired, 3, 3000)).toBe(1500);
    for (let i = 0; i < 15; i++) limit.succeeded(limit.bytes());
    expect(limit.bytes()).toBe(32 * MiB);
  });

  it("says the size it set, and counts ten minutes from the last time limit, not the first of a run", () => {
    jest.useFakeTimers({ now: 0 });
    const limit = new WriteSizeLimit(32 * MiB);
    let size = limit.failed(expired, 40, 16 * MiB);
    // A stuck database: a time limit every 30 s for 15 minutes, each write smaller.
    for (let at = 30_000; at <= 15 * 60_000; at += 30_000) {
      jest.setSystemTime(at);
      const next = limit.failed(expired, 40, limit.bytes());
      if (next !== undefined) size = next;
      expect(limit.bytes()).toBe(size);
    }
    // Nine minutes after the last: not yet; ten: the ceiling (8 MiB, half the first failed size) doubles.
    jest.setSystemTime(15 * 60_000 + 9 * 60_000);
    expect(limit.bytes()).toBe(size);
    jest.setSystemTime(15 * 60_000 + WRITE_LIMIT_REGROWS_AFTER_MS);
    expect(limit.bytes()).toBe(16 * MiB);
  });

  it("raises the ceiling toward the configured size once per ten minutes without a time limit", () => {
    jest.useFakeTimers({ now: 0 });
    const limit = new WriteSizeLimit(32 * MiB);
    expect(limit.failed(expired, 40, 8 * MiB)).toBe(4 * MiB);
    limit.succeeded(4 * MiB);
    expect(limit.bytes()).toBe(4 * MiB);
    jest.setSystemTime(WRITE_LIMIT_REGROWS_AFTER_MS - 1);
    expect(limit.bytes()).toBe(4 * MiB);
    jest.setSystemTime(WRITE_LIMIT_REGROWS_AFTER_MS);
    expect([limit.bytes(), limit.bytes()]).toEqual([8 * MiB, 8 * MiB]);
    jest.setSystemTime(10 * WRITE_LIMIT_REGROWS_AFTER_MS);
    expect(limit.bytes()).toBe(16 * MiB);
    jest.setSystemTime(20 * WRITE_LIMIT_REGROWS_AFTER_MS);
    expect(limit.bytes()).toBe(32 * MiB);
  });
});
