import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

import { fileSpool } from "../../src";

/**
 * After a crash (kill -9) the spool's lock file names a dead process. Two processes that
 * start together (a process manager restarting its workers, all with the same path) both
 * find the lock stale and both overwrite it (file-spool.ts takeLock: read holder, then
 * writeFile without "wx"): both open the spool. Each then keeps its own `size`/`head`
 * for one file, so one's acknowledgement truncates or skips the other's unstored lines.
 * A stale lock is now broken only under a mkdir'd `.breaking` directory, after reading it
 * again, and the lock is created with `wx`: one opener wins.
 */
const dir = mkdtempSync(path.join(tmpdir(), "audit-lock-race-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function deadPid(): number {
  return spawnSync("sh", ["-c", "echo $$"], { encoding: "utf8" }).stdout.trim() as unknown as number;
}

/** Starts an opener; resolves its answer ("opened" or "refused") as soon as it prints it, and its exit. */
function child(spoolPath: string, go: string): { answer: Promise<string>; exit: Promise<void> } {
  const p = spawn(path.resolve("node_modules/.bin/tsx"), [path.join(__dirname, "file-spool-lock-race-child.ts"), spoolPath, go], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  const answer = new Promise<string>((resolve) => {
    p.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("\n")) resolve(out.trim());
    });
    p.on("exit", () => resolve(out.trim()));
  });
  return { answer, exit: new Promise((resolve) => p.on("exit", () => resolve())) };
}

it("never lets two processes open one spool, even when they find a stale lock together", async () => {
  let both = 0;
  for (let round = 0; round < 6 && both === 0; round++) {
    const spoolPath = path.join(dir, `spool-${round}.log`);
    const go = path.join(dir, `go-${round}`);
    writeFileSync(`${spoolPath}.lock`, String(deadPid())); // left by a process killed with -9
    const children = [child(spoolPath, go), child(spoolPath, go), child(spoolPath, go)];
    await new Promise((resolve) => setTimeout(resolve, 4000)); // all three started and polling
    writeFileSync(go, "");
    const results = await Promise.all(children.map((c) => c.answer));
    writeFileSync(`${go}.stop`, "");
    await Promise.all(children.map((c) => c.exit));
    if (results.filter((r) => r === "opened").length > 1) both++;
  }
  expect(both).toBe(0);
}, 60_000);

it("does not take a lock being created (empty until its creator writes its pid) for a dead holder's", async () => {
  const spoolPath = path.join(dir, "being-created.log");
  writeFileSync(`${spoolPath}.lock`, ""); // a creator between its create and its write
  const holder = spawn("sleep", ["30"]);
  try {
    const opening = fileSpool({ path: spoolPath })
      .open({ warn: () => undefined, error: () => undefined })
      .then(
        () => "opened",
        (error: Error) => `refused: ${error.message}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 300));
    writeFileSync(`${spoolPath}.lock`, String(holder.pid));
    expect(await opening).toBe(`refused: fileSpool(): ${spoolPath} is in use by process ${holder.pid}. Give each process its own spool path.`);
  } finally {
    holder.kill();
  }
});

it("fences an earlier spool of this process off a path a later fileSpool() opens: its acknowledgement cannot erase the other's lines", async () => {
  const { fileSpool } = await import("../../src");
  const spoolPath = path.join(dir, "shared.log");
  const warnings: string[] = [];
  const logger = { warn: (m: string) => warnings.push(m) };
  const a = fileSpool({ path: spoolPath });
  const b = fileSpool({ path: spoolPath });
  await a.open(logger);
  await a.append(["a1", "a2"]);
  await b.open(logger);
  expect(warnings.join("\n")).toMatch(/open in this process already/);
  await b.append(["b1", "b2"]); // durable: B's callers are told their events are safe
  await expect(a.append(["a3"])).rejects.toThrow(/another fileSpool\(\) on the same path was opened in this process/);
  await expect(a.ack({ lines: ["a1", "a2"], bytes: [3, 3] })).rejects.toThrow(/another fileSpool\(\) on the same path/);
  await a.close(); // leaves B's lock in place
  const third = fileSpool({ path: spoolPath });
  await b.ack(await b.peek(2)); // B stored a1, a2
  expect((await b.peek(10)).lines).toEqual(["b1", "b2"]);
  await b.close();
  await third.open(logger);
  expect((await third.peek(10)).lines).toEqual(["b1", "b2"]);
  await third.close();
});
