import { randomUUID } from "node:crypto";

import type { RawClient } from "./prisma-client";

/**
 * The mark of one write through the pool: a comment, `/* audit-events copy <random UUID> *\/`,
 * that begins each of its COPY statements and the COMMIT of several, so `pg_stat_activity.query`
 * of the server session running it (or, between the COPYs of one transaction, that ran it
 * last) starts with it.
 * Random, so no other session holds it, whatever stands between this process and the
 * server (PgBouncer, a proxy), where neither `client.processID` nor a port is the server's.
 * Carried by the statement itself, it costs no round trip: an earlier mark by
 * `SET LOCAL application_name` needed a transaction even for a single COPY, two round
 * trips more a batch (a fifth of raw COPY's rate at batches of 100, `npm run bench:writer`).
 *
 * @example
 * copyMark(); // "/* audit-events copy 3f1c2a9e-6b0d-4e8f-9a7c-1d2e3f405162 *\/"
 * @throws nothing.
 */
export function copyMark(): string {
  return `/* audit-events copy ${randomUUID()} */`;
}

/** How long ending a given-up session may take before the write goes on without it. */
export const TERMINATE_DEADLINE_MS = 5_000;

/**
 * Ends the sessions whose statement begins with the mark (`$1`): only the write's, since
 * nothing else holds a random UUID, and only while it holds rows: active (in its COPY) or in
 * its transaction, not idle (`query` keeps the last statement of an idle session, which
 * behind PgBouncer may serve another client next). Also counts the sessions whose statement Prisma's role
 * may not read (`<insufficient privilege>`) that could be the write's: of the pool's login
 * role (`$2`, learnt by the pool's first look; `pg_stat_activity.usename` is shown for
 * every session) in this database. The server's background processes and the sessions of
 * other roles are always hidden from a role without `pg_read_all_stats`, and none of them
 * can hold the COPY: counted, they blamed the privilege whenever the session was gone.
 * Reads whether statements are tracked (`track_activities`), so that finding none is not
 * taken for a session gone: a setting of each session, read in Prisma's and in the pool's
 * (whose sessions show the state `disabled` when it is off for them).
 */
const TERMINATE_SQL = `SELECT
  (SELECT coalesce(array_agg(pg_terminate_backend(pid)), '{}') FROM pg_stat_activity WHERE left(query, length($1)) = $1 AND state <> 'idle') AS ended,
  (SELECT count(*)::int FROM pg_stat_activity WHERE query = '<insufficient privilege>' AND datname = current_database() AND ($2::text IS NULL OR usename = $2::text)) AS hidden,
  current_setting('track_activities') = 'on' AND NOT EXISTS (SELECT FROM pg_stat_activity WHERE state = 'disabled' AND datname = current_database() AND ($2::text IS NULL OR usename = $2::text)) AS tracked`;

/**
 * Ends, through `prisma` (another connection than the given-up one), the server session
 * whose statement carries `mark` (see {@link copyMark}): a session whose route died one way
 * lives on until its TCP keepalive ends it (two hours by default), holding the rows its
 * COPY had received, and an INSERT of the same ids waits for it. `pg_cancel_backend` does
 * not end a session reading COPY data; `pg_terminate_backend` does, and its transaction is
 * rolled back. Bounded by {@link TERMINATE_DEADLINE_MS}, since Prisma's connection may be
 * cut off too.
 *
 * @example
 * const outcome = await terminateCopySession(prisma, attempt.mark, "app"); // "its server session (...) was ended ..."
 * @param poolRole the pool's login role, when known: only its hidden sessions may be the write's.
 * @returns what became of the session, as a clause for the warning.
 * @throws nothing: a failure (no privilege to see or end a session of another role or of a
 *   superuser, statements not tracked, Prisma unreachable or late) is said in the clause.
 */
export async function terminateCopySession(prisma: RawClient, mark: string, poolRole?: string): Promise<string> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"late">((resolve) => {
    timer = setTimeout(() => resolve("late"), TERMINATE_DEADLINE_MS);
    timer.unref?.();
  });
  const leftAlive = "it holds the rows its COPY had received until the server's TCP keepalive ends it, and the write through Prisma waits for them";
  const session = `its server session (statement marked ${mark})`;
  try {
    const answer = await Promise.race([prisma.$queryRawUnsafe<[{ ended: boolean[]; hidden: number; tracked: boolean }]>(TERMINATE_SQL, mark, poolRole ?? null), late]);
    if (answer === "late") return `ending ${session} had no answer within ${TERMINATE_DEADLINE_MS / 1000} s: ${leftAlive}`;
    const [{ ended, hidden, tracked }] = answer;
    if (ended.length > 0) {
      if (ended.some((done) => !done)) return `${session} could not be ended: ${leftAlive}`;
      return `${session} was ended (pg_terminate_backend), rolling back what it held`;
    }
    if (!tracked) return `${session} could not be found: statements are not tracked (track_activities is off for the pool's sessions or Prisma's); if alive, ${leftAlive}`;
    if (hidden > 0) {
      return `${session} could not be found: Prisma's role may not read the statements of ${hidden} session(s) of ${poolRole === undefined ? "other roles" : `the pool's role ${poolRole}`} in this database (give it pg_read_all_stats and pg_signal_backend, or the pool's role); if among them, ${leftAlive}`;
    }
    return `${session} was gone already`;
  } catch (error) {
    return `${session} could not be ended (${String((error as Error)?.message ?? error)}): ${leftAlive}`;
  } finally {
    clearTimeout(timer);
  }
}
