import type { ModelTable } from "./prisma-metadata";
import type { RawClient } from "./prisma-client";
import { checkOut, type PgPoolClientLike, type PgPoolLike } from "./pg-pool";

/** Where a connection writes `table`: its server (by start time), database and the table's oid. */
interface Target {
  server: string;
  database: string;
  oid: string | null;
  /** The role the connection logged in as (`session_user`): `pg_stat_activity.usename` of its sessions. */
  role?: string;
}

/**
 * What one look at the pool found: whether COPY through it writes the table Prisma
 * writes, and the same way; when not, why, for the warning.
 */
export type PoolProbe = { copy: true; role?: string } | { copy: false; reason: string };

/**
 * `to_regclass` resolves the table as the statements name it (schema-qualified or by the
 * connection's `search_path`); `pg_postmaster_start_time()` tells two servers apart that
 * hold databases of the same name (as seconds since 1970, which no session's TimeZone
 * changes). Both are open to every role.
 */
const TARGET_SQL = "SELECT extract(epoch FROM pg_postmaster_start_time())::text AS server, current_database() AS database, to_regclass($1)::oid::text AS oid, session_user::text AS role";

/** `pg_rewrite.ev_type` '3' is ON INSERT; COPY FROM does not run rules (PostgreSQL's COPY documentation). */
const INSERT_RULES_SQL = "SELECT rulename::text AS name FROM pg_rewrite WHERE ev_class = to_regclass($1) AND ev_type = '3' ORDER BY 1";

function describe({ server, database, oid }: Target): string {
  return `database "${database}" (server started at ${server} s since 1970), table ${oid === null ? "missing" : `oid ${oid}`}`;
}

/**
 * Looks once, before the pool writes, whether `COPY` into `table` through `pool` does
 * what Prisma's `INSERT` does: the same server, database and table (by `to_regclass` of
 * `table.sqlName` on a pool connection and through `prisma.$queryRawUnsafe`), and no
 * `ON INSERT` rule on the table (`pg_rewrite`, what `pg_rules` shows), which COPY would not run.
 *
 * @param signal aborted when the look is given up: the pool connection it holds is
 *   destroyed (see `checkOut`), else a look that never answers would keep it for ever.
 * @returns `{ copy: true, role }` when COPY may be used (`role`: the pool's login role, whose
 *   sessions alone may hold its COPY, see `terminateCopySession`), else the reason, naming both sides.
 * @throws what the database throws (unreachable, no privilege): the caller looks again later;
 *   `signal.reason` when given up.
 */
export async function probePgPool(pool: PgPoolLike, prisma: RawClient, table: ModelTable, signal?: AbortSignal): Promise<PoolProbe> {
  const viaPrisma = (await prisma.$queryRawUnsafe<Target[]>(TARGET_SQL, table.sqlName))[0]!;
  let client: PgPoolClientLike | undefined = await checkOut(pool, signal);
  let viaPool: Target;
  let rules: string[];
  try {
    viaPool = (await client.query<Target>({ text: TARGET_SQL, values: [table.sqlName] })).rows[0]!;
    rules = (await client.query<{ name: string }>({ text: INSERT_RULES_SQL, values: [table.sqlName] })).rows.map((row) => row.name);
    client.release();
    client = undefined;
  } finally {
    client?.release(true);
  }
  if (viaPool.server !== viaPrisma.server || viaPool.database !== viaPrisma.database || viaPool.oid !== viaPrisma.oid) {
    return { copy: false, reason: `the pgPool writes ${table.sqlName} in ${describe(viaPool)}, but Prisma writes it in ${describe(viaPrisma)}` };
  }
  if (rules.length > 0) {
    return { copy: false, reason: `${table.sqlName} has ON INSERT rule(s) ${rules.join(", ")}, which COPY does not run` };
  }
  return { copy: true, role: viaPool.role };
}
