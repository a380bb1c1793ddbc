import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

const ROOT = path.resolve(__dirname, "..", "..");
const mountPoint = mkdtempSync(path.join(tmpdir(), "audit-full-disk-"));
afterAll(() => rmSync(mountPoint, { recursive: true, force: true }));

/**
 * A file spool that filled its disk must still record what the store took and empty
 * itself, or it waits for space only it could free. Its head used to be written to a
 * new temporary file renamed over `<path>.head`, which a full disk refuses: every
 * acknowledgement failed. The disk here is a real 1 MiB tmpfs, mounted in a user and
 * mount namespace of the child's own (no root needed, nothing mounted outside it).
 */
it("acknowledges every line of a spool that filled its disk, empties it, and appends again", () => {
  const child = spawnSync(
    "unshare",
    ["--user", "--map-root-user", "--mount", "sh", "-c", 'mount -t tmpfs -o size=1m tmpfs "$1" && exec "$2" "$3" "$1"', "sh", mountPoint, path.join(ROOT, "node_modules", ".bin", "tsx"), "test/writer/spool-full-disk-child.ts"],
    { cwd: ROOT, encoding: "utf8", timeout: 60_000 },
  );
  expect(child.error).toBeUndefined();
  expect(child.stderr).toBe("");
  expect(child.status).toBe(0);
  const result = JSON.parse(child.stdout.trim().split("\n").at(-1)!) as Record<string, unknown>;
  // The disk was really full: the spool's own bound (64 MiB) was far away.
  expect(result).toMatchObject({ appendError: "ENOSPC", freeBlocksWhenFull: 0 });
  expect(result.appended).toBeGreaterThan(500);
  expect(result).toMatchObject({ acked: result.appended, ackError: "", appendedAfter: "appended", reopened: ["after the disk was full"] });
});
