import { mkdtempSync, readFileSync, rmSync, writeFileSync, appendFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { spawn, spawnSync } from "node:child_process";
import { fileSpool, AuditConfigError } from "../../src";
import { describeSpoolConformance, recordingLogger } from "./spool-conformance";

const dir = mkdtempSync(path.join(tmpdir(), "audit-file-spool-"));
const file = path.join(dir, "spool.log");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function clear(): Promise<void> {
  for (const f of [file, `${file}.head`, `${file}.lock`]) rmSync(f, { force: true });
}

describeSpoolConformance("fileSpool()", { open: (o) => fileSpool({ path: file, ...o }), reset: clear });

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
    expect(readFileSync(`${file}.head`, "utf8")).toBe("0");
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
  });
});
