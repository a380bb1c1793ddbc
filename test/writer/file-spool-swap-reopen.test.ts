import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileSpool } from "../../src";
import { recordingLogger } from "./spool-conformance";

const dir = mkdtempSync(path.join(tmpdir(), "audit-swap-reopen-"));
const file = path.join(dir, "spool.log");
afterAll(() => rmSync(dir, { recursive: true, force: true }));
/**
 * A compaction renames its copy over the spool file, then used to open the file again
 * for its appends. When that open fails (EMFILE, ENFILE), the spool kept appending to
 * the handle of the file it had just replaced, a file no name reaches any more: appends
 * acknowledged after it were gone for the next process.
 */
const line = (i: number) => `${String(i).padStart(6, "0")}${"c".repeat(93)}`;

it("keeps an append acknowledged after a compaction's swap could not reopen the file", async () => {
  const spool = fileSpool({ path: file, compactAfterBytes: 1000 });
  await spool.open(recordingLogger());
  await spool.append(Array.from({ length: 30 }, (_, i) => line(i)));
  const fsPromises = jest.requireActual<typeof import("node:fs/promises")>("node:fs/promises");
  const open = fsPromises.open;
  let failed = false;
  jest.spyOn(fsPromises, "open").mockImplementation(async (target, flags, mode) => {
    if (!failed && String(target) === file && flags === "a+") {
      failed = true;
      throw Object.assign(new Error("EMFILE: too many open files (test)"), { code: "EMFILE" });
    }
    return open(target, flags, mode);
  });
  // The acknowledgement compacts (20 lines of 100 bytes past compactAfterBytes); its outcome does not matter here.
  await spool.ack(await spool.peek(20)).catch(() => undefined);
  jest.restoreAllMocks();
  const after = await spool.append(["after the failed swap"]).then(() => "appended", (e: Error) => e.message);
  await spool.close();
  const again = fileSpool({ path: file });
  await again.open(recordingLogger());
  const lines = (await again.peek(100)).lines;
  await again.close();
  if (after === "appended") expect(lines.at(-1)).toBe("after the failed swap");
  expect(lines.slice(lines.length - (after === "appended" ? 11 : 10), after === "appended" ? -1 : undefined)).toEqual(Array.from({ length: 10 }, (_, i) => line(20 + i)));
});
