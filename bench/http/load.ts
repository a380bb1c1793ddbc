import { execFile } from "node:child_process";
import { promisify } from "node:util";

import { check } from "../lib/sanity";

const run = promisify(execFile);
const AUTOCANNON = require.resolve("autocannon/autocannon.js");

/** The figures of one autocannon run that the report and the checks use. */
export interface LoadResult {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  ok: number;
}

/** What the report needs to say how load was generated. */
export interface LoadOptions {
  connections: number;
  seconds: number;
  /** Requests per second from all connections (autocannon `-R`); 0: as fast as the server answers. */
  rate: number;
  /** `taskset -c <cpu>` prefix, when pinning is possible. */
  pin: string[];
}

interface AutocannonJson {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  resets?: number;
  mismatches?: number;
  "2xx": number;
}

/**
 * Runs autocannon in its own process (on its own core when pinned) against `url` and
 * checks that every request got a 2xx answer: no errors, timeouts or other statuses.
 *
 * @throws {SanityError} when a request failed or none succeeded.
 */
export async function generateLoad(url: string, options: LoadOptions, label: string): Promise<LoadResult> {
  const args = [...options.pin, process.execPath, AUTOCANNON, "--json", "-c", String(options.connections), "-d", String(options.seconds), ...(options.rate > 0 ? ["-R", String(options.rate)] : []), url];
  const { stdout } = await run(args[0]!, args.slice(1), { maxBuffer: 16 * 2 ** 20 });
  const result = JSON.parse(stdout) as AutocannonJson;
  const failures = { errors: result.errors, timeouts: result.timeouts, "non-2xx": result.non2xx, resets: result.resets ?? 0, mismatches: result.mismatches ?? 0 };
  const bad = Object.entries(failures).filter(([, n]) => n > 0);
  check(bad.length === 0, `${label}: ${bad.map(([what, n]) => `${n} ${what}`).join(", ")} out of ${result.requests.total} requests`);
  check(result["2xx"] > 0, `${label}: no request succeeded`);
  return { requestsPerSecond: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, ok: result["2xx"] };
}
