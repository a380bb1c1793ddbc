import { mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync, appendFileSync } from "node:fs";
import { open as openFile, type FileHandle } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { spawn, spawnSync } from "node:child_process";
import { fileSpool, AuditConfigError } from "../../src";
import { readSpoolHead } from "../../src/writer/spool-head-file";
import { describeSpoolConformance, recordingLogger } from "./spool-conformance";

const dir = mkdtempSync(path.join(tmpdir(), "audit-file-spool-"));
const file = path.join(dir, "spool.log");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The prototype every `FileHandle` shares, so a test can make the disk fail. */
async function fileHandlePrototype(): Promise<FileHandle> {
  const probe = await openFile(__filename, "r");
  await probe.close();
  return Object.getPrototypeOf(probe) as FileHandle;
}

function diskError(code: "ENOSPC" | "EIO"): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: the disk failed (test)`), { code });
}

/**
 * Makes every write to `target` through a `FileHandle` write half its bytes, then fail, as
 * a crash in the middle of the write would leave the file (until `jest.restoreAllMocks()`).
 */
async function tearWritesTo(target: string): Promise<void> {
  const proto = await fileHandlePrototype();
  const write = proto.write as (this: FileHandle, data: Buffer, offset: number, length: number, position: number) => Promise<{ bytesWritten: number }>;
  jest.spyOn(proto, "write").mockImplementation(async function (this: FileHandle, data: unknown, offset?: unknown, length?: unknown, position?: unknown) {
    if (readlinkSync(`/proc/self/fd/${this.fd}`) !== target) return write.call(this, data as Buffer, offset as number, length as number, position as number);
    await write.call(this, data as Buffer, offset as number, Math.floor((length as number) / 2), position as number);
    throw Object.assign(new Error("killed (test)"), { code: "EIO" });
  } as FileHandle["write"]);
}

async function clear(): Promise<void> {
  for (const f of [file, `${file}.head`, `${file}.lock`]) rmSync(f, { force: true });
}

describeSpoolConformance("fileSpool()", {
  open: (o) => fileSpool({ path: file, ...o }),
  reset: clear,
  storedBytes: async () => statSync(file, { throwIfNoEntry: false })?.size ?? 0,
});

describe("fileSpool() on disk", () => {
  beforeEach(clear);

  it("cuts off a half-written last line left by a crash, and reports it", async () => {
    writeFileSync(file, "aaa\nbbb\nccc-half");
    const logger = recordingLogger();
    const spool = fileSpool({ path: file });
    await spool.open(logger);
    expect(spool.count()).toBe(2);
    expect((await spool.peek(10)).lines).toEqual(["aaa", "bbb"]);
    expect(logger.warnings.join("\n")).toMatch(/half-written last line \(8 bytes\)/);
    await spool.append(["ddd"]);
    await spool.close();
    expect(readFileSync(file, "utf8")).toBe("aaa\nbbb\nddd\n");
  });

  it("reads lines holding invalid UTF-8 without losing its place", async () => {
    writeFileSync(file, Buffer.concat([Buffer.from("one\n"), Buffer.from([0xff, 0xfe, 0x80, 0x0a]), Buffer.from("three\n")]));
    const spool = fileSpool({ path: file });
    await spool.open(recordingLogger());
    const first = await spool.peek(2);
    expect(first.lines[0]).toBe("one");
    await spool.ack(first);
    expect((await spool.peek(10)).lines).toEqual(["three"]);
    await spool.close();
  });

  it("starts from the beginning when its head file is past the end, and says so", async () => {
    writeFileSync(file, "a\nb\n");
    writeFileSync(`${file}.head`, "999");
    const logger = recordingLogger();
    const spool = fileSpool({ path: file });
    await spool.open(logger);
    expect((await spool.peek(10)).lines).toEqual(["a", "b"]);
    expect(logger.warnings.join("\n")).toMatch(/past its end/);
    await spool.close();
  });

  it("empties the file once everything is acknowledged", async () => {
    const spool = fileSpool({ path: file });
    await spool.open(recordingLogger());
    await spool.append(["a", "b"]);
    await spool.ack(await spool.peek(10));
    await spool.close();
    expect(readFileSync(file, "utf8")).toBe("");
    expect(await readSpoolHead(`${file}.head`)).toEqual({ offset: 0 });
  });

  it("refuses a spool another live process holds, and takes over one a dead process left", async () => {
    const live = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { stdio: "ignore" });
    try {
      writeFileSync(`${file}.lock`, String(live.pid));
      await expect(fileSpool({ path: file }).open(recordingLogger())).rejects.toThrow(`in use by process ${live.pid}`);
    } finally {
      live.kill("SIGKILL");
    }
    const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
    writeFileSync(`${file}.lock`, dead.stdout);
    const spool = fileSpool({ path: file });
    await spool.open(recordingLogger());
    expect(readFileSync(`${file}.lock`, "utf8")).toBe(String(process.pid));
    await spool.close();
  });

  it("keeps appending after a line of garbage was written into it by hand", async () => {
    const spool = fileSpool({ path: file });
    await spool.open(recordingLogger());
    await spool.append(["good-1"]);
    appendFileSync(file, "garbage\n");
    await spool.close();
    const again = fileSpool({ path: file });
    await again.open(recordingLogger());
    await again.append(["good-2"]);
    expect((await again.peek(10)).lines).toEqual(["good-1", "garbage", "good-2"]);
    await again.close();
  });

  it("names the fix for bad options", () => {
    expect(() => fileSpool({ path: "" })).toThrow(AuditConfigError);
    expect(() => fileSpool({ path: file, maxBytes: 10 })).toThrow(/at least 1024/);
    expect(() => fileSpool({ path: file, compactAfterBytes: 0 })).toThrow(/compactAfterBytes must be a positive integer/);
    expect(() => fileSpool({ path: file, compactAfterBytes: 1.5 })).toThrow(AuditConfigError);
  });

  describe("when the disk fails during an append", () => {
    afterEach(() => jest.restoreAllMocks());

    it("cuts off the part a failed write left, so a retried append never merges with it", async () => {
      const spool = fileSpool({ path: file });
      await spool.open(recordingLogger());
      await spool.append(["first"]);
      const proto = await fileHandlePrototype();
      const write = proto.write as (this: FileHandle, data: Buffer, offset?: number, length?: number) => Promise<{ bytesWritten: number }>;
      jest.spyOn(proto, "write").mockImplementationOnce(async function (this: FileHandle, data: unknown) {
        await write.call(this, (data as Buffer).subarray(0, 4));
        throw diskError("ENOSPC");
      } as FileHandle["write"]);
      await expect(spool.append(["second", "third"])).rejects.toThrow(/ENOSPC/);
      expect(readFileSync(file, "utf8")).toBe("first\n");
      expect(spool.count()).toBe(1);
      await spool.append(["second", "third"]);
      expect((await spool.peek(10)).lines).toEqual(["first", "second", "third"]);
      await spool.close();
      expect(readFileSync(file, "utf8")).toBe("first\nsecond\nthird\n");
    });

    it("cuts off lines written but not synced, so a retried append does not repeat them", async () => {
      const spool = fileSpool({ path: file });
      await spool.open(recordingLogger());
      await spool.append(["first"]);
      const proto = await fileHandlePrototype();
      jest.spyOn(proto, "datasync").mockRejectedValueOnce(diskError("EIO"));
      await expect(spool.append(["second"])).rejects.toThrow(/EIO/);
      expect(readFileSync(file, "utf8")).toBe("first\n");
      await spool.append(["second"]);
      expect(spool.count()).toBe(2);
      expect(spool.usedBytes()).toBe(13);
      expect((await spool.peek(10)).lines).toEqual(["first", "second"]);
      await spool.close();
    });

    it("writes the rest when a write takes only part of the lines", async () => {
      const spool = fileSpool({ path: file });
      await spool.open(recordingLogger());
      const proto = await fileHandlePrototype();
      const write = proto.write as (this: FileHandle, data: Buffer, offset?: number, length?: number) => Promise<{ bytesWritten: number }>;
      jest.spyOn(proto, "write").mockImplementationOnce(async function (this: FileHandle, data: unknown, offset?: number) {
        return write.call(this, data as Buffer, offset ?? 0, 3);
      } as FileHandle["write"]);
      await spool.append(["alpha", "beta"]);
      expect(readFileSync(file, "utf8")).toBe("alpha\nbeta\n");
      expect((await spool.peek(10)).lines).toEqual(["alpha", "beta"]);
      await spool.close();
    });
  });

  it("compacts the file once enough is acknowledged, keeping the rest intact for the next process", async () => {
    const spool = fileSpool({ path: file, compactAfterBytes: 4096 });
    await spool.open(recordingLogger());
    // 6 000 lines of 500 bytes: the 2.5 MiB left after the ack are copied in several chunks.
    const all = Array.from({ length: 6000 }, (_, i) => `${String(i).padStart(6, "0")}${"z".repeat(493)}`);
    for (let i = 0; i < all.length; i += 1000) await spool.append(all.slice(i, i + 1000));
    expect(statSync(file).size).toBe(6000 * 500);
    let acked = 0;
    while (acked < 3000) {
      const batch = await spool.peek(Math.min(700, 3000 - acked));
      await spool.ack(batch);
      acked += batch.lines.length;
    }
    expect(statSync(file).size).toBe(3000 * 500);
    expect(await readSpoolHead(`${file}.head`)).toEqual({ offset: 0 });
    expect(spool.count()).toBe(3000);
    expect(spool.usedBytes()).toBe(3000 * 500);
    expect((await spool.peek(2)).lines).toEqual(all.slice(3000, 3002));
    await spool.append(["after compaction"]);
    await spool.close();
    const again = fileSpool({ path: file });
    await again.open(recordingLogger());
    expect(again.count()).toBe(3001);
    expect((await again.peek(5000)).lines).toEqual([...all.slice(3000), "after compaction"]);
    await again.close();
  });

  it("keeps every line appended while it compacts, in order, in the file and for the next process", async () => {
    const spool = fileSpool({ path: file, compactAfterBytes: 2048 });
    await spool.open(recordingLogger());
    const line = (i: number) => `${String(i).padStart(6, "0")}${"c".repeat(93)}`;
    const total = 3000;
    // Appends of 10 lines, one after the other, while the head is read and acknowledged in
    // batches of 25, each of which compacts (2 500 bytes): every compaction meets appends.
    let appended = 0;
    const appending = (async () => {
      while (appended < total) {
        await spool.append(Array.from({ length: 10 }, () => line(appended++)));
      }
    })();
    const seen: string[] = [];
    while (seen.length < total - 500) {
      const batch = await spool.peek(25);
      if (batch.lines.length < 25) {
        await new Promise((resolve) => setImmediate(resolve));
        continue;
      }
      seen.push(...batch.lines);
      await spool.ack(batch);
    }
    await appending;
    expect(seen).toEqual(Array.from({ length: seen.length }, (_, i) => line(i)));
    const waiting = Array.from({ length: total - seen.length }, (_, i) => line(seen.length + i));
    expect(readFileSync(file, "utf8").split("\n").slice(0, -1).slice(-waiting.length)).toEqual(waiting);
    expect((await spool.peek(total)).lines).toEqual(waiting);
    await spool.close();
    const again = fileSpool({ path: file });
    await again.open(recordingLogger());
    expect((await again.peek(total)).lines).toEqual(waiting);
    await again.close();
  });
});

describe("fileSpool() within its maxBytes", () => {
  beforeEach(clear);
  afterEach(() => jest.restoreAllMocks());

  const line = (i: number) => `${String(i).padStart(4, "0")}${"q".repeat(95)}`;

  /** 21 lines of 100 bytes, the first 10 acknowledged: the file (2 100 bytes) is past maxBytes 2 000. */
  async function pastMaxBytes(spool: ReturnType<typeof fileSpool>): Promise<void> {
    await spool.append(Array.from({ length: 19 }, (_, i) => line(i)));
    await spool.ack(await spool.peek(10));
    await spool.append([line(19), line(20)]);
    expect(statSync(file).size).toBe(2100);
  }

  it("rewrites the file without its acknowledged head before it would grow past maxBytes plus the batch", async () => {
    const spool = fileSpool({ path: file, maxBytes: 4000 });
    await spool.open(recordingLogger());
    let appended = 0;
    let largest = 0;
    // A drop-oldest outage: every batch of 5 lines (500 bytes) pushes out the 5 oldest.
    for (let round = 0; round < 200; round++) {
      const batch = Array.from({ length: 5 }, () => line(appended++));
      if (spool.usedBytes() + 500 > 4000) await spool.ack(await spool.peek(5));
      await spool.append(batch);
      largest = Math.max(largest, statSync(file).size);
    }
    expect(largest).toBeLessThanOrEqual(4000 + 500);
    expect(spool.count()).toBe(40);
    expect((await spool.peek(100)).lines).toEqual(Array.from({ length: 40 }, (_, i) => line(appended - 40 + i)));
    await spool.close();
  });

  /**
   * A crash at each step of a compaction, simulated by the step's system call failing and
   * the process going on as a new one would: opening the same spool afresh.
   */
  describe.each([
    ["after the copy, in the middle of writing the head", () => tearWritesTo(`${file}.head`)],
    [
      "after the head is reset, before the copy replaces the file",
      async () => {
        const fsPromises = jest.requireActual<typeof import("node:fs/promises")>("node:fs/promises");
        const rename = fsPromises.rename;
        jest.spyOn(fsPromises, "rename").mockImplementation(async (from, to) => {
          if (String(to) === file) throw Object.assign(new Error("killed (test)"), { code: "EIO" });
          return rename(from, to);
        });
      },
    ],
  ])("when the process dies %s", (_when, kill) => {
    it("the next process finds every waiting line once, in order, and replays at most lines acknowledged before", async () => {
      const spool = fileSpool({ path: file, maxBytes: 2000 });
      await spool.open(recordingLogger());
      await pastMaxBytes(spool);
      await kill();
      // A head that cannot be written gives the copy up (the batch waits); a failed swap throws the failure.
      await expect(spool.append(Array.from({ length: 5 }, (_, i) => line(21 + i)))).rejects.toThrow(/killed|could not compact away/);
      jest.restoreAllMocks();

      const next = fileSpool({ path: file, maxBytes: 2000 });
      await next.open(recordingLogger());
      const found = (await next.peek(100)).lines;
      const waiting = Array.from({ length: 11 }, (_, i) => line(10 + i));
      const replayedAgain = found.slice(0, found.length - waiting.length);
      expect(found.slice(replayedAgain.length)).toEqual(waiting);
      expect(replayedAgain).toEqual(Array.from({ length: 10 }, (_, i) => line(i)).slice(10 - replayedAgain.length));
      expect(statSync(`${file}.compact`, { throwIfNoEntry: false })).toBeUndefined();
      await next.append(["after the crash"]);
      expect((await next.peek(100)).lines.at(-1)).toBe("after the crash");
      await next.close();
    });
  });

  it("refuses a batch it cannot make room for on disk, and takes it once the disk lets it compact", async () => {
    const spool = fileSpool({ path: file, maxBytes: 2000 });
    const logger = recordingLogger();
    await spool.open(logger);
    await pastMaxBytes(spool);
    const proto = await fileHandlePrototype();
    jest.spyOn(proto, "sync").mockRejectedValueOnce(diskError("ENOSPC"));
    await expect(spool.append([line(21)])).rejects.toThrow(/past its maxBytes \(2000\) with 1000 acknowledged bytes/);
    expect(statSync(file).size).toBe(2100);
    expect(logger.warnings.join("\n")).toMatch(/could not compact it \(ENOSPC/);
    await spool.append([line(21)]);
    expect(statSync(file).size).toBe(1200);
    expect((await spool.peek(100)).lines).toEqual(Array.from({ length: 12 }, (_, i) => line(10 + i)));
    await spool.close();
  });
});
