import { readFileSync, rmSync } from "node:fs";
import path from "node:path";

import { v7 as uuidv7 } from "uuid";

import { buildPackage, createProject, prismaConfig, type Project } from "./cli-package";

const STACK_LINE = /^\s+at /m;
const version = (JSON.parse(readFileSync(path.join(__dirname, "..", "..", "package.json"), "utf8")) as { version: string }).version;

let packageDir: string;
let project: Project;

beforeAll(() => {
  packageDir = buildPackage();
  project = createProject(packageDir);
}, 120_000);
afterAll(() => {
  project?.remove();
  if (packageDir) rmSync(packageDir, { recursive: true, force: true });
});

/** A config holding a memory store, so the command line can run without a database. */
const memoryConfig = (exportLine: string) => `import { memoryStore } from "audit-events";\nconst store = memoryStore();\n${exportLine}\n`;

/** Config code that fills `inner`, a memory store, with `count` events 40 to 80 days old. */
function oldEventsIn(count: number): string {
  const events = Array.from({ length: count }, (_, i) => {
    const msecs = Date.now() - (40 + i) * 86_400_000;
    return { id: uuidv7({ msecs }), msecs, objectId: String(i) };
  });
  return `import { AuditConfigError, AuditContext, memoryStore } from "audit-events";
const inner = memoryStore();
await inner.insert(${JSON.stringify(events)}.map(({ id, msecs, objectId }) => ({
  id, timestamp: new Date(msecs), contentType: "Order", objectId, content: {}, userId: null, url: null,
  method: null, remoteAddr: null, queryParams: {}, postData: {}, headers: {},
})), { context: new AuditContext() });
`;
}

/** A config whose store holds 30 old events and runs `failure` on its third batch. */
const failingConfig = (failure: string) => `${oldEventsIn(30)}
let batches = 0;
export const store = {
  name: "failing",
  insert: (events, options) => inner.insert(events, options),
  getEvent: (id) => inner.getEvent(id),
  getArchivedEvent: (id) => inner.getArchivedEvent(id),
  countLiveBefore: (before) => inner.countLiveBefore(before),
  async archiveBatch(before, limit, after) {
    if (++batches === 3) ${failure};
    return inner.archiveBatch(before, limit, after);
  },
};
`;

describe("audit-events --help and --version", () => {
  it("lists the commands, the global options and the exit codes", async () => {
    const run = await project.run(["--help"]);

    expect(run.code).toBe(0);
    for (const text of ["Usage: audit-events", "archive", "--config <path>", "--verbose", "--version", "Exit codes:", "3  config problem"]) {
      expect(run.stdout).toContain(text);
    }
  });

  it("lists the options of archive, their defaults, examples and the exit codes", async () => {
    const run = await project.run(["archive", "--help"]);

    expect(run.code).toBe(0);
    for (const text of ["Usage: audit-events archive", "--older-than <days>", "--batch-size <n>", "(default: 1000)", "--concurrency <n>", "(default: 1)", "--dry-run", "Examples:", "Exit codes:"]) {
      expect(run.stdout).toContain(text);
    }
  });

  it("prints the version of the package", async () => {
    expect(await project.run(["--version"])).toEqual({ code: 0, stdout: `${version}\n`, stderr: "" });
  });
});

describe("usage errors exit with 2", () => {
  it.each([
    ["an unknown option", ["archive", "--older-than", "30", "--bogus"], "unknown option '--bogus'"],
    ["an unknown command", ["unarchive"], "unknown command 'unarchive'"],
    ["no command", [], "Usage: audit-events"],
    ["a missing --older-than", ["archive"], "required option '--older-than <days>' not specified"],
    ["--older-than abc", ["archive", "--older-than", "abc"], "Give a number of days, 0 or more, such as 90."],
    ["a negative --older-than", ["archive", "--older-than", "-3"], "Give a number of days"],
    ["--batch-size 0", ["archive", "--older-than", "30", "--batch-size", "0"], "Give a whole number from 1 to 100000"],
    ["--batch-size 2.5", ["archive", "--older-than", "30", "--batch-size", "2.5"], "Give a whole number from 1 to 100000"],
    ["--concurrency 0", ["archive", "--older-than", "30", "--concurrency", "0"], "Give a whole number from 1 to 16, such as 2."],
    ["--concurrency 17", ["archive", "--older-than", "30", "--concurrency", "17"], "Give a whole number from 1 to 16, such as 2."],
  ])("for %s", async (_, args, message) => {
    const run = await project.run(args);

    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
    expect(run.stdout).toBe("");
  });
});

describe("config problems exit with 3", () => {
  it("names the files it looked for and how to write one when there is no config", async () => {
    const run = await project.run(["archive", "--older-than", "30"], { cwd: packageDir });

    expect(run.code).toBe(3);
    expect(run.stderr).toContain(`No config file found in ${packageDir}`);
    expect(run.stderr).toContain("audit-events.config.mjs");
    expect(run.stderr).toContain("--config <path>");
    expect(run.stderr).toContain("export const store = prismaStore(prisma)");
  });

  it("says so when the file given with --config does not exist", async () => {
    const run = await project.run(["--config", "missing.config.mjs", "archive", "--older-than", "30"]);

    expect(run.code).toBe(3);
    expect(run.stderr).toContain(`${path.join(project.dir, "missing.config.mjs")} given with --config does not exist`);
  });

  it("explains how to export the store when the config exports none", async () => {
    project.write("no-store.config.mjs", "export const prisma = {};\n");
    const run = await project.run(["archive", "--older-than", "30", "--config", "no-store.config.mjs"]);

    expect(run.code).toBe(3);
    expect(run.stderr).toContain("exports no store. Export it as `export const store = prismaStore(prisma)`");
  });

  it("says the store must be prismaStore(prisma) when the config exports something else", async () => {
    project.write("client.config.mjs", "export const store = { $connect() {} };\n");
    const run = await project.run(["archive", "--older-than", "30", "--config", "client.config.mjs"]);

    expect(run.code).toBe(3);
    expect(run.stderr).toContain("is not an audit store");
  });

  it("reports a config that fails to load without a stack trace, and with one under --verbose", async () => {
    project.write("broken.config.mjs", 'throw new Error("DATABASE_URL is not set");\n');
    const run = await project.run(["archive", "--older-than", "30", "--config", "broken.config.mjs"]);
    const verbose = await project.run(["archive", "--older-than", "30", "--config", "broken.config.mjs", "--verbose"]);

    expect(run.code).toBe(3);
    expect(run.stderr).toContain("Could not load the config file");
    expect(run.stderr).toContain("DATABASE_URL is not set");
    expect(run.stderr).not.toMatch(STACK_LINE);
    expect(verbose.code).toBe(3);
    expect(verbose.stderr).toMatch(STACK_LINE);
  });

  it("asks for tsx or a .mjs config when a TypeScript config cannot be loaded", async () => {
    const bare = createProject(packageDir, { tsx: false });
    try {
      bare.write("audit-events.config.ts", memoryConfig("export default { store };"));
      const run = await bare.run(["archive", "--older-than", "30"]);

      expect(run.code).toBe(3);
      expect(run.stderr).toContain("needs tsx, which is not installed");
      expect(run.stderr).toContain("npm install --save-dev tsx");
      expect(run.stderr).toContain("audit-events.config.mjs");
    } finally {
      bare.remove();
    }
  });

  it("reports a store whose configuration stops archival", async () => {
    project.write("misconfigured.config.mjs", failingConfig('throw new AuditConfigError("prismaStore(): the archive model needs an archivedAt field.")'));
    const run = await project.run(["archive", "--older-than", "30", "--batch-size", "10", "--config", "misconfigured.config.mjs"]);

    expect(run.code).toBe(3);
    expect(run.stderr).toContain("the store in the config file cannot archive: prismaStore(): the archive model needs an archivedAt field.");
  });
});

describe("config files", () => {
  it.each([
    ["audit-events.config.mjs", memoryConfig("export default { store };")],
    ["audit-events.config.js", memoryConfig("export { store };")],
    ["audit-events.config.cjs", 'const { memoryStore } = require("audit-events");\nmodule.exports = { store: memoryStore() };\n'],
    ["audit-events.config.ts", memoryConfig("export const close = async (): Promise<void> => undefined;\nexport { store };")],
  ])("finds %s in the current directory and takes its store", async (name, text) => {
    const own = createProject(packageDir);
    try {
      own.write("package.json", JSON.stringify({ type: name.endsWith(".js") ? "module" : "commonjs" }));
      own.write(name, text);
      const run = await own.run(["archive", "--older-than", "30", "--dry-run"]);

      expect(run).toMatchObject({ code: 0, stderr: "" });
      expect(run.stdout).toMatch(/^Dry run: would archive 0 event\(s\)/);
    } finally {
      own.remove();
    }
  });

  it("awaits the config's close() before exiting", async () => {
    project.write(
      "closing.config.mjs",
      memoryConfig('export const close = async () => { await new Promise((r) => setTimeout(r, 50)); process.stderr.write("closed\\n"); };\nexport { store };'),
    );
    const run = await project.run(["archive", "--older-than", "30", "--config", "closing.config.mjs"]);

    expect(run).toMatchObject({ code: 0, stderr: "closed\n" });
  });

  it("keeps --concurrency batches in flight at once and counts what they moved together", async () => {
    project.write(
      "concurrent.config.mjs",
      `${oldEventsIn(40)}
let calls = 0;
let inFlight = 0;
let most = 0;
export const store = {
  ...inner,
  async archiveBatch(before, limit, after) {
    // The first calls start together; count the overlap of those after them.
    if (++calls > 3) most = Math.max(most, inFlight + 1);
    inFlight++;
    try {
      // A batch that takes a while, as a transaction on a database does.
      await new Promise((resolve) => setTimeout(resolve, 20));
      return await inner.archiveBatch(before, limit, after);
    } finally {
      inFlight--;
    }
  },
};
export const close = async () => {
  process.stderr.write("most in flight: " + most + ", still live: " + (await inner.countLiveBefore(new Date())) + "\\n");
};
`,
    );
    const run = await project.run(["archive", "--older-than", "30", "--batch-size", "5", "--concurrency", "3", "--config", "concurrent.config.mjs"]);

    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Archived 40 event\(s\) older than 30 day\(s\) .* in 8 batch\(es\)/);
    expect(run.stderr).toContain("most in flight: 3, still live: 0\n");
  });

  it("draws a progress bar when stderr is a terminal", async () => {
    project.write("history.config.mjs", `${oldEventsIn(40)}\nexport const store = inner;\n`);
    const run = await project.runInTerminal(["archive", "--older-than", "30", "--batch-size", "10", "--config", "history.config.mjs"]);

    expect(run.code).toBe(0);
    expect(run.stdout).toContain("Archiving [");
    expect(run.stdout).toContain("100% | 40/40 events");
    expect(run.stdout).toContain("Archived 40 event(s)");
  });
});

describe("runtime failures exit with 1", () => {
  const unreachable = "postgresql://postgres@127.0.0.1:1/audit_events_unreachable";

  it("says how many events were moved before archival failed, and to run it again", async () => {
    project.write("failing.config.mjs", failingConfig('throw new Error("connection reset by peer")'));
    const run = await project.run(["archive", "--older-than", "30", "--batch-size", "10", "--config", "failing.config.mjs"]);

    expect(run.code).toBe(1);
    expect(run.stderr).toContain("error: archival failed after moving 20 event(s) to the archive.\n  connection reset by peer\n");
    expect(run.stderr).toContain("run the same command again to continue");
    expect(run.stderr).not.toMatch(STACK_LINE);
    expect(run.stdout).toBe("");
  });

  it("says the database is unreachable, without a stack trace", async () => {
    project.write("unreachable.config.ts", prismaConfig("postgresql", unreachable));
    const run = await project.run(["archive", "--older-than", "30", "--config", "unreachable.config.ts"]);

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error: prisma\(auditEvent\): could not count events/);
    expect(run.stderr).toContain("Check that the database is running and reachable");
    expect(run.stderr).not.toMatch(STACK_LINE);
    expect(run.stdout).toBe("");
  });

  it("prints the stack traces under --verbose", async () => {
    project.write("unreachable.config.ts", prismaConfig("postgresql", unreachable));
    const run = await project.run(["--verbose", "archive", "--older-than", "30", "--dry-run", "--config", "unreachable.config.ts"]);

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(STACK_LINE);
    expect(run.stderr).toContain("Caused by:");
  });
});
