import { mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync } from "node:fs";
import { open as openFile, type FileHandle } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileSpool } from "../../src";

const dir = mkdtempSync(path.join(tmpdir(), "audit-fd-leak-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => jest.restoreAllMocks());
const quiet = { warn: () => undefined };
const line = (i: number) => `${String(i).padStart(6, "0")}${"f".repeat(93)}`;

/** Descriptors this process holds on files under `dir`. */
function heldUnder(): string[] {
  return readdirSync("/proc/self/fd")
    .map((fd) => {
      try {
        return readlinkSync(`/proc/self/fd/${fd}`);
      } catch {
        return "";
      }
    })
    .filter((target) => target.startsWith(dir));
}

async function fileHandleProto(): Promise<FileHandle> {
  const probe = await openFile(__filename, "r");
  await probe.close();
  return Object.getPrototypeOf(probe) as FileHandle;
}

/** Syncs of `directory` fail while `failing.on`, but the first `spared`. */
async function failDirectorySyncs(directory: string, spared = 0): Promise<{ on: boolean }> {
  const proto = await fileHandleProto();
  const sync = proto.sync as (this: FileHandle) => Promise<void>;
  const failing = { on: true };
  let calls = 0;
  jest.spyOn(proto, "sync").mockImplementation(function (this: FileHandle) {
    if (readlinkSync(`/proc/self/fd/${this.fd}`) === directory && ++calls > spared && failing.on) return Promise.reject(Object.assign(new Error("EIO (test)"), { code: "EIO" }));
    return sync.call(this);
  });
  return failing;
}

it("holds no descriptor after close, whatever failed: opens, compactions whose directory sync fails, both paths", async () => {
  for (let round = 0; round < 4; round++) {
    const sub = path.join(dir, `r${round}`);
    mkdirSync(sub);
    const file = path.join(sub, "spool.log");
    // A failed open: the head's name is a directory.
    mkdirSync(`${file}.head`);
    await expect(fileSpool({ path: file }).open(quiet)).rejects.toThrow();
    rmSync(`${file}.head`, { recursive: true });
    // A failed open: the directory cannot be synced.
    let failing = await failDirectorySyncs(sub);
    await expect(fileSpool({ path: file }).open(quiet)).rejects.toThrow(/EIO/);
    jest.restoreAllMocks();
    expect(heldUnder()).toEqual([]);
    // A compaction from an acknowledgement, then one holding the tail, their directory syncs failing after the rename.
    const spool = fileSpool({ path: file, compactAfterBytes: 1000, maxBytes: 2000 });
    await spool.open(quiet);
    await spool.append(Array.from({ length: 30 }, (_, i) => line(i)));
    // The first sync (before the rename) succeeds, so that the compaction swaps; the ones after fail.
    failing = await failDirectorySyncs(sub, 1);
    await spool.ack(await spool.peek(20));
    await spool.append([line(30)]).catch(() => undefined);
    failing.on = false;
    await spool.ack(await spool.peek(1));
    jest.restoreAllMocks();
    failing = await failDirectorySyncs(sub, 1);
    for (let i = 31; i < 45; i++) await spool.append([line(i)]).catch(() => undefined);
    await spool.ack(await spool.peek(5));
    for (let i = 45; i < 50; i++) await spool.append([line(i)]).catch(() => undefined);
    // Closed while still mirroring (the sync still failing).
    await spool.close();
    jest.restoreAllMocks();
    expect(heldUnder()).toEqual([]);
  }
});
