import { mkdtempSync, readlinkSync, rmSync } from "node:fs";
import { open as openFile, type FileHandle } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileSpool } from "../../src";
import { recordingLogger } from "./spool-conformance";

const dir = mkdtempSync(path.join(tmpdir(), "audit-takeover-head-"));
const file = path.join(dir, "spool.log");
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => jest.restoreAllMocks());
const line = (i: number) => `${String(i).padStart(6, "0")}${"t".repeat(93)}`;
const lines = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => line(from + i));

/**
 * A second fileSpool() on a path in the same process takes it over: the first one's
 * operations throw from then on. But an acknowledgement of the first one under way (here,
 * its compaction's copy being synced, on a slow disk) still wrote `<path>.head` afterwards,
 * with a generation counter of its own: it overwrote the slot of the second spool's last
 * head, so the head read was the second spool's head before, an offset into lines since
 * emptied: a reopened spool skipped waiting lines.
 */
it("a spool taken over by another in the same process no longer writes the head", async () => {
  const first = fileSpool({ path: file, compactAfterBytes: 1000 });
  await first.open(recordingLogger());
  await first.append(lines(0, 40));
  // The compaction's copy is synced on a slow disk: until `release`.
  const probe = await openFile(__filename, "r");
  const proto = Object.getPrototypeOf(probe) as FileHandle;
  await probe.close();
  const sync = proto.sync as (this: FileHandle) => Promise<void>;
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let paused = false;
  jest.spyOn(proto, "sync").mockImplementation(async function (this: FileHandle) {
    if (!paused && readlinkSync(`/proc/self/fd/${this.fd}`) === `${file}.compact`) {
      paused = true;
      await released;
    }
    return sync.call(this);
  });
  const firstAck = first.ack(await first.peek(20)).catch((error: unknown) => error);
  while (!paused) await new Promise((resolve) => setTimeout(resolve, 1));
  // Meanwhile, the same path opened again: this one takes it over.
  const second = fileSpool({ path: file });
  await second.open(recordingLogger());
  await second.ack(await second.peek(40)); // empties it
  await second.append(lines(40, 50));
  await second.ack(await second.peek(5));
  await second.ack(await second.peek(5)); // empties it
  await second.append(lines(50, 60)); // waiting
  release();
  await firstAck;
  await second.close();
  const next = fileSpool({ path: file });
  await next.open(recordingLogger());
  expect((await next.peek(100)).lines).toEqual(lines(50, 60));
  await next.close();
});
