import { Pool, type PoolConfig } from "pg";

/**
 * A node-postgres pool on a test database, as an application holds one: it listens for
 * "error", which node-postgres emits on the pool when an idle connection is ended by the
 * server. Here the server ends them when the test database is dropped at the end of a
 * file (`DROP DATABASE ... WITH (FORCE)`), and `pool.end()` resolves before its
 * connections have closed: without a listener, that "error" failed whichever test ran
 * then (twice in CI). What the library does with a connection it borrows is tested
 * apart (it listens while it holds one: `checkOut` in src/stores/pg-pool.ts).
 */
export function testPgPool(url: string, config: PoolConfig = {}): Pool {
  const pool = new Pool({ connectionString: url, ...config });
  pool.on("error", () => undefined);
  return pool;
}
