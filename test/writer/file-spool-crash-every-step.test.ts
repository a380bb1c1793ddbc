import { AsyncLocalStorage } from "node:async_hooks";
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import fc from "fast-check";

/**
 * A crash at every step: each call that changes the spool's files (a write, a sync, a
 * truncate, a close, an open, a rename, a removal) is, in one run, the point where the
 * process dies: it and every later call never return. The next process then opens the
 * spool as the crash left it, twice over: with the files as they are, and, when a rename
 * was not made durable yet by a sync of the directory, with that rename undone (what a
 * power cut may leave). No line whose append resolved and that no acknowledgement was
 * ever given may be missing then (a line given to `ack` is in the store already).
 */
/**
 * The process a call belongs to, followed through every await: once it crashed, each of its
 * later calls hangs, however long a call the crash did not stop (a read, a stat) kept it
 * going, while the next process, started outside it, works on the files.
 */
const processes = new AsyncLocalStorage<{ dead: boolean }>();
const sim = {
  counting: false,
  calls: 0,
  crashAt: -1,
  /** The directory whose syncs count as making its renames durable. */
  dir: "",
  /**
   * Names changed since the directory's last successful sync, which a power cut may undo: a
   * rename over an existing name (with a link to what it named), a file created.
   */
  unsynced: [] as { to: string; backup?: string }[],
  backups: 0,
  /** Syncs of the directory made so far, and those that fail (1-based, counted from the spool's open). */
  dirSyncs: 0,
  failDirSyncs: [] as number[],
  /** Writes through a handle opened on the spool file's name (after a swap: the replaced file, mirrored), and those that fail half-way (1-based). */
  spoolWrites: 0,
  failSpoolWrites: [] as number[],
  handles: [] as FileHandle[],
  onCrash: () => undefined as void,
  /** Calls begun and not finished: after a crash, those (begun before it) end, and what follows them hangs. */
  inflight: 0,
};
const hang = () => new Promise<never>(() => undefined);

jest.mock("node:fs/promises", () => {
  const actual = jest.requireActual<typeof import("node:fs/promises")>("node:fs/promises");
  const fs = jest.requireActual<typeof import("node:fs")>("node:fs");
  const step = async <T>(work: () => Promise<T>): Promise<T> => {
    const life = processes.getStore();
    if (life?.dead) return hang();
    if (life !== undefined && sim.counting && ++sim.calls === sim.crashAt) {
      life.dead = true;
      sim.onCrash();
      return hang();
    }
    sim.inflight++;
    try {
      return await work();
    } finally {
      sim.inflight--;
    }
  };
  const wrap = (handle: FileHandle, name: string): FileHandle => {
    sim.handles.push(handle);
    const isDir = name === sim.dir;
    return new Proxy(handle, {
      get(target, key) {
        const value = Reflect.get(target, key, target) as unknown;
        if (typeof value !== "function") return value;
        const fn = value as (...args: unknown[]) => Promise<unknown>;
        if (key === "sync" && isDir) {
          return () =>
            step(async () => {
              if (sim.failDirSyncs.includes(++sim.dirSyncs)) {
                throw Object.assign(new Error("EIO: the disk failed (test)"), { code: "EIO" });
              }
              await fn.call(target);
              sim.unsynced = [];
            });
        }
        if (key === "write" && name.endsWith("spool.log")) {
          return (...args: unknown[]) =>
            step(async () => {
              if (sim.failSpoolWrites.includes(++sim.spoolWrites)) {
                const data = args[0] as Buffer;
                await fn.call(target, data.subarray(0, Math.floor(data.length / 2)));
                throw Object.assign(new Error("EIO: the disk failed (test)"), { code: "EIO" });
              }
              return fn.apply(target, args);
            });
        }
        if (["write", "datasync", "sync", "truncate", "close"].includes(String(key))) {
          return (...args: unknown[]) => step(() => fn.apply(target, args));
        }
        return (...args: unknown[]) => fn.apply(target, args);
      },
    });
  };
  return {
    ...actual,
    open: (name: string, ...rest: unknown[]) =>
      step(async () => {
        const resolved = path.resolve(String(name));
        const created = path.dirname(resolved) === sim.dir && !fs.existsSync(resolved);
        const handle = await (actual.open as (...a: unknown[]) => Promise<FileHandle>)(name, ...rest);
        if (created && fs.existsSync(resolved)) sim.unsynced.push({ to: resolved });
        return wrap(handle, resolved);
      }),
    rename: (from: string, to: string) =>
      step(async () => {
        let backup: string | undefined;
        if (fs.existsSync(to)) {
          backup = path.join(sim.dir, "..", `backup-${++sim.backups}`);
          fs.linkSync(to, backup);
        }
        await actual.rename(from, to);
        if (backup !== undefined) sim.unsynced.push({ to: path.resolve(to), backup });
      }),
    rm: (name: string, options?: object) => step(() => actual.rm(name, options as never)),
  };
});
import { fileSpool, type AuditSpool } from "../../src";

// On tmpfs: its syncs cost nothing (the crash is simulated; durability is modelled above).
const root = mkdtempSync(path.join(existsSync("/dev/shm") ? "/dev/shm" : tmpdir(), "audit-crash-step-"));
jest.setTimeout(300_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));
const warnings: string[] = [];
const quiet = { warn: (message: string) => void warnings.push(message) };
let runs = 0;

const line = (i: number) => `${String(i).padStart(6, "0")}${"w".repeat(60)}`;

/** What a workload leaves known: lines whose append resolved, and lines given to an acknowledgement. */
interface Ledger {
  appended: Set<string>;
  given: Set<string>;
}

/** `reopen`: the spool as the next process opens it (the one before closed, or gone). Returns the spool to close at the end. */
type Workload = (spool: AuditSpool, ledger: Ledger, reopen: () => Promise<AuditSpool>) => Promise<AuditSpool | void>;

async function append(spool: AuditSpool, ledger: Ledger, added: string[]): Promise<void> {
  await spool.append(added);
  for (const l of added) ledger.appended.add(l);
}

async function ackNext(spool: AuditSpool, ledger: Ledger, count: number): Promise<void> {
  const batch = await spool.peek(count);
  for (const l of batch.lines) ledger.given.add(l);
  await spool.ack(batch).catch(() => undefined);
}

interface Options {
  maxBytes?: number;
  compactAfterBytes?: number;
  /** What the spool's files hold before it opens (an earlier version's, say); lines before the head go in `ledger.given`. */
  setup?: (file: string, ledger: Ledger) => void;
  /** Directory syncs that fail (1-based, counted from the spool's open). */
  failDirSyncs?: number[];
  /** Writes through handles opened on the spool file's name that fail half-way (1-based). */
  failSpoolWrites?: number[];
}

/** Runs `workload`, crashing at call `crashAt` (or never: -1); returns how many calls it made, and checks the reopened spool. */
async function runOnce(workload: Workload, options: Options, crashAt: number, undoRenames: boolean): Promise<{ calls: number; missing: string[]; openError?: unknown }> {
  const dir = path.join(root, `run-${++runs}`);
  mkdirSync(dir);
  const file = path.join(dir, "spool.log");
  Object.assign(sim, { counting: false, calls: 0, crashAt, dir, unsynced: [], dirSyncs: 0, failDirSyncs: [], handles: [] });
  const ledger: Ledger = { appended: new Set(), given: new Set() };
  options.setup?.(file, ledger);
  const spool = fileSpool({ path: file, maxBytes: options.maxBytes, compactAfterBytes: options.compactAfterBytes });
  sim.dirSyncs = 0;
  sim.failDirSyncs = options.failDirSyncs ?? [];
  sim.spoolWrites = 0;
  sim.failSpoolWrites = options.failSpoolWrites ?? [];
  sim.counting = true;
  // The close too: a crash may come at any of its steps.
  const reopen = async () => {
    const again = fileSpool({ path: file, maxBytes: options.maxBytes, compactAfterBytes: options.compactAfterBytes });
    await again.open(quiet);
    return again;
  };
  // The open too: a crash may come at any of its steps (the first write of the head's slots, say).
  const done = processes.run({ dead: false }, () =>
    spool
      .open(quiet)
      .then(() => workload(spool, ledger, reopen))
      .then((last) => (last ?? spool).close())
      .then(
        () => "done" as const,
        () => "failed" as const,
      ),
  );
  // A crash leaves the workload hanging: wait for either (however slow the machine).
  await Promise.race([done, new Promise<void>((resolve) => (sim.onCrash = resolve))]);
  // Calls the crash found under way end; what the dead process does after them hangs (it is
  // dead): only then may the next process touch the files.
  for (let still = 0; still < 5; still = sim.inflight === 0 ? still + 1 : 0) await new Promise((resolve) => setTimeout(resolve, 1));
  const calls = sim.calls;
  sim.counting = false;
  sim.failDirSyncs = [];
  sim.failSpoolWrites = [];
  const held = sim.handles;
  if (undoRenames) {
    for (const { to, backup } of [...sim.unsynced].reverse()) {
      if (backup !== undefined) renameSync(backup, to);
      else rmSync(to, { force: true });
    }
  }
  sim.unsynced = [];
  const next = fileSpool({ path: file });
  let found: readonly string[] = [];
  let openError: unknown;
  try {
    await next.open(quiet);
    found = (await next.peek(100_000)).lines;
    await next.close();
  } catch (error) {
    openError = error;
  }
  for (const h of held) await h.close().catch(() => undefined);
  const present = new Set(found);
  const missing = [...ledger.appended].filter((l) => !ledger.given.has(l) && !present.has(l));
  rmSync(dir, { recursive: true, force: true });
  return { calls, missing, openError };
}

async function crashEverywhere(workload: Workload, options: Options): Promise<string[]> {
  warnings.length = 0;
  const { calls, missing } = await runOnce(workload, options, -1, false);
  expect(missing).toEqual([]);
  // The runs do what they are for: with directory syncs failing, a compaction met one after its rename.
  if ((options.failDirSyncs ?? []).length > 0) expect(warnings.join("\n")).toMatch(/could not sync its directory after a compaction/);
  const failures: string[] = [];
  for (let at = 1; at <= calls + 1; at++) {
    for (const undo of [false, true]) {

      const result = await runOnce(workload, options, at, undo);
      if (result.openError !== undefined) failures.push(`crash at call ${at}${undo ? " (rename undone)" : ""}: reopen failed: ${String(result.openError)}`);
      if (result.missing.length > 0) failures.push(`crash at call ${at}${undo ? " (rename undone)" : ""}: lost ${result.missing.join(",")}`);
    }
  }
  return failures;
}

const ackCompaction: Workload = async (spool, ledger) => {
  await append(spool, ledger, Array.from({ length: 40 }, (_, i) => line(i)));
  await ackNext(spool, ledger, 20); // compacts (from the ack)
  await append(spool, ledger, [line(30), line(31)]);
  await ackNext(spool, ledger, 5);
  await append(spool, ledger, [line(32)]);
  await ackNext(spool, ledger, 100); // empties it
  await append(spool, ledger, [line(33), line(34)]);
  await ackNext(spool, ledger, 1);
};

const tailHeldCompaction: Workload = async (spool, ledger) => {
  await append(spool, ledger, Array.from({ length: 25 }, (_, i) => line(i)));
  await ackNext(spool, ledger, 10);
  await append(spool, ledger, [line(25), line(26)]);
  // Past maxBytes with acknowledged bytes at the head: compacts holding the tail.
  await append(spool, ledger, [line(27)]);
  await ackNext(spool, ledger, 3);
  await append(spool, ledger, [line(28)]);
  await ackNext(spool, ledger, 2);
};

const appendDuringCompaction: Workload = async (spool, ledger) => {
  await append(spool, ledger, Array.from({ length: 38 }, (_, i) => line(i)));
  const acking = ackNext(spool, ledger, 20);
  const appending = (async () => {
    for (let i = 38; i < 44; i++) await append(spool, ledger, [line(i)]);
  })();
  await Promise.all([acking, appending]);
  await ackNext(spool, ledger, 4);
};

/** A compaction whose directory sync fails, then the spool closed and opened again (the next process), which goes on. */
const reopenAfterUnsyncedSwap: Workload = async (spool, ledger, reopen) => {
  await append(spool, ledger, Array.from({ length: 40 }, (_, i) => line(i)));
  await ackNext(spool, ledger, 20);
  await append(spool, ledger, [line(40)]);
  await spool.close();
  const next = await reopen();
  await append(next, ledger, [line(41), line(42)]);
  await ackNext(next, ledger, 1);
  await append(next, ledger, [line(43)]);
  return next;
};

const goOn: Workload = async (spool, ledger) => {
  await ackNext(spool, ledger, 2);
  await append(spool, ledger, [line(100)]);
  await ackNext(spool, ledger, 12); // compacts
  await append(spool, ledger, [line(101)]);
  await ackNext(spool, ledger, 1);
};

/** Lines `from`..`to` - 1, as the spool file holds them. */
const text = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `${line(from + i)}\n`).join("");
const lineBytes = Buffer.byteLength(text(0, 1));
function given(ledger: Ledger, from: number, to: number, held: boolean): void {
  for (let i = from; i < to; i++) {
    ledger.given.add(line(i));
    if (held) ledger.appended.add(line(i));
  }
}
function waiting(ledger: Ledger, from: number, to: number): void {
  for (let i = from; i < to; i++) ledger.appended.add(line(i));
}

/** The head an earlier version wrote (renamed into place, whole): `<offset>`. */
const legacyHead = (file: string, ledger: Ledger) => {
  writeFileSync(file, text(0, 30));
  writeFileSync(`${file}.head`, String(10 * lineBytes));
  given(ledger, 0, 10, true);
  waiting(ledger, 10, 30);
};
/** An earlier version's compaction, killed before its rename: `<offset> <inode of the copy>`, the file as it was. */
const legacyBeforeRename = (file: string, ledger: Ledger) => {
  writeFileSync(file, text(0, 30));
  writeFileSync(`${file}.compact`, text(20, 30));
  writeFileSync(`${file}.head`, `${20 * lineBytes} ${statSync(`${file}.compact`, { bigint: true }).ino}`);
  given(ledger, 0, 20, true);
  waiting(ledger, 20, 30);
};
/** An earlier version's compaction, killed after its rename: `<offset> <inode of the copy>`, the file the copy. */
const legacyAfterRename = (file: string, ledger: Ledger) => {
  writeFileSync(file, text(20, 30));
  writeFileSync(`${file}.head`, `${20 * lineBytes} ${statSync(file, { bigint: true }).ino}\n`);
  given(ledger, 0, 20, false);
  waiting(ledger, 20, 30);
};

async function tryAppend(spool: AuditSpool, ledger: Ledger, added: string[]): Promise<void> {
  await append(spool, ledger, added).catch(() => undefined);
}

/** The life of a replaced file mirrored while the directory cannot be synced: appends (one failing half-way), an emptying, a compaction refused, then the sync back. */
const mirrorLife: Workload = async (spool, ledger) => {
  await append(spool, ledger, Array.from({ length: 40 }, (_, i) => line(i)));
  await ackNext(spool, ledger, 20); // compacts; its directory sync fails: mirroring
  await tryAppend(spool, ledger, [line(40)]);
  await tryAppend(spool, ledger, [line(41), line(42)]);
  await tryAppend(spool, ledger, [line(43)]);
  await ackNext(spool, ledger, 5);
  await ackNext(spool, ledger, 100); // empties the file (not the one mirrored)
  await tryAppend(spool, ledger, Array.from({ length: 30 }, (_, i) => line(50 + i)));
  await ackNext(spool, ledger, 16); // would compact: not while the swap waits for its sync
  await tryAppend(spool, ledger, [line(80)]);
  await ackNext(spool, ledger, 1); // the sync succeeds: the replaced file goes
  await tryAppend(spool, ledger, [line(81)]);
  await ackNext(spool, ledger, 8); // compacts
  await tryAppend(spool, ledger, [line(82)]);
};

/** The same with the tail held: appends past maxBytes while the swap waits for its sync. */
const mirrorLifeTailHeld: Workload = async (spool, ledger) => {
  await append(spool, ledger, Array.from({ length: 25 }, (_, i) => line(i)));
  await ackNext(spool, ledger, 10);
  await tryAppend(spool, ledger, [line(25), line(26)]);
  await tryAppend(spool, ledger, [line(27)]); // compacts holding the tail; its directory sync fails
  await tryAppend(spool, ledger, [line(28)]);
  await tryAppend(spool, ledger, [line(29), line(30)]);
  await ackNext(spool, ledger, 10);
  for (let i = 31; i < 40; i++) await tryAppend(spool, ledger, [line(i)]); // past maxBytes again: no compaction while unsynced
  await ackNext(spool, ledger, 2);
  for (let i = 40; i < 44; i++) await tryAppend(spool, ledger, [line(i)]);
  await ackNext(spool, ledger, 3);
};

const workloads: [string, Workload, Options][] = [
  ["a compaction from an acknowledgement", ackCompaction, { compactAfterBytes: 1000 }],
  ["a compaction from an append past maxBytes (the tail held)", tailHeldCompaction, { maxBytes: 1700, compactAfterBytes: 1_000_000 }],
  ["appends during a compaction", appendDuringCompaction, { compactAfterBytes: 1000 }],
  ["a compaction from an acknowledgement, the directory sync after the rename failing", ackCompaction, { compactAfterBytes: 1000, failDirSyncs: [3, 4, 5] }],
  ["a compaction holding the tail, the directory sync after the rename failing", tailHeldCompaction, { maxBytes: 1700, compactAfterBytes: 1_000_000, failDirSyncs: [3, 4, 5] }],
  ["appends during a compaction, the directory sync failing", appendDuringCompaction, { compactAfterBytes: 1000, failDirSyncs: [3, 4, 5] }],
  ["a close and an open after a compaction whose directory sync failed", reopenAfterUnsyncedSwap, { compactAfterBytes: 1000, failDirSyncs: [3, 4, 5, 6, 7, 8, 9] }],
  ["a close and an open after a compaction whose directory sync failed, the open's succeeding", reopenAfterUnsyncedSwap, { compactAfterBytes: 1000, failDirSyncs: [3, 4] }],
  ["the first open of a head an earlier version wrote", goOn, { compactAfterBytes: 1000, setup: legacyHead }],
  ["the first open of an earlier version's compaction killed before its rename", goOn, { compactAfterBytes: 1000, setup: legacyBeforeRename }],
  ["the first open of an earlier version's compaction killed after its rename", goOn, { compactAfterBytes: 1000, setup: legacyAfterRename }],
  ["a replaced file mirrored while the directory sync fails", mirrorLife, { compactAfterBytes: 1000, failDirSyncs: [3, 4, 5, 6, 7], failSpoolWrites: [3] }],
  ["a replaced file mirrored while the directory sync fails, appends not failing", mirrorLife, { compactAfterBytes: 1000, failDirSyncs: [3, 4, 5, 6, 7] }],
  ["a replaced file mirrored (the tail held) while the directory sync fails", mirrorLifeTailHeld, { maxBytes: 1700, compactAfterBytes: 1_000_000, failDirSyncs: [3, 4, 5, 6, 7, 8], failSpoolWrites: [4, 6] }],
];

describe("a crash at every step of", () => {
  it.each(workloads)("%s loses no line not acknowledged", async (_name, workload, options) => {
    expect(await crashEverywhere(workload, options)).toEqual([]);
  });
});

type Op = { kind: "append"; count: number } | { kind: "ack"; count: number } | { kind: "both"; append: number; ack: number } | { kind: "reopen" };

/** A workload of `ops`: appends, acknowledgements, both at once, and a close and an open again (the next process). */
function randomWorkload(ops: readonly Op[]): Workload {
  return async (spool, ledger, reopen) => {
    let next = 0;
    const fresh = (count: number) => Array.from({ length: count }, () => line(next++));
    let current = spool;
    for (const op of ops) {
      if (op.kind === "append") await tryAppend(current, ledger, fresh(op.count));
      else if (op.kind === "ack") await ackNext(current, ledger, op.count);
      else if (op.kind === "both") await Promise.all([ackNext(current, ledger, op.ack), tryAppend(current, ledger, fresh(op.append))]);
      else {
        await current.close();
        current = await reopen();
      }
    }
    return current;
  };
}

const opArbitrary: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("append" as const), count: fc.integer({ min: 1, max: 15 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("ack" as const), count: fc.integer({ min: 1, max: 20 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("both" as const), append: fc.integer({ min: 1, max: 5 }), ack: fc.integer({ min: 1, max: 20 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: "reopen" as const }) },
);

it("a crash anywhere in random appends, acknowledgements (both at once too), reopenings, with directory syncs and appends failing, loses no line", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(opArbitrary, { minLength: 3, maxLength: 14 }),
      fc.constantFrom(500, 1000, 1_000_000),
      fc.constantFrom(1200, 1700, 1_000_000),
      fc.subarray([2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]),
      fc.subarray([2, 3, 4, 5, 6, 7, 8]),
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.boolean(),
      async (ops, compactAfterBytes, maxBytes, failDirSyncs, failSpoolWrites, where, undo) => {
        const workload = randomWorkload(ops);
        const options: Options = { compactAfterBytes, maxBytes, failDirSyncs, failSpoolWrites };
        const { calls } = await runOnce(workload, options, -1, false);
        const at = 1 + Math.floor(where * calls);
        const result = await runOnce(workload, options, at, undo);
        expect(result.openError).toBeUndefined();
        expect(result.missing).toEqual([]);
      },
    ),
    { numRuns: Number(process.env.CRASH_RUNS ?? 150) },
  );
});
