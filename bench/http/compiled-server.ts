import { execFileSync } from "node:child_process";
import path from "node:path";

const ROOT = path.resolve(__dirname, "..", "..");
const TSCONFIG = path.join(__dirname, "tsconfig.server.json");
const TSC = require.resolve("typescript/bin/tsc");

/**
 * Compiles bench/http/server.ts and everything it imports (src/, generated/) with tsc into
 * `.tmp/bench-http-js/` (bench/http/tsconfig.server.json) and returns the compiled server's
 * path, so every variant's server, bare included, runs on plain `node` as users run tsc
 * output: tsx's esbuild transform would wrap each function created per request in
 * `__name(...)`, a per-request cost that is the loader's, not the app's.
 *
 * @throws Error when tsc reports an error (its output is printed).
 * @example
 * ```ts
 * const server = compiledServer(); // ".../.tmp/bench-http-js/bench/http/server.js"
 * spawn(process.execPath, [server, "express", "bare"], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
 * ```
 */
export function compiledServer(): string {
  execFileSync(process.execPath, [TSC, "-p", TSCONFIG], { cwd: ROOT, stdio: ["ignore", "inherit", "inherit"] });
  return path.join(ROOT, ".tmp", "bench-http-js", "bench", "http", "server.js");
}
