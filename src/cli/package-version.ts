import { readFileSync } from "node:fs";
import path from "node:path";

/**
 * The version of the installed audit-events package, read from its package.json.
 * The folder depth differs between the sources and the build, so it looks upwards
 * from this file for the package.json named audit-events.
 */
export function packageVersion(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    try {
      const manifest = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")) as { name?: string; version?: string };
      if (manifest.name === "audit-events" && typeof manifest.version === "string") return manifest.version;
    } catch {
      // No readable package.json at this level: keep looking upwards.
    }
    if (path.dirname(dir) === dir) return "unknown";
  }
}
