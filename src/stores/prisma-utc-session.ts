import type { ModelClient, RawClient, TransactionalClient } from "./prisma-client";
import type { SqlProvider } from "./prisma-metadata";

/**
 * Whether the session's TimeZone agrees with UTC at the instants that matter: now,
 * and mid-January and mid-July of this year (so a zone that is UTC+0 only in winter,
 * such as Europe/London, is caught in any season).
 */
const ZONE_CHECK = `SELECT current_setting('TimeZone') AS zone,
  bool_and(timezone(current_setting('TimeZone'), m) = timezone('UTC', m)) AS utc
FROM unnest(ARRAY[now(), date_trunc('year', now()) + interval '14 days', date_trunc('year', now()) + interval '195 days']) AS m`;

/**
 * Sets the transaction's TimeZone to UTC and answers the one it had. The subquery
 * (fenced by OFFSET 0) reads the old value before `set_config` runs.
 */
const PIN_UTC = `SELECT z.zone, set_config('TimeZone', 'UTC', true) AS pinned FROM (SELECT current_setting('TimeZone') AS zone OFFSET 0) AS z`;

/**
 * A PostgreSQL `timestamptz` expression as epoch milliseconds: how the raw statements
 * read instants, since the pg adapter reads a `timestamptz` as the session's wall
 * clock labelled UTC (see {@link UtcSession}), and a number is read as it is.
 */
export function epochMilliseconds(expression: string): string {
  return `(extract(epoch from ${expression}) * 1000)::float8`;
}


/**
 * Runs the store's own Prisma model calls (`create`, `createMany`, `findUnique`,
 * `count`, ...) so that the instants they write and read are UTC.
 *
 * Why: `@prisma/adapter-pg` sends a `Date` as `"2026-11-23 18:52:18.123"`, without a
 * zone, which PostgreSQL reads in the session's `TimeZone`, and reads a `timestamptz`
 * back by relabelling the session's offset as `+00:00` (prisma/orm#26786). Outside
 * UTC, a row written through Prisma is stored an offset away from its instant, and
 * disagrees with every statement that names its instants explicitly (the buffered
 * writer, filters, archival). Raw statements of this library never depend on the
 * session (instants go in as UTC text cast to `timestamptz` and come out as epoch
 * milliseconds); this covers the calls that go through Prisma's own conversion.
 *
 * The session's zone is checked once, at the store's first call. When it is UTC the
 * calls run as they are; otherwise each runs in a transaction with `SET LOCAL
 * TimeZone = 'UTC'` (inside a caller's transaction, set and restored around the
 * call, so the caller's own statements keep their zone), and `warn` is told once.
 * MySQL/MariaDB (`DATETIME` columns, written and read as UTC text by the adapter)
 * and SQLite (ISO 8601 text in UTC) need nothing: there the calls run as they are.
 */
export interface UtcSession {
  /** Runs `work` with the store's own client. */
  run<T>(work: (client: ModelClient) => Promise<T>): Promise<T>;
  /** Runs `work` inside the caller's transaction `tx`, leaving that transaction's zone as it found it. */
  runIn<T>(tx: ModelClient, work: (client: ModelClient) => Promise<T>): Promise<T>;
}

/** A single Prisma call has no time limit: the transaction wrapped around one must not impose Prisma's 5 s default. */
const WRAP_OPTIONS = { timeout: 60_000, maxWait: 10_000 };

/**
 * The {@link UtcSession} of a store on `client`.
 *
 * @param provider the database, or null when the client carries no metadata (a stand-in in tests): then calls run as they are.
 * @param warn told once when the PostgreSQL session is not in UTC, with the connection option that saves the wrapping.
 */
export function utcSession(client: TransactionalClient, provider: SqlProvider | null, warn: (message: string) => void): UtcSession {
  if (provider !== "postgresql") {
    return { run: (work) => work(client as unknown as ModelClient), runIn: (tx, work) => work(tx) };
  }
  let verdict: Promise<boolean> | undefined;
  /** Whether calls must pin UTC; checked on `via` (the caller's transaction when it comes first, so a pool of one is not waited on). */
  function needsPin(via: RawClient): Promise<boolean> {
    if (verdict === undefined) {
      verdict = via.$queryRawUnsafe<{ zone: string; utc: boolean }[]>(ZONE_CHECK).then(([row]) => {
        if (row === undefined || row.utc) return false;
        warn(
          `audit-events: the PostgreSQL session TimeZone is "${row.zone}", so Prisma's pg adapter shifts DateTime values by its offset (prisma/orm#26786), in your own models too. ` +
            "audit-events keeps its events in UTC by running each of its Prisma calls in a transaction with SET LOCAL TimeZone = 'UTC'. " +
            "Connect in UTC to spare that: new PrismaPg({ connectionString, options: \"-c TimeZone=UTC\" }).",
        );
        return true;
      });
      // A failed check (the database was down) is made again by the next call.
      verdict.catch(() => {
        verdict = undefined;
      });
    }
    return verdict;
  }
  return {
    async run(work) {
      if (!(await needsPin(client))) return work(client as unknown as ModelClient);
      return client.$transaction(async (tx) => {
        await tx.$executeRawUnsafe("SET LOCAL TimeZone = 'UTC'");
        return work(tx);
      }, WRAP_OPTIONS);
    },
    async runIn(tx, work) {
      if (!(await needsPin(tx))) return work(tx);
      const [{ zone } = { zone: "UTC" }] = await tx.$queryRawUnsafe<{ zone: string }[]>(PIN_UTC);
      const restore = () => tx.$queryRawUnsafe("SELECT set_config('TimeZone', $1, true)", zone);
      const result = await work(tx).catch(async (error: unknown) => {
        // The failed call has aborted the transaction, whose rollback restores the zone.
        await restore().catch(() => undefined);
        throw error;
      });
      await restore();
      return result;
    },
  };
}
