import { readFileSync } from "node:fs";

import type { Client as PgClient } from "pg";

/** Clock ticks a second of Linux's `/proc/<pid>/stat` times (USER_HZ, 100 on every Linux we run on). */
const TICKS_PER_SECOND = 100;

/**
 * CPU time (user + system, in ms) each server process of `database` has used so far, read
 * from `/proc/<pid>/stat`: the server runs on this machine (loopback), so its backends are
 * processes here. Processes that `/proc` does not show (a server elsewhere) are left out;
 * none at all gives an empty map.
 */
export async function backendCpuMs(pg: PgClient, database: string): Promise<Map<number, number>> {
  const { rows } = await pg.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE datname = $1 AND backend_type = 'client backend'", [database]);
  const cpu = new Map<number, number>();
  for (const { pid } of rows) {
    try {
      // Fields after the command's closing parenthesis: state is the 1st, utime the 12th, stime the 13th.
      const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
      cpu.set(pid, ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND);
    } catch {
      // Not a process of this machine, or it ended meanwhile.
    }
  }
  return cpu;
}

/**
 * CPU ms the backends of `after` used since `before`: a backend that was not there before
 * started in between and counts whole. Backends that ended in between are lost, so take
 * `after` before the pool closes its connections.
 */
export function cpuSpentMs(before: Map<number, number>, after: Map<number, number>): number {
  let spent = 0;
  for (const [pid, ms] of after) spent += ms - (before.get(pid) ?? 0);
  return spent;
}

/** When a checkpoint's sync phase ran, in `performance.now()` milliseconds. */
export interface SyncWindow {
  from: number;
  to: number;
}

/**
 * Watches the server's checkpoints from a connection of its own: every `everyMs` it reads
 * the last completed checkpoint's position (`pg_control_checkpoint()`) and the checkpointer's
 * cumulative sync time (`pg_stat_bgwriter.checkpoint_sync_time`). When a checkpoint has
 * completed since the last look, its sync phase (the fsync of the data files it wrote, at
 * its end) ran from about its sync time before that look until the look. Checkpoints are
 * the whole server's: another database's, or a `CHECKPOINT` command, count too.
 *
 * @returns `stop()`, which ends the watch and gives the sync phases seen.
 */
export async function watchCheckpoints(pg: PgClient, everyMs = 25): Promise<{ stop(): Promise<SyncWindow[]> }> {
  const read = async () =>
    (
      await pg.query<{ done: string; sync_ms: number }>(
        "SELECT (SELECT checkpoint_lsn::text FROM pg_control_checkpoint()) AS done, checkpoint_sync_time::float8 AS sync_ms FROM pg_stat_bgwriter",
      )
    ).rows[0]!;
  const windows: SyncWindow[] = [];
  let last = await read();
  let lastAt = performance.now();
  let watching = true;
  const loop = (async () => {
    while (watching) {
      await new Promise((resolve) => setTimeout(resolve, everyMs));
      const now = await read();
      const at = performance.now();
      if (now.done !== last.done) windows.push({ from: at - (now.sync_ms - last.sync_ms) - (at - lastAt), to: at });
      last = now;
      lastAt = at;
    }
  })();
  return {
    async stop() {
      watching = false;
      await loop;
      return windows;
    },
  };
}

/** Whether the interval [from, to] overlaps one of `windows`. */
export function overlapsAny(from: number, to: number, windows: readonly SyncWindow[]): boolean {
  return windows.some((w) => from <= w.to && to >= w.from);
}
