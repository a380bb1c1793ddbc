import { AuditConfigError } from "../errors";

/**
 * A connection borrowed from a {@link PgPoolLike}: the part of node-postgres's `PoolClient`
 * the store uses.
 */
export interface PgPoolClientLike {
  query(text: string): Promise<unknown>;
  /** A statement with `$1`-style parameters, and its rows. */
  query<R>(config: { text: string; values?: unknown[] }): Promise<{ rows: R[] }>;
  /** node-postgres runs a submittable (a `COPY` stream of pg-copy-streams) and returns it. */
  query<T extends { submit(connection: never): void }>(submittable: T): T;
  /** Gives the connection back; with an error (or `true`), the pool closes it instead. */
  release(error?: Error | boolean): void;
  /** node-postgres's client is an EventEmitter: "error" is emitted when its connection breaks. */
  on?(event: "error", listener: (error: Error) => void): unknown;
  removeListener?(event: "error", listener: (error: Error) => void): unknown;
  /** node-postgres's connection: its socket is destroyed when a write through it passes its time limit. */
  readonly connection?: { readonly stream?: { destroy(error?: Error): void } };
}

/** Heard while a connection is checked out: the work on it fails with the same break. */
function ignoreBreak(): void {}

/**
 * Borrows a connection of `pool`, listening to its "error" events until it is released.
 * node-postgres emits one on a checked-out client whose connection breaks (EPIPE,
 * ECONNRESET: a server restart, a failover) and a pool listens only to idle clients:
 * unheard, it is thrown as an uncaught exception and ends the process. The query on it
 * fails with the break all the same, which is what the caller sees and handles.
 *
 * When `signal` is aborted (a write past its time limit) while the connection is held, its
 * socket is destroyed: the query on it fails, the pool closes it when it is released, and
 * a connection that would never answer does not keep its pool slot for ever.
 *
 * @throws what `pool.connect()` throws; `signal.reason` when `signal` was aborted by the
 *   time the connection came (it is given back at once).
 */
export async function checkOut(pool: PgPoolLike, signal?: AbortSignal): Promise<PgPoolClientLike> {
  const client = await pool.connect();
  if (signal?.aborted) {
    client.release();
    throw signal.reason;
  }
  const giveUp = () => client.connection?.stream?.destroy(signal!.reason instanceof Error ? signal!.reason : undefined);
  signal?.addEventListener("abort", giveUp, { once: true });
  client.on?.("error", ignoreBreak);
  const release = client.release.bind(client);
  client.release = (error) => {
    signal?.removeEventListener("abort", giveUp);
    client.removeListener?.("error", ignoreBreak);
    release(error);
  };
  return client;
}

/**
 * The part of a node-postgres `Pool` (`new Pool()` of the `pg` package, as
 * `@prisma/adapter-pg` uses) the store uses: a connection to borrow. Typed by shape, so
 * the library never imports `pg`.
 */
export interface PgPoolLike {
  connect(): Promise<PgPoolClientLike>;
}

/**
 * Checks the `pgPool` option of `prismaStore()`: a node-postgres pool, on a PostgreSQL client.
 *
 * @throws {AuditConfigError} `ERR_AUDIT_CONFIG` for anything else, naming the fix.
 */
export function requirePgPool(pool: unknown, provider: string | null): PgPoolLike {
  if (typeof (pool as { connect?: unknown } | null)?.connect !== "function") {
    throw new AuditConfigError(`prismaStore(): pgPool must be a node-postgres Pool (import { Pool } from "pg"; new Pool({ connectionString })), the one you give PrismaPg, or left out.`);
  }
  if (provider !== null && provider !== "postgresql") {
    throw new AuditConfigError(`prismaStore(): pgPool is a PostgreSQL connection pool, but this Prisma client is on ${provider}: leave pgPool out.`);
  }
  return pool as PgPoolLike;
}
