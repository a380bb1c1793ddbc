import { once } from "node:events";
import { finished } from "node:stream/promises";

import { nextTurn } from "../event-loop-turn";
import type { BulkInserter } from "./prisma-bulk-insert";
import { byFieldSet, fieldsOf, postgresJsonValue } from "./prisma-bulk-insert";
import type { ModelTable } from "./prisma-metadata";
import { checkOut, type PgPoolClientLike, type PgPoolLike } from "./pg-pool";
import { probePgPool } from "./pg-pool-probe";
import { isTimeLimit } from "./store-failure";
import { copyMark, terminateCopySession } from "./pg-copy-session";
import type { RawClient } from "./prisma-client";
import type { EventRow } from "./store";

/** COPY's text format: `\N` is SQL NULL. */
const NULL = "\\N";
const ESCAPED = /[\\\n\r\t]/g;
const ESCAPES: Readonly<Record<string, string>> = { "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t" };
const escapeOf = (c: string): string => ESCAPES[c]!;

/** `text` as a field of COPY's text format: backslash, newline, carriage return and tab escaped; scanned once, copied only when one occurs. */
function escapeField(text: string): string {
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    // Backslash, newline, carriage return, tab.
    if (unit === 92 || unit === 10 || unit === 13 || unit === 9) return text.replace(ESCAPED, escapeOf);
  }
  return text;
}

/**
 * JSON text as a field of COPY's text format: `JSON.stringify` writes newline, carriage
 * return and tab as escapes, so a backslash is all it can hold that COPY escapes.
 */
function escapeJson(json: string): string {
  return json.includes("\\") ? json.replaceAll("\\", "\\\\") : json;
}

/**
 * A row value as a field of COPY's text format, read by the column type's own input as
 * `json_populate_recordset` reads it on the path without a pool: the same text, so
 * each value is stored alike. A string goes as it is, except into a Json column, where
 * (like every other value) it goes as its JSON text; a value whose JSON is `null`
 * (null, NaN, Infinity) or nothing (a function) is SQL NULL, as a JSON record gives it.
 */
function copyField(value: unknown, prismaType: string | undefined): string {
  if (typeof value === "string" && prismaType !== "Json") return escapeField(value);
  if (value === null || value === undefined) return NULL;
  // A JSON column's object (most values of a batch): its JSON text at once, no conversion.
  if (typeof value === "object" && prismaType === "Json" && !(value instanceof Date) && !(value instanceof Uint8Array)) {
    const json = JSON.stringify(value) as string | undefined;
    return json === undefined || json === "null" ? NULL : escapeJson(json);
  }
  const plain = postgresJsonValue(value, prismaType);
  if (typeof plain === "string" && prismaType !== "Json") return escapeField(plain);
  const json = JSON.stringify(plain) as string | undefined;
  return json === undefined || json === "null" ? NULL : escapeField(json);
}

/** Whether `error` is the database's refusal of the data (SQLSTATE class 22, data exception, or 23, integrity constraint). */
function isDataError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^2[23][0-9A-Z]{3}$/.test(code);
}

/**
 * A COPY's data goes in pieces of about this many UTF-16 code units (64 KiB as Latin-1),
 * each whole rows, built one at a time with a turn of the event loop between them: a
 * batch of 1000 events is about 800 KB of text and 5-14 ms of CPU to build, which in one
 * piece held up every request and acknowledgement of the process for that long (p99
 * latency; `npm run bench:durable-ack`). A piece takes well under a millisecond. Pieces
 * also keep a batch's text from ever being held whole, however large (1000 events of
 * 1 MiB content exceed V8's longest string, 2^29 - 24 code units).
 */
const COPY_CHUNK_UNITS = 64 * 1024;

/** One `COPY` of a group of rows with the same fields: its statement, and its data as it is sent. */
interface CopyStatement {
  sql: string;
  /** The data in pieces of whole rows, each built when taken (see {@link copyChunks}). */
  chunks: Iterable<string>;
}

/** Thrown while a COPY's data is built when a row cannot go as COPY text: the batch goes the path without a pool. */
class NotCopyText extends Error {}

/**
 * The longest one write through the pool may take, from the first look and the borrowing
 * of a connection to its COMMIT: the time limit of a transaction on the path without a
 * pool (Prisma's, 60 s). node-postgres has none of its own, so a connection that neither
 * answers nor fails (a dropped route, a firewall that forgot it: no reset, no reply) held
 * the buffered writer for ever; past the limit its socket is destroyed, its server session
 * ended (see {@link terminateCopySession}) and the batch goes the path without a pool, as
 * after any failed COPY.
 */
export const COPY_DEADLINE_MS = 60_000;

/** A write through the pool that passed {@link COPY_DEADLINE_MS}. */
class CopyDeadlinePassed extends Error {}

/** One write through the pool: when its time is up, and the mark of its server session. */
interface CopyAttempt {
  /** Aborted at {@link COPY_DEADLINE_MS}: the connection it holds, for the look or the COPY, is destroyed (see `checkOut`). */
  readonly signal: AbortSignal;
  /** The comment that begins each of its COPY statements (see {@link copyMark}). */
  readonly mark: string;
  /** Whether a COPY was sent: only then may a server session hold its rows. */
  sent: boolean;
}

/**
 * The COPY text of `group` in pieces of about {@link COPY_CHUNK_UNITS} code units, each
 * built only when the one before was handed on: a batch's text is never held whole, so
 * writing a batch takes a piece's memory beside the batch, whatever its size.
 *
 * @throws NotCopyText for a string with a lone UTF-16 surrogate, which UTF-8 cannot
 *   carry (a JSON parameter carries it escaped, and the database refuses or keeps it as
 *   it does there), or a value that cannot be converted (see `postgresJsonValue`).
 */
function* copyChunks(group: readonly EventRow[], fields: readonly string[], types: readonly (string | undefined)[]): Generator<string> {
  const last = fields.length - 1;
  let chunk = "";
  for (const row of group) {
    let line = "";
    try {
      for (let i = 0; i < last; i++) line += copyField(row[fields[i]!], types[i]) + "\t";
      line += copyField(row[fields[last]!], types[last]) + "\n";
    } catch (error) {
      throw new NotCopyText("a value could not be converted to COPY text", { cause: error });
    }
    if (chunk.length > 0 && chunk.length + line.length > COPY_CHUNK_UNITS) {
      yield wellFormed(chunk);
      chunk = "";
    }
    chunk += line;
  }
  yield wellFormed(chunk);
}

/**
 * `text`, checked whole once: fields and rows are separated by ASCII, so a lone surrogate
 * never pairs across two of them.
 *
 * @throws NotCopyText when `text` holds a lone UTF-16 surrogate.
 */
function wellFormed(text: string): string {
  if (!text.isWellFormed()) throw new NotCopyText("a string holds a lone UTF-16 surrogate");
  return text;
}

/**
 * The `COPY` statements of `rows`, one per set of fields; their data is built as it is sent.
 *
 * @throws what reading the fields of a row throws (see `fieldsOf`).
 */
function copyStatements(rows: readonly EventRow[], table: ModelTable, mark: string): CopyStatement[] {
  return byFieldSet(rows).map((group) => {
    const fields = fieldsOf(group[0]!, table);
    const types = fields.map((field) => table.types.get(field));
    const columns = fields.map((field) => table.columns.get(field)!).join(", ");
    return { sql: `${mark} COPY ${table.sqlName} (${columns}) FROM STDIN WITH (ENCODING 'UTF8')`, chunks: { [Symbol.iterator]: () => copyChunks(group, fields, types) } };
  });
}

/** pg-copy-streams' `from`: a `COPY ... FROM STDIN` as a writable stream for `client.query()`; `destroy(error)` cancels it (CopyFail). */
type CopyFrom = (sql: string) => NodeJS.WritableStream & { submit(connection: never): void; destroy(error?: Error): void; readonly destroyed: boolean };

/**
 * Streams the pieces of `chunks` into `sql` (a `COPY ... FROM STDIN`) on `client`, building
 * each when the stream has taken the one before and the event loop has gone round (see
 * {@link COPY_CHUNK_UNITS}). When building a piece throws, the COPY is cancelled (CopyFail:
 * nothing of it is stored) and the error rethrown; when the stream fails, its error is.
 */
async function copyInto(client: PgPoolClientLike, copyFrom: CopyFrom, { sql, chunks }: CopyStatement): Promise<void> {
  const stream = client.query(copyFrom(sql));
  // Listening from the start: the stream may fail at any time while chunks are written.
  const done = finished(stream);
  done.catch(() => undefined);
  // pg-copy-streams emits what ends the query early (a row the server refused, a lost
  // connection) as "error" without destroying the stream, and drops its connection:
  // a piece or the end written after it would throw a TypeError in place of that error.
  let failed = false;
  stream.on("error", () => (failed = true));
  try {
    for (const chunk of chunks) {
      // `once` rejects when the stream errors while waiting; after a turn, a stream
      // that failed meanwhile stops the loop (`done` rejects with its error).
      if (!stream.write(chunk)) await once(stream, "drain");
      else await nextTurn();
      if (failed || stream.destroyed) break;
    }
  } catch (error) {
    // Ends the COPY on the server too: a query queued behind it (ROLLBACK) would wait
    // forever. A stream that failed has no COPY left to end.
    if (!failed) stream.destroy(error instanceof Error ? error : new Error(String(error)));
    throw error;
  }
  if (!failed && !stream.destroyed) stream.end();
  await done;
}

/**
 * Writes each batch with `COPY ... FROM STDIN` on a connection of `pool`: one COPY per set
 * of fields, several in one transaction, so a batch is stored all or none: about the rate
 * of raw COPY into the same table, 1.4-2x that of `fallback`'s `INSERT ... SELECT FROM
 * json_populate_recordset` with the project's indexes (`npm run bench:writer`).
 *
 * Before the pool first writes, one look ({@link probePgPool}) checks that it writes the
 * table `prisma` writes (same server, database and table oid) and that the table has no
 * `ON INSERT` rule, which COPY would not run. When either fails, the pool is never used
 * for writes: every batch goes through `fallback`, and `warn` is told once, naming both
 * sides. A look that fails (the database unreachable) is tried again at the next batch,
 * which meanwhile goes through `fallback`.
 *
 * COPY can neither skip a row whose id is stored already nor fill what only Prisma's
 * client knows. So when a COPY fails, for any reason (an id or chain position stored
 * already, a value refused, the database unreachable), nothing of it is stored and the
 * batch goes through `fallback`, the path without a pool: its outcome, skipped ids and
 * errors included, is the outcome. The same when the data cannot go as COPY text
 * (a lone surrogate, see `copyChunks`) or a value cannot be converted.
 *
 * Each COPY statement of a write begins with the write's random mark, a comment
 * ({@link copyMark}: no round trip of its own). A write past
 * {@link COPY_DEADLINE_MS} is given up: its socket (or its look's) is destroyed, the
 * session whose statement holds that mark and no other is ended through `prisma`
 * ({@link terminateCopySession}: when the route died one way it would hold the rows its
 * COPY received, and `fallback`'s INSERT of the same ids would wait for them, up to the
 * server's TCP keepalive), then the batch goes through `fallback` and `warn` is told each
 * time, saying whether the session was ended. Not covered: a Prisma role that may not see
 * or end the pool's sessions, a server with `track_activities` off, or one that does not
 * answer Prisma within `TERMINATE_DEADLINE_MS`; the warning says so and `fallback` waits
 * for the keepalive.
 *
 * A COPY that fails for another reason than its data (SQLSTATE classes 22 and 23) while
 * `fallback` succeeds means the pool cannot write what Prisma can (a table with
 * row-level security, which COPY refuses): `warn` is told once.
 *
 * @param prisma the Prisma client `fallback` writes through, for the look.
 * @param fallback the bulk insert through Prisma of the same table.
 * @param warn told once when the pool cannot or must not write where Prisma does, with the reason.
 */
export function pgCopyInserter(pool: PgPoolLike, prisma: RawClient, table: ModelTable, fallback: BulkInserter, warn: (message: string) => void): BulkInserter {
  let warned = false;
  /** Whether COPY may be used: settled by the first look that succeeds. */
  let usable: Promise<boolean> | undefined;
  /** The look under way, until it answers: while {@link usable} is this look, COPY waits on it. */
  let looking: Promise<boolean> | undefined;
  /** The pool's login role, told by the look: only its sessions may hold a given-up COPY. */
  let poolRole: string | undefined;
  /** @throws what the look threw; the next call looks again. */
  function copyUsable(signal: AbortSignal): Promise<boolean> {
    if (usable !== undefined) return usable;
    const look: Promise<boolean> = probePgPool(pool, prisma, table, signal).then(
      (probe) => {
        // Given up at a deadline (a later look may have answered since): its answer is nobody's.
        if (usable !== look) return false;
        looking = undefined;
        if (!probe.copy) {
          warn(
            `audit-events: prismaStore() does NOT write through the pgPool it was given: ${probe.reason}. ` +
              "Every buffered batch is written through Prisma instead, at about half the speed. " +
              "Give prismaStore() the pool your PrismaPg adapter runs on (same database and schema), drop the ON INSERT rules of the table, or leave pgPool out.",
          );
        }
        if (probe.copy) poolRole = probe.role;
        return probe.copy;
      },
      (error: unknown) => {
        // The next call looks again (unless a later look, started after this one was given up, is under way).
        if (usable === look) usable = looking = undefined;
        throw error;
      },
    );
    usable = looking = look;
    return look;
  }
  let copyFrom: CopyFrom | undefined;
  async function copy(statements: CopyStatement[], attempt: CopyAttempt): Promise<void> {
    // Loaded here: pg-copy-streams is needed only by a store given a pgPool.
    copyFrom ??= (await import("pg-copy-streams")).from as unknown as typeof copyFrom;
    // Borrowed after the write's time was up (the pool was full), it is given back at once.
    const client = await checkOut(pool, attempt.signal);
    let broken: Error | undefined;
    try {
      attempt.sent = true;
      // One COPY is a transaction of its own; several (one per set of fields) share one.
      if (statements.length === 1) {
        await copyInto(client, copyFrom!, statements[0]!);
      } else {
        await client.query("BEGIN");
        try {
          for (const statement of statements) await copyInto(client, copyFrom!, statement);
          // Marked too: a COMMIT the server takes long over (deferred triggers, a synchronous
          // standby) holds the rows while its statement is the COMMIT, and must be found.
          await client.query(`${attempt.mark} COMMIT`);
        } catch (error) {
          await client.query("ROLLBACK");
          throw error;
        }
      }
    } catch (error) {
      // A COPY cut short may leave the connection mid-protocol: the pool closes it.
      broken = error instanceof Error ? error : new Error(String(error));
      throw error;
    } finally {
      client.release(broken);
    }
  }
  /**
   * Writes `rows` by COPY: true when written, false when COPY is not for them (see
   * {@link copyUsable}, {@link copyStatements}).
   *
   * @throws what the look or the COPY threw; nothing of `rows` is stored then.
   */
  async function copyRows(rows: readonly EventRow[], attempt: CopyAttempt): Promise<boolean> {
    if (!(await copyUsable(attempt.signal))) return false;
    let statements: CopyStatement[];
    try {
      statements = copyStatements(rows, table, attempt.mark);
    } catch {
      return false;
    }
    try {
      await copy(statements, attempt);
    } catch (error) {
      if (error instanceof NotCopyText) return false;
      throw error;
    }
    return true;
  }
  /**
   * {@link copyRows} within {@link COPY_DEADLINE_MS}. Past it, the connection held, by the
   * COPY or by the look, is given up (its socket destroyed: what runs on it fails, and the
   * pool closes the connection), a look still waiting is forgotten (the next batch looks
   * again), and it throws.
   *
   * @throws CopyDeadlinePassed past the deadline; what {@link copyRows} throws.
   */
  async function copyRowsInTime(rows: readonly EventRow[], attempt: CopyAttempt, expire: AbortController): Promise<boolean> {
    const work = copyRows(rows, attempt);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const passed = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new CopyDeadlinePassed(`COPY through the pgPool had no answer within ${COPY_DEADLINE_MS} ms`);
        if (looking !== undefined && usable === looking) usable = undefined;
        expire.abort(error);
        reject(error);
      }, COPY_DEADLINE_MS);
    });
    try {
      return await Promise.race([work, passed]);
    } finally {
      clearTimeout(timer);
      // Given up, it still settles (its socket destroyed) or never does (a look on a
      // connection of its own): either way, nobody waits for it.
      work.catch(() => undefined);
    }
  }
  return async (rows) => {
    const expire = new AbortController();
    const attempt: CopyAttempt = { signal: expire.signal, mark: copyMark(), sent: false };
    try {
      if (await copyRowsInTime(rows, attempt, expire)) return;
    } catch (error) {
      if (error instanceof CopyDeadlinePassed) {
        // Destroying our socket does not end the server's session when the route died one
        // way: it would hold the rows its COPY received, and the fallback's INSERT of the
        // same ids would wait for it. Ended first, by its mark only.
        const session = attempt.sent ? ` ${await terminateCopySession(prisma, attempt.mark, poolRole)};` : "";
        await fallback(rows);
        warn(
          `audit-events: COPY into ${table.sqlName} through the pgPool given to prismaStore() had no answer within ${COPY_DEADLINE_MS / 1000} s; ` +
            `its connection was given up;${session} the batch was written through Prisma. A connection that neither answers nor fails is a network fault between this process and PostgreSQL.`,
        );
        return;
      }
      await fallback(rows);
      // A COPY stopped for its time (the pool's statement_timeout) is not a pool that cannot write the table.
      if (!warned && !isDataError(error) && !isTimeLimit(error)) {
        warned = true;
        warn(
          `audit-events: COPY into ${table.sqlName} through the pgPool given to prismaStore() failed (${String((error as Error)?.message ?? error)}), ` +
            "while Prisma's insert of the same events succeeded: the buffered writer writes through Prisma, at about half the speed, whenever COPY fails. " +
            "Give prismaStore() the pool your PrismaPg adapter runs on, or leave pgPool out.",
        );
      }
      return;
    }
    await fallback(rows);
  };
}
