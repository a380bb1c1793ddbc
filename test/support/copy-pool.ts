import type { PoolConfig } from "pg";

import type { PgPoolClientLike, PgPoolLike } from "../../src/stores/pg-pool";
import { testPgPool } from "./test-pg-pool";

/** A node-postgres pool that notes each `COPY ... FROM STDIN` run through it, and how each ended. */
export interface CopyRecordingPool extends PgPoolLike {
  /** Every COPY into the database through the pool, in order, with `ok` false when it failed. */
  readonly copies: { sql: string; ok: boolean }[];
  /** Every piece of COPY data written, in order: its length in UTF-16 units, and `noted()` when it was written. */
  readonly pieces: { units: number; noted: number }[];
  /** Closes the pool's connections. */
  end(): Promise<void>;
}

/**
 * A real `pg` Pool on `url` (with `config`, e.g. `{ options: "-c TimeZone=Asia/Kolkata" }`)
 * whose connections record the COPY streams they run, so a test can prove that a store
 * wrote through COPY rather than through its fallback, and each piece of data they write,
 * with what `noted()` returned then (a turn of the event loop, see `turnCounter`).
 *
 * @example
 * const pool = copyRecordingPool(db.url);
 * await prismaStore(db.prisma, { pgPool: pool }).writeRows(rows);
 * expect(pool.copies).toEqual([{ sql: expect.stringMatching(/COPY .* FROM STDIN/), ok: true }]);
 */
export function copyRecordingPool(url: string, config: PoolConfig = {}, noted: () => number = () => 0): CopyRecordingPool {
  const pool = testPgPool(url, { max: 2, ...config });
  const copies: { sql: string; ok: boolean }[] = [];
  const pieces: { units: number; noted: number }[] = [];
  return {
    copies,
    pieces,
    end: () => pool.end(),
    async connect(): Promise<PgPoolClientLike> {
      const client = await pool.connect();
      const query = client.query.bind(client) as (arg: unknown) => unknown;
      return {
        query: ((arg: unknown) => {
          const text = (arg as { text?: unknown }).text;
          if (typeof text === "string" && /^(?:\/\* [^*]* \*\/ )?COPY .* FROM STDIN/.test(text)) {
            const entry = { sql: text, ok: false };
            copies.push(entry);
            const stream = query(arg) as NodeJS.WritableStream;
            stream.on("finish", () => (entry.ok = true));
            const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
            stream.write = ((chunk: unknown, ...rest: unknown[]) => {
              pieces.push({ units: String(chunk).length, noted: noted() });
              return write(chunk, ...rest);
            }) as typeof stream.write;
            return stream;
          }
          return query(arg);
        }) as PgPoolClientLike["query"],
        release: (error?: Error | boolean) => client.release(error),
      };
    },
  };
}
