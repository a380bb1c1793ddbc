import fc from "fast-check";

import { prismaStore } from "../../src";
import { newEventIdentity } from "../../src/model/event-record";
import type { EventRow } from "../../src/stores/store";
import { sampleRecord } from "../conformance/store-conformance";
import { openDatabase, type TestDatabase } from "../support/databases";
import { turnCounter, unitsPerTurn } from "../support/event-loop-turns";

/**
 * A batch written through Prisma (PostgreSQL without a pgPool, MySQL) gives the event loop
 * back while its statements are built: built in one go, 1000 events of about 800 bytes held
 * the process for 5-26 ms (their JSON, then Prisma's handling of one 740 Ki parameter),
 * during which none of its requests, timers or spool acknowledgements ran. Each row's
 * content note is read as its values are built, so the turn of the event loop (counted by an
 * immediate that re-arms itself) at each read says how much was built in one turn.
 */
const TURN_UNITS = 64 * 1024;
/**
 * What a row's values hold beside its content's note, in UTF-16 units, at most. A turn
 * builds rows until 64 Ki units are built, so the notes read in one turn come to at most
 * that and one row more.
 */
const ROW_OVERHEAD_UNITS = 2_000;

jest.setTimeout(180_000);
describe.each(["postgresql", "mysql"] as const)("a batch written through Prisma on %s gives the event loop back while it is built", (provider) => {
  let db: TestDatabase<"postgresql" | "mysql">;
  const counter = turnCounter();
  beforeAll(async () => {
    db = await openDatabase(provider, { name: "bulk_insert_event_loop_turns" });
  });
  afterAll(async () => {
    await db?.close();
  });
  beforeEach(() => counter.start());
  afterEach(() => counter.stop());

  /** `sizes.length`-cycled rows whose content note is read (and its turn noted in `reads`) when the batch's values are built. */
  function watchedRows(count: number, sizes: readonly number[], reads: { turn: number; units: number }[]): EventRow[] {
    return Array.from({ length: count }, (_, i) => {
      const note = "x".repeat(sizes[i % sizes.length]!);
      // JSON.stringify reads the note as the row's values are built (grouping the batch reads only the content object).
      const content = Object.defineProperty({ i } as Record<string, unknown>, "note", {
        enumerable: true,
        get: () => {
          reads.push({ turn: counter.turns, units: note.length });
          return note;
        },
      });
      return { ...sampleRecord(), ...newEventIdentity(), objectId: String(i), content } as EventRow;
    });
  }

  async function stored(): Promise<number> {
    const [row] = (await db.prisma.$queryRawUnsafe<{ n: unknown }[]>("SELECT count(*) AS n FROM audit_events")) as [{ n: unknown }];
    return Number(row.n);
  }

  it("builds 1000 events of 800 bytes over many turns, about 64 Ki units each, and stores them all", async () => {
    await db.reset();
    const reads: { turn: number; units: number }[] = [];
    await prismaStore(db.prisma).writeRows(watchedRows(1000, [800], reads));
    const perTurn = unitsPerTurn(reads);
    expect({ stored: await stored(), turns: perTurn.size >= 8, mostInOneTurn: Math.max(...perTurn.values()) <= TURN_UNITS + 800 + ROW_OVERHEAD_UNITS }).toEqual({
      stored: 1000,
      turns: true,
      mostInOneTurn: true,
    });
  });

  it("holds for any batch size and row length: no turn builds more than 64 Ki units and a row", async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 400 }), fc.array(fc.integer({ min: 0, max: 100_000 }), { minLength: 1, maxLength: 4 }), async (count, sizes) => {
        await db.reset();
        const reads: { turn: number; units: number }[] = [];
        await prismaStore(db.prisma).writeRows(watchedRows(count, sizes, reads));
        expect(await stored()).toBe(count);
        expect(Math.max(...unitsPerTurn(reads).values())).toBeLessThanOrEqual(TURN_UNITS + Math.max(...sizes) + ROW_OVERHEAD_UNITS);
      }),
      { numRuns: 20 },
    );
  });
});
