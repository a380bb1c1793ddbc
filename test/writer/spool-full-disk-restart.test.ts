import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

const ROOT = path.resolve(__dirname, "..", "..");
const mountPoint = mkdtempSync(path.join(tmpdir(), "audit-full-disk-restart-"));
afterAll(() => rmSync(mountPoint, { recursive: true, force: true }));

/**
 * A spool that filled its disk, whose process is killed (its lock stays, naming a dead
 * pid) and started again: open() wrote `<path>.lock.<pid>.new` before it looked at the
 * stale lock, the full disk refused it (ENOSPC), and open failed, every 5 s, for good: the
 * spool that only its own acknowledgements could empty was never read again (its lines
 * waited until something else freed space), and an empty `.lock.<pid>.new` was left. Now
 * the stale lock is broken first (its block comes back), then created again.
 */
it("a spool that filled its disk opens again after its process was killed, and empties itself", () => {
  const tsx = path.join(ROOT, "node_modules", ".bin", "tsx");
  const child = spawnSync(
    "unshare",
    ["--user", "--map-root-user", "--mount", "sh", "-c", 'mount -t tmpfs -o size=1m tmpfs "$1" && "$2" "$3" fill "$1" >/dev/null && exec "$2" "$3" drain "$1"', "sh", mountPoint, tsx, "test/writer/spool-full-disk-restart-child.ts"],
    { cwd: ROOT, encoding: "utf8", timeout: 60_000 },
  );
  expect(child.error).toBeUndefined();
  expect(child.stderr).toBe("");
  expect(child.status).toBe(0);
  const result = JSON.parse(child.stdout.trim().split("\n").at(-1)!) as Record<string, unknown>;
  expect(result).toMatchObject({ openError: "", ackError: "" });
  expect(result.acked).toBeGreaterThan(500);
});

function runChild(mode: string): Record<string, unknown> {
  const tsx = path.join(ROOT, "node_modules", ".bin", "tsx");
  const child = spawnSync(
    "unshare",
    ["--user", "--map-root-user", "--mount", "sh", "-c", 'mount -t tmpfs -o size=1m tmpfs "$1" && exec "$2" "$3" "$4" "$1"', "sh", mountPoint, tsx, "test/writer/spool-full-disk-restart-child.ts", mode],
    { cwd: ROOT, encoding: "utf8", timeout: 60_000 },
  );
  expect(child.error).toBeUndefined();
  expect(child.stderr).toBe("");
  expect(child.status).toBe(0);
  return JSON.parse(child.stdout.trim().split("\n").at(-1)!) as Record<string, unknown>;
}

it("acknowledges every line of a spool that filled its disk with compactAfterBytes 100 KiB (compactions tried on the full disk)", () => {
  expect(runChild("compact")).toMatchObject({ openError: "", acked: 1030, ackError: "", reopened: [], firstAcked: "00000000" });
});

it("opens an earlier version's spool killed in a compaction on a full disk (its head taken over in place), and replays from its head", () => {
  // 300 lines, 100 acknowledged: the 200 after them, from line 100.
  expect(runChild("legacy")).toMatchObject({ openError: "", acked: 200, ackError: "", reopened: [], firstAcked: "00000100" });
});
