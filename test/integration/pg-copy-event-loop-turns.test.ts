import fc from "fast-check";

import { prismaStore } from "../../src";
import { newEventIdentity } from "../../src/model/event-record";
import type { EventRow } from "../../src/stores/store";
import { sampleRecord } from "../conformance/store-conformance";
import { copyRecordingPool, type CopyRecordingPool } from "../support/copy-pool";
import { openDatabase, type TestDatabase } from "../support/databases";
import { turnCounter, unitsPerTurn } from "../support/event-loop-turns";

/**
 * A batch written by COPY gives the event loop back while its text is built: built in one
 * go, 1000 events of about 800 bytes took 5-14 ms of CPU during which no request, timer or
 * spool acknowledgement of the process ran (the p99 of `npm run bench:durable-ack`). So the
 * text goes in pieces of about 64 Ki UTF-16 units with a turn of the event loop between
 * them; what this checks is how much text is written within one turn of the loop, counted
 * by an immediate that re-arms itself (it runs once per turn), for batches of any size and
 * rows of any length, and that the batch is stored whole all the same.
 */
const PIECE_UNITS = 64 * 1024;

describe("a COPY batch gives the event loop back between pieces of its text", () => {
  let db: TestDatabase<"postgresql">;
  const counter = turnCounter();
  const poolCountingTurns = () => copyRecordingPool(db.url, {}, () => counter.turns);
  /** Units of COPY text written in each turn of the event loop. */
  const perTurn = (pool: CopyRecordingPool) => unitsPerTurn(pool.pieces.map(({ units, noted }) => ({ units, turn: noted })));
  beforeAll(async () => {
    db = await openDatabase("postgresql", { name: "pg_copy_event_loop_turns" });
  });
  afterAll(async () => {
    await db?.close();
  });
  beforeEach(() => counter.start());
  afterEach(() => counter.stop());

  /** `count` rows, each with a content string of `sizes[i % sizes.length]` characters. */
  function rowsOf(count: number, sizes: readonly number[]): EventRow[] {
    return Array.from({ length: count }, (_, i) => ({ ...sampleRecord(), ...newEventIdentity(), objectId: String(i), content: { note: "x".repeat(sizes[i % sizes.length]!), i } }) as EventRow);
  }

  it("writes 1000 rows of 800 bytes in many turns, at most a few pieces each, and stores them all", async () => {
    await db.reset();
    const pool = poolCountingTurns();
    try {
      const rows = rowsOf(1000, [700]);
      await prismaStore(db.prisma, { pgPool: pool }).writeRows(rows);
      const [{ n }] = (await db.prisma.$queryRawUnsafe<{ n: number }[]>("SELECT count(*)::int AS n FROM audit_events")) as [{ n: number }];
      const total = pool.pieces.reduce((sum, piece) => sum + piece.units, 0);
      const turns = perTurn(pool);
      expect({ n, spreadOver: turns.size >= 6, total: total > 10 * PIECE_UNITS, mostInOneTurn: Math.max(...turns.values()) <= 3 * PIECE_UNITS }).toEqual({
        n: 1000,
        spreadOver: true,
        total: true,
        mostInOneTurn: true,
      });
    } finally {
      await pool.end();
    }
  });

  it("holds for any batch size and row length: no piece is longer than a piece or one row, and no turn writes more than three", async () => {
    const pool = poolCountingTurns();
    try {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 1, max: 600 }), fc.array(fc.integer({ min: 0, max: 200_000 }), { minLength: 1, maxLength: 4 }), async (count, sizes) => {
          await db.reset();
          pool.pieces.length = 0;
          const rows = rowsOf(count, sizes);
          await prismaStore(db.prisma, { pgPool: pool }).writeRows(rows);
          const [{ n }] = (await db.prisma.$queryRawUnsafe<{ n: number }[]>("SELECT count(*)::int AS n FROM audit_events")) as [{ n: number }];
          // A row's line is its content plus about 700 units of other fields; a piece is whole
          // rows, so one row longer than a piece is a piece of its own, and several such
          // pieces may go in one turn (the loop went round between them: a drain, then an immediate).
          const longestLine = Math.max(...sizes) + 2_000;
          const piecesPerTurn = unitsPerTurn(pool.pieces.map(({ noted }) => ({ units: 1, turn: noted })));
          expect(n).toBe(count);
          expect(Math.max(...pool.pieces.map(({ units }) => units))).toBeLessThanOrEqual(Math.max(PIECE_UNITS, longestLine));
          expect(Math.max(...piecesPerTurn.values())).toBeLessThanOrEqual(3);
        }),
        { numRuns: 25 },
      );
    } finally {
      await pool.end();
    }
  }, 180_000);
});
