import fc from "fast-check";
import { validate, version } from "uuid";

import { newEventIdentity } from "../../src/model/event-record";
import { requestIdOf } from "../../src/request-id";
import { uuidV7 } from "../../src/model/uuid-v7";

const V7_TEXT = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The Unix milliseconds in the first 48 bits of a UUID v7's text. */
function millisOf(id: string): number {
  return parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}

describe("uuidV7", () => {
  it("makes RFC 9562 version 7 ids, strictly increasing in any burst, carrying the time they were made", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3000 }), (count) => {
        const before = Date.now();
        const ids: string[] = [];
        const wrong: string[] = [];
        for (let i = 0; i < count; i++) {
          const { id, millis } = uuidV7();
          if (!V7_TEXT.test(id) || millisOf(id) !== millis || (i > 0 && !(id > ids[i - 1]!))) wrong.push(`${ids[i - 1]} then ${id} (${millis})`);
          ids.push(id);
        }
        const after = Date.now();
        expect(wrong).toEqual([]);
        expect(millisOf(ids[0]!)).toBeGreaterThanOrEqual(before);
        expect(millisOf(ids.at(-1)!)).toBeLessThanOrEqual(after);
      }),
      { numRuns: 30 },
    );
  });

  it("reads as a version 7 UUID to the uuid package, and ids do not repeat across many pool refills", () => {
    const seen = new Set<string>();
    for (let i = 0; i < 50_000; i++) seen.add(uuidV7().id);
    expect(seen.size).toBe(50_000);
    const { id } = uuidV7();
    expect(validate(id)).toBe(true);
    expect(version(id)).toBe(7);
  });

  it("keeps event ids and request ids in one increasing sequence, and an event's timestamp is its id's time", () => {
    const event = newEventIdentity();
    const requestId = requestIdOf({}, "x-request-id");
    const next = newEventIdentity();
    expect(event.timestamp.getTime()).toBe(millisOf(event.id));
    expect(requestId).toMatch(V7_TEXT);
    expect(event.id < requestId && requestId < next.id).toBe(true);
  });
});
