import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { open as openFile, type FileHandle } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileSpool } from "../../src";
import { recordingLogger } from "./spool-conformance";

const dir = mkdtempSync(path.join(tmpdir(), "audit-dir-sync-"));
const file = path.join(dir, "spool.log");
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => jest.restoreAllMocks());

const line = (i: number) => `${String(i).padStart(6, "0")}${"c".repeat(93)}`;

/** The contents of the files this process holds open that no name reaches any more (renamed over). */
function replacedFilesHeld(): string[] {
  const held: string[] = [];
  for (const fd of readdirSync("/proc/self/fd")) {
    const target = (() => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`);
      } catch {
        return "";
      }
    })();
    if (target === `${file} (deleted)`) held.push(readFileSync(`/proc/self/fd/${fd}`, "utf8"));
  }
  return held;
}

/** Makes syncs of the spool's directory fail from the `first`-th one on (1-based), while `failing.on`. */
async function failDirectorySyncs(first: number): Promise<{ on: boolean; calls: number }> {
  const probe = await openFile(__filename, "r");
  const proto = Object.getPrototypeOf(probe) as FileHandle;
  await probe.close();
  const sync = proto.sync as (this: FileHandle) => Promise<void>;
  const failing = { on: true, calls: 0 };
  jest.spyOn(proto, "sync").mockImplementation(function (this: FileHandle) {
    if (readlinkSync(`/proc/self/fd/${this.fd}`) === dir && ++failing.calls >= first && failing.on) {
      return Promise.reject(Object.assign(new Error("EIO: the disk failed (test)"), { code: "EIO" }));
    }
    return sync.call(this);
  });
  return failing;
}

/**
 * A compaction renames its copy over the spool file, then syncs the directory so that the
 * rename survives a crash; until then, appends also go to the file it replaced. When that
 * sync failed, the acknowledgement that compacted was rejected although the compaction
 * was done, and the replaced file stayed open and mirrored every append for the life of
 * the spool.
 */
it("keeps mirroring appends to the replaced file while the directory cannot be synced, and stops once a sync succeeds", async () => {
  const logger = recordingLogger();
  const spool = fileSpool({ path: file, compactAfterBytes: 1000 });
  await spool.open(logger);
  await spool.append(Array.from({ length: 30 }, (_, i) => line(i)));
  // The compaction's first directory sync (before the rename) succeeds; the one after it fails.
  const failing = await failDirectorySyncs(2);
  await spool.ack(await spool.peek(20));
  expect(failing.calls).toBeGreaterThanOrEqual(2);
  expect(logger.warnings.join("\n")).toMatch(/could not sync its directory after a compaction replaced the file \(EIO/);
  // Compacted: the file holds the 10 waiting lines; the replaced one (all 30) gets every append too.
  expect(readFileSync(file, "utf8")).toBe(Array.from({ length: 10 }, (_, i) => `${line(20 + i)}\n`).join(""));
  await spool.append(["during"]);
  expect(replacedFilesHeld()).toEqual([Array.from({ length: 30 }, (_, i) => `${line(i)}\n`).join("") + "during\n"]);
  // A later acknowledgement tries again; once a sync succeeds, the replaced file is let go.
  await spool.ack(await spool.peek(1));
  expect(replacedFilesHeld()).toHaveLength(1);
  failing.on = false;
  await spool.ack(await spool.peek(1));
  expect(replacedFilesHeld()).toEqual([]);
  await spool.append(["after"]);
  await spool.close();
  const again = fileSpool({ path: file });
  await again.open(recordingLogger());
  expect((await again.peek(100)).lines).toEqual([...Array.from({ length: 8 }, (_, i) => line(22 + i)), "during", "after"]);
  await again.close();
});

it("lets go of a replaced file still mirrored when the spool closes", async () => {
  rmSync(file, { force: true });
  rmSync(`${file}.head`, { force: true });
  const spool = fileSpool({ path: file, compactAfterBytes: 1000 });
  await spool.open(recordingLogger());
  await spool.append(Array.from({ length: 30 }, (_, i) => line(i)));
  await failDirectorySyncs(2);
  await spool.ack(await spool.peek(20));
  expect(replacedFilesHeld()).toHaveLength(1);
  await spool.close();
  expect(replacedFilesHeld()).toEqual([]);
});

it("mirrors the append that compacted the file past maxBytes (the tail held) when the directory cannot be synced", async () => {
  rmSync(file, { force: true });
  rmSync(`${file}.head`, { force: true });
  const spool = fileSpool({ path: file, maxBytes: 2000 });
  await spool.open(recordingLogger());
  await spool.append(Array.from({ length: 19 }, (_, i) => line(i)));
  await spool.ack(await spool.peek(10));
  await spool.append([line(19), line(20)]);
  const failing = await failDirectorySyncs(2);
  // Past maxBytes with acknowledged bytes at the head: this append compacts first, holding the tail.
  await spool.append([line(21)]);
  expect(readFileSync(file, "utf8")).toBe(Array.from({ length: 12 }, (_, i) => `${line(10 + i)}\n`).join(""));
  expect(replacedFilesHeld()).toEqual([Array.from({ length: 22 }, (_, i) => `${line(i)}\n`).join("")]);
  failing.on = false;
  await spool.ack(await spool.peek(1));
  expect(replacedFilesHeld()).toEqual([]);
  await spool.close();
});
