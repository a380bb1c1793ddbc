import fc from "fast-check";

import { prismaStore } from "../../src";
import { newEventIdentity } from "../../src/model/event-record";
import type { PgPoolClientLike, PgPoolLike } from "../../src/stores/pg-pool";
import type { EventRow } from "../../src/stores/store";
import { sampleRecord } from "../conformance/store-conformance";
import { openDatabase, type TestDatabase } from "../support/databases";
import { testPgPool } from "../support/test-pg-pool";

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

/** A pool whose COPY streams note, for each piece written, its length and the turn of the event loop it was written in. */
function turnRecordingPool(url: string, turn: () => number): PgPoolLike & { pieces: { units: number; turn: number }[]; end(): Promise<void> } {
  const pool = testPgPool(url, { max: 2 });
  const pieces: { units: number; turn: number }[] = [];
  return {
    pieces,
    end: () => pool.end(),
    async connect(): Promise<PgPoolClientLike> {
      const client = await pool.connect();
      const query = client.query.bind(client) as (arg: unknown) => unknown;
      return {
        query: ((arg: unknown) => {
          const made = query(arg);
          const text = (arg as { text?: unknown }).text;
          if (typeof text === "string" && text.startsWith("COPY ")) {
            const stream = made as NodeJS.WritableStream;
            const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
            stream.write = ((chunk: unknown, ...rest: unknown[]) => {
              pieces.push({ units: String(chunk).length, turn: turn() });
              return write(chunk, ...rest);
            }) as typeof stream.write;
          }
          return made;
        }) as PgPoolClientLike["query"],
        release: (error?: Error | boolean) => client.release(error),
      };
    },
  };
}

describe("a COPY batch gives the event loop back between pieces of its text", () => {
  let db: TestDatabase<"postgresql">;
  let turns = 0;
  let ticking: NodeJS.Immediate | undefined;
  const tick = () => {
    turns++;
    ticking = setImmediate(tick);
  };
  beforeAll(async () => {
    db = await openDatabase("postgresql", { name: "pg_copy_event_loop_turns" });
  });
  afterAll(async () => {
    await db?.close();
  });
  beforeEach(() => {
    turns = 0;
    ticking = setImmediate(tick);
  });
  afterEach(() => {
    clearImmediate(ticking);
  });

  /** `count` rows, each with a content string of `sizes[i % sizes.length]` characters. */
  function rowsOf(count: number, sizes: readonly number[]): EventRow[] {
    return Array.from({ length: count }, (_, i) => ({ ...sampleRecord(), ...newEventIdentity(), objectId: String(i), content: { note: "x".repeat(sizes[i % sizes.length]!), i } }) as EventRow);
  }

  it("writes 1000 rows of 800 bytes in many turns, at most a few pieces each, and stores them all", async () => {
    await db.reset();
    const pool = turnRecordingPool(db.url, () => turns);
    try {
      const rows = rowsOf(1000, [700]);
      await prismaStore(db.prisma, { pgPool: pool }).writeRows(rows);
      const [{ n }] = (await db.prisma.$queryRawUnsafe<{ n: number }[]>("SELECT count(*)::int AS n FROM audit_events")) as [{ n: number }];
      const total = pool.pieces.reduce((sum, piece) => sum + piece.units, 0);
      const perTurn = unitsPerTurn(pool.pieces);
      expect({ n, spreadOver: perTurn.size >= 6, total: total > 10 * PIECE_UNITS, mostInOneTurn: Math.max(...perTurn.values()) <= 3 * PIECE_UNITS }).toEqual({
        n: 1000,
        spreadOver: true,
        total: true,
        mostInOneTurn: true,
      });
    } finally {
      await pool.end();
    }
  });

  it("holds for any batch size and row length: no turn writes more than three pieces and the longest row", async () => {
    const pool = turnRecordingPool(db.url, () => turns);
    try {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 1, max: 600 }), fc.array(fc.integer({ min: 0, max: 200_000 }), { minLength: 1, maxLength: 4 }), async (count, sizes) => {
          await db.reset();
          pool.pieces.length = 0;
          const rows = rowsOf(count, sizes);
          await prismaStore(db.prisma, { pgPool: pool }).writeRows(rows);
          const [{ n }] = (await db.prisma.$queryRawUnsafe<{ n: number }[]>("SELECT count(*)::int AS n FROM audit_events")) as [{ n: number }];
          // A row's line is its content plus about 700 units of other fields.
          const longestLine = Math.max(...sizes) + 2_000;
          expect(n).toBe(count);
          expect(Math.max(...unitsPerTurn(pool.pieces).values())).toBeLessThanOrEqual(3 * PIECE_UNITS + longestLine);
        }),
        { numRuns: 25 },
      );
    } finally {
      await pool.end();
    }
  }, 180_000);
});

/** Units of COPY text written in each turn of the event loop. */
function unitsPerTurn(pieces: readonly { units: number; turn: number }[]): Map<number, number> {
  const byTurn = new Map<number, number>();
  for (const { units, turn } of pieces) byTurn.set(turn, (byTurn.get(turn) ?? 0) + units);
  return byTurn;
}
