import { randomUUID } from "node:crypto";

import type { RawClient } from "./prisma-client";

/**
 * The `application_name` that marks the server session of one write through the pool, for
 * as long as its transaction lasts: a random UUID, so no other session holds it, whatever
 * stands between this process and the server (PgBouncer, a proxy), where neither
 * `client.processID` nor a port is the server's. 54 characters: PostgreSQL keeps 63.
 *
 * @example
 * copySessionName(); // "audit-events copy 3f1c2a9e-6b0d-4e8f-9a7c-1d2e3f405162"
 * @throws nothing.
 */
export function copySessionName(): string {
  return `audit-events copy ${randomUUID()}`;
}

/**
 * Opens the transaction of a write and marks its session with `name` (see
 * {@link copySessionName}), in one round trip. `SET LOCAL` ends with the transaction,
 * so the connection's own `application_name` is back after COMMIT or ROLLBACK;
 * `pg_stat_activity` shows the mark from the moment the statement has run.
 *
 * @example
 * await client.query(markedBegin(copySessionName())); // then the COPYs, then COMMIT
 * @throws nothing.
 */
export function markedBegin(name: string): string {
  return `BEGIN; SET LOCAL application_name = '${name}'`;
}

/** How long ending a given-up session may take before the write goes on without it. */
export const TERMINATE_DEADLINE_MS = 5_000;

/** Only the session holding this write's mark: nothing else can hold a random UUID. */
const TERMINATE_SQL = "SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity WHERE application_name = $1";

/**
 * Ends, through `prisma` (another connection than the given-up one), the server session
 * marked `name`: a session whose route died one way lives on until its TCP keepalive ends
 * it (two hours by default), holding the rows its COPY had received, and an INSERT of the
 * same ids waits for it. `pg_cancel_backend` does not end a session reading COPY data;
 * `pg_terminate_backend` does, and its transaction is rolled back. Bounded by
 * {@link TERMINATE_DEADLINE_MS}, since Prisma's connection may be cut off too.
 *
 * @example
 * const outcome = await terminateCopySession(prisma, attempt.session); // "its server session (...) was ended ..."
 * @returns what became of the session, as a clause for the warning.
 * @throws nothing: a failure (no privilege to end a session of another role or of a
 *   superuser, Prisma unreachable or late) is said in the clause.
 */
export async function terminateCopySession(prisma: RawClient, name: string): Promise<string> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"late">((resolve) => {
    timer = setTimeout(() => resolve("late"), TERMINATE_DEADLINE_MS);
    timer.unref?.();
  });
  const leftAlive = "it holds the rows its COPY had received until the server's TCP keepalive ends it, and the write through Prisma waits for them";
  try {
    const ended = await Promise.race([prisma.$queryRawUnsafe<{ ended: boolean }[]>(TERMINATE_SQL, name), late]);
    if (ended === "late") return `ending its server session ('${name}') had no answer within ${TERMINATE_DEADLINE_MS / 1000} s: ${leftAlive}`;
    if (ended.length === 0) return `its server session ('${name}') was gone already`;
    if (ended.some((row) => !row.ended)) return `its server session ('${name}') could not be ended: ${leftAlive}`;
    return `its server session ('${name}') was ended (pg_terminate_backend), rolling back what it held`;
  } catch (error) {
    return `its server session ('${name}') could not be ended (${String((error as Error)?.message ?? error)}): ${leftAlive}`;
  } finally {
    clearTimeout(timer);
  }
}
