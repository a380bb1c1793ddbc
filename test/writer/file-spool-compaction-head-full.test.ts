import { mkdtempSync, readdirSync, readlinkSync, rmSync, statSync } from "node:fs";
import { open as openFile, type FileHandle } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileSpool } from "../../src";
import { recordingLogger } from "./spool-conformance";

const dir = mkdtempSync(path.join(tmpdir(), "audit-compact-head-full-"));
const file = path.join(dir, "spool.log");
afterAll(() => rmSync(dir, { recursive: true, force: true }));
/**
 * A compaction copies the waiting lines, then writes the head naming the copy: the copy
 * may fit and the head's write fail (a full copy-on-write file system, a failing disk). The copy must then be given up whole,
 * its handle closed and its bytes removed (up to maxBytes, on a disk that is full), as
 * when the copy itself fails; the acknowledgement goes on without compacting.
 */
const line = (i: number) => `${String(i).padStart(6, "0")}${"c".repeat(93)}`;

it("gives back the copy (file and handle) when a compaction cannot write the head (disk full), and the acknowledgement goes on", async () => {
  const spool = fileSpool({ path: file, compactAfterBytes: 1000 });
  await spool.open(recordingLogger());
  await spool.append(Array.from({ length: 30 }, (_, i) => line(i)));
  const probe = await openFile(__filename, "r");
  const proto = Object.getPrototypeOf(probe) as FileHandle;
  await probe.close();
  const fds = readdirSync("/proc/self/fd").length;
  // The head's write fails (as on a copy-on-write file system that is full); other writes go on.
  const write = proto.write as (this: FileHandle, ...args: unknown[]) => Promise<{ bytesWritten: number }>;
  let headWritesFailed = 0;
  jest.spyOn(proto, "write").mockImplementation(function (this: FileHandle, ...args: unknown[]) {
    if (headWritesFailed === 0 && readlinkSync(`/proc/self/fd/${this.fd}`) === `${file}.head`) {
      headWritesFailed++;
      return Promise.reject(Object.assign(new Error("ENOSPC: no space left (test)"), { code: "ENOSPC" }));
    }
    return write.apply(this, args);
  } as FileHandle["write"]);
  const batch = await spool.peek(20);
  const acked = await spool.ack(batch).then(() => "acked", (e: Error) => e.message);
  jest.restoreAllMocks();
  const state = { acked, compactLeft: statSync(`${file}.compact`, { throwIfNoEntry: false })?.size, fdsLeaked: readdirSync("/proc/self/fd").length - fds, count: spool.count() };
  expect((await spool.peek(100)).lines).toEqual(Array.from({ length: acked === "acked" ? 10 : 30 }, (_, i) => line(i + (acked === "acked" ? 20 : 0))));
  expect({ compactLeft: state.compactLeft, fdsLeaked: state.fdsLeaked, headWritesFailed }).toEqual({ compactLeft: undefined, fdsLeaked: 0, headWritesFailed: 1 });
  await spool.close();
});
