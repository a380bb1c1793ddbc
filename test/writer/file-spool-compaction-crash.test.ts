import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

/**
 * kill -9 inside a compaction, after compact() has durably written head 0 (file-spool.ts,
 * `await writeHead(0); await syncDirectory();` before the swap's rename): the next process
 * finds the old file with head 0 and replays every line acknowledged since the last
 * compaction (up to compactAfterBytes, 64 MiB ≈ 85 000 events by default), including lines
 * `onSpoolFull: "drop-oldest"` dropped (counted in `dropped`, then stored after all) and
 * lines the store refused (each then refused again: a second stand-in and a second `rejected`).
 * The crash is simulated by a rename that never returns (the process is gone). Now the
 * head file names both heads during a compaction (`<offset> <inode of the copy>`).
 */
const mockCrash = { armed: false, reached: false };
jest.mock("node:fs/promises", () => {
  const actual = jest.requireActual<typeof import("node:fs/promises")>("node:fs/promises");
  return {
    ...actual,
    rename: (from: string, to: string) => {
      if (!(mockCrash.armed && from.endsWith(".compact"))) return actual.rename(from, to);
      mockCrash.reached = true;
      return new Promise(() => undefined);
    },
  };
});
import { fileSpool } from "../../src";

const dir = mkdtempSync(path.join(tmpdir(), "audit-compact-crash-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it("does not bring back lines acknowledged before a compaction a crash interrupted", async () => {
  const file = path.join(dir, "audit.log");
  const quiet = { warn: () => undefined };
  const spool = fileSpool({ path: file, compactAfterBytes: 100 });
  await spool.open(quiet);
  await spool.append(["acked-1", "acked-2", "acked-3", "acked-4", "acked-5", "acked-6", "acked-7", "acked-8", "acked-9", "acked-10", "acked-11", "acked-12", "acked-13"]);
  await spool.append(["waiting-1", "waiting-2", "waiting-3", "waiting-4", "waiting-5"]);
  mockCrash.armed = true;
  void spool.ack(await spool.peek(13)); // stored (or dropped): compacts; the process dies at the rename
  // Until the compaction is at its rename (after its synced writes): waited for, not assumed
  // done within a fixed time. A compaction still running when the next process opens the
  // path would not be the crash this test is about.
  const deadline = Date.now() + 10_000;
  while (!mockCrash.reached && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  expect(mockCrash.reached).toBe(true);
  mockCrash.armed = false;
  const next = fileSpool({ path: file }); // the next process
  await next.open(quiet);
  expect((await next.peek(100)).lines.filter((l) => l.startsWith("acked-"))).toEqual([]);
});
