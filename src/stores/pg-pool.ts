import { AuditConfigError } from "../errors";

/**
 * A connection borrowed from a {@link PgPoolLike}: the part of node-postgres's `PoolClient`
 * the store uses.
 */
export interface PgPoolClientLike {
  query(text: string): Promise<unknown>;
  /** node-postgres runs a submittable (a `COPY` stream of pg-copy-streams) and returns it. */
  query<T extends { submit(connection: never): void }>(submittable: T): T;
  /** Gives the connection back; with an error (or `true`), the pool closes it instead. */
  release(error?: Error | boolean): void;
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
