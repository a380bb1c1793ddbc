import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

/** ulimit -f: the spool's appends fail with EFBIG midway; nothing acknowledged may be lost. */
const dir = mkdtempSync(path.join(tmpdir(), "audit-spool-efbig-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it("acknowledges and stores every event when the spool hits the file size limit", () => {
  const tsx = path.resolve("node_modules/.bin/tsx");
  const out = spawnSync("sh", ["-c", `ulimit -f 64; exec "${tsx}" "${path.join(__dirname, "spool-efbig-child.ts")}" "${path.join(dir, "audit.log")}"`], { encoding: "utf8", timeout: 60_000 });
  const result = JSON.parse(out.stdout.trim().split("\n").pop()!) as { acked: number; stored: number; lost: number; warnings: string[] };
  expect({ acked: result.acked, stored: result.stored, lost: result.lost }).toEqual({ acked: 2000, stored: 2000, lost: 0 });
  expect(result.warnings.join("\n")).toMatch(/EFBIG|too large/i);
}, 90_000);
