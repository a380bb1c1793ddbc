import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

/** /proc's unit of CPU time (USER_HZ), in ticks a second: `getconf CLK_TCK`, 100 where it cannot be asked. */
const TICKS_PER_SECOND = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** One process's CPU times from `/proc`, in µs. */
interface ProcessTimes {
  parent: number;
  /** User + system time of the process itself: `/proc/<pid>/schedstat`'s run time (ns) where readable, else `stat`'s ticks. */
  own: number;
  /** User + system time of its children that have exited and been waited for (`stat`'s ticks). */
  reaped: number;
}

const TICK_MICROS = 1e6 / TICKS_PER_SECOND;

function timesOf(pid: number): ProcessTimes | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return undefined; // gone meanwhile
  }
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so fields are counted after the last ")".
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // Fields 4, 14, 15, 16 and 17 of proc(5): ppid, utime, stime, cutime, cstime.
  let own = (Number(fields[11]) + Number(fields[12])) * TICK_MICROS;
  try {
    own = Number(readFileSync(`/proc/${pid}/schedstat`, "utf8").split(" ")[0]) / 1000;
  } catch {
    // No schedstat (a kernel without it): the ticks.
  }
  return { parent: Number(fields[1]), own, reaped: (Number(fields[13]) + Number(fields[14])) * TICK_MICROS };
}

function commandName(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return undefined;
  }
}

/**
 * Whether process `pid` is a backend connected to `database`: its title is
 * "postgres: [<cluster name>: ]<user> <database> <client> <state>".
 */
function servesDatabase(pid: number, database: string): boolean {
  try {
    const title = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ");
    if (!title.startsWith("postgres: ")) return false;
    const words = title.slice("postgres: ".length).split(" ");
    if (words[0]!.endsWith(":")) words.shift();
    return words[1] === database;
  } catch {
    return false;
  }
}

/**
 * The CPU time, in µs, that this machine's PostgreSQL has used so far: every live
 * `postgres` process's user + system time, plus each postmaster's exited children's
 * (backends and workers it has reaped). The difference of two readings is PostgreSQL's
 * CPU between them, backends that ended meanwhile included (a backend alive at the first
 * reading counts there by its own time, and at the second by its parent's reaped time).
 * Resolution: a live process's run time to the microsecond (`schedstat`); an exited one's to
 * one tick (10 ms).
 *
 * With `database`, only the live backends connected to that database count (their process
 * title names it): what the work of one client costs, without what other clients of the
 * same server do meanwhile, nor backends that have ended.
 *
 * @returns undefined where /proc or no `postgres` process can be seen (another OS, a database elsewhere).
 */
export function postgresCpuMicros(database?: string): number | undefined {
  let pids: number[];
  try {
    pids = readdirSync("/proc").filter((name) => /^\d+$/.test(name)).map(Number);
  } catch {
    return undefined;
  }
  const postgres = pids.filter((pid) => commandName(pid) === "postgres");
  if (postgres.length === 0) return undefined;
  const own = new Set(postgres);
  let micros = 0;
  for (const pid of postgres) {
    if (database !== undefined && !servesDatabase(pid, database)) continue;
    const times = timesOf(pid);
    if (times === undefined) continue;
    micros += times.own;
    // A postmaster (its parent is not PostgreSQL) holds what its exited children used.
    if (database === undefined && !own.has(times.parent)) micros += times.reaped;
  }
  return micros;
}
