import { readFileSync, rmSync } from "node:fs";
import path from "node:path";

import { parse } from "csv-parse/sync";

import { prismaStore, summarizeEvents, type AuditEventRecord } from "../../src";
import { openDatabase, providers, type TestDatabase } from "../support/databases";
import { byPosition, insertAll, manyEvents } from "../support/read-fixtures";
import { archiveOlder, TENANT_ARCHIVE_BEFORE, tenantEvents } from "../support/tenant-fixtures";
import { buildPackage, createProject, prismaConfig, type Project } from "./cli-package";

const COUNT = 1200;

let packageDir: string;

beforeAll(() => {
  packageDir = buildPackage();
}, 120_000);
afterAll(() => {
  if (packageDir) rmSync(packageDir, { recursive: true, force: true });
});

const ids = (events: AuditEventRecord[]) => events.map((e) => e.id);

describe.each(providers)("audit-events list, export and stats on %s", (provider) => {
  let db: TestDatabase;
  let project: Project;
  let events: AuditEventRecord[];

  beforeAll(async () => {
    db = await openDatabase(provider, { name: `cli_read_${provider}` });
    project = createProject(packageDir);
    project.write("audit-events.config.ts", prismaConfig(provider, db.url));
    events = manyEvents(COUNT, 23);
    await insertAll(prismaStore(db.prisma), events);
  }, 60_000);
  afterAll(async () => {
    project?.remove();
    await db?.close();
  });

  const newestFirst = () => [...events].sort(byPosition).reverse();
  const idsIn = (stdout: string) => stdout.trim().split("\n").map((line) => line.split("  ").at(-1));

  it("lists the newest 20 events, one a line, and the cursor of the next page, which reads on", async () => {
    const first = await project.run(["list"]);
    expect(first.code).toBe(0);
    expect(idsIn(first.stdout)).toEqual(ids(newestFirst().slice(0, 20)));
    const top = newestFirst()[0]!;
    expect(first.stdout.split("\n")[0]).toBe(
      [top.timestamp.toISOString(), `${top.contentType}:${top.objectId}`, top.userId ?? "-", top.method ?? "-", top.content.action, top.id].join("  "),
    );
    const cursor = /--cursor (\S+)/.exec(first.stderr)?.[1];
    expect(cursor).toBeDefined();
    const second = await project.run(["list", "--cursor", cursor!]);
    expect(idsIn(second.stdout)).toEqual(ids(newestFirst().slice(20, 40)));
  });

  it("lists by filters, oldest first, as NDJSON", async () => {
    const run = await project.run(["list", "--content-type", "Order", "--content", "action=refund", "--content", "vip=false", "--order", "asc", "--limit", "1000", "--json"]);
    expect(run.code).toBe(0);
    const expected = [...events].filter((e) => e.contentType === "Order" && e.content.action === "refund" && e.content.vip === false).sort(byPosition);
    expect(run.stdout.trim().split("\n").map((line) => JSON.parse(line))).toEqual(JSON.parse(JSON.stringify(expected)));
  });

  it("exports a time window as CSV to a file, with a progress line and the count", async () => {
    const since = "2026-05-20";
    const until = "2026-05-27T12:00:00Z";
    const run = await project.run(["export", "--format", "csv", "--since", since, "--until", until, "--order", "asc", "--out", "window.csv"]);
    const expected = events.filter((e) => e.timestamp >= new Date(since) && e.timestamp < new Date(until)).sort(byPosition);
    expect(expected.length).toBeGreaterThan(100);
    const file = path.join(project.dir, "window.csv");
    expect(run).toMatchObject({ code: 0, stdout: `Exported ${expected.length} event(s) as csv to ${file}.\n` });
    expect(run.stderr.trim().split("\n").at(-1)).toBe(`exported ${expected.length} of ${expected.length} (100%)`);
    const rows = parse(readFileSync(file, "utf8")) as string[][];
    expect(rows[0]![0]).toBe("id");
    expect(rows.slice(1).map((row) => row[0])).toEqual(ids(expected));
  });

  it("exports NDJSON to stdout and says how many on stderr", async () => {
    const run = await project.run(["export", "--format", "ndjson", "--user", "user-4"]);
    const expected = newestFirst().filter((e) => e.userId === "user-4");
    expect(run.code).toBe(0);
    expect(run.stdout.trim().split("\n").map((line) => JSON.parse(line).id)).toEqual(ids(expected));
    expect(run.stderr).toContain(`Exported ${expected.length} event(s) as ndjson.`);
  });

  it("prints the counts of stats, as text and as JSON", async () => {
    const summary = await summarizeEvents({ store: prismaStore(db.prisma), method: "POST" });
    const json = await project.run(["stats", "--method", "POST", "--json"]);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({ ...summary });
    const text = await project.run(["stats", "--method", "POST"]);
    expect(text.stdout).toContain(`Total: ${summary.total} event(s)`);
    expect(text.stdout).toMatch(new RegExp(`By content type:\\n(.*\\n)*  Invoice\\s+${summary.byContentType.Invoice}\\n`));
  });

  it("refuses bad input with exit code 2 and the reason", async () => {
    const cases: Array<[string[], RegExp]> = [
      [["list", "--since", "yesterday"], /--since must be an ISO 8601 date/],
      [["list", "--cursor", "garbage"], /cursor is not valid/],
      [["list", "--limit", "0"], /Give a whole number from 1 to 1000/],
      [["list", "--content", "novalue"], /Give a top-level content key and a value/],
      [["list", "--user", "a\u0001b"], /control character/],
      [["export", "--since", "2026-01-01"], /required option '--format <format>' not specified/],
      [["export", "--format", "xml"], /Allowed choices are ndjson, csv, json/],
      [["stats", "--source", "elsewhere"], /Allowed choices are live, archive, all/],
    ];
    for (const [args, reason] of cases) {
      const run = await project.run(args);
      expect({ args, code: run.code, stderr: run.stderr }).toEqual({ args, code: 2, stderr: expect.stringMatching(reason) });
    }
  });

  if (provider === "sqlite") {
    it("draws a progress bar when stderr is a terminal", async () => {
      const run = await project.runInTerminal(["export", "--format", "ndjson", "--out", "all.ndjson"]);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain("Exporting [");
      expect(run.stdout).toContain(`100% | ${COUNT}/${COUNT} events`);
      expect(readFileSync(path.join(project.dir, "all.ndjson"), "utf8").trim().split("\n")).toHaveLength(COUNT);
    });

    it("ends with exit code 3 when the config's store cannot read", async () => {
      project.write(
        "archive-only.config.mjs",
        `import { memoryStore } from "audit-events";
const inner = memoryStore();
export const store = { name: "archive-only", insert: inner.insert, getEvent: inner.getEvent, getArchivedEvent: inner.getArchivedEvent, archiveBatch: inner.archiveBatch, countLiveBefore: inner.countLiveBefore };
`,
      );
      for (const command of ["list", "stats"]) {
        const run = await project.run([command, "--config", "archive-only.config.mjs"]);
        expect(run).toMatchObject({ code: 3, stderr: expect.stringContaining("the store in the config file cannot read events: The store archive-only cannot read events") });
      }
    });

    it("explains each command and its exit codes with --help", async () => {
      const expectations: Record<string, string[]> = {
        list: ["Usage: audit-events list", "--content-type <type>", "--content <key=value>", "--order <order>", "(default: 20)", "--cursor <cursor>", "--json", "Examples:", "Exit codes:"],
        export: ["Usage: audit-events export", "--format <format>", "--since <when>", "--until <when>", "--out <file>", "Examples:", "Exit codes:"],
        stats: ["Usage: audit-events stats", "--search <text>", "--source <source>", "--json", "Examples:", "Exit codes:"],
      };
      for (const [command, texts] of Object.entries(expectations)) {
        const run = await project.run([command, "--help"]);
        expect(run.code).toBe(0);
        for (const text of texts) expect({ command, has: run.stdout.includes(text) ? text : run.stdout }).toEqual({ command, has: text });
      }
      const top = await project.run(["--help"]);
      for (const command of ["archive", "list", "export", "stats"]) expect(top.stdout).toContain(command);
    });
  }
});

describe("audit-events --tenant and the event model's options on postgresql", () => {
  let db: TestDatabase<"postgresql">;
  let project: Project;
  const events = tenantEvents(240);
  const ofA = events.filter((e) => e.tenantId === "A");
  const idsOf = (list: AuditEventRecord[]) => list.map((e) => e.id).sort();

  beforeAll(async () => {
    db = await openDatabase("postgresql", { name: "cli_tenant" });
    project = createProject(packageDir);
    project.write("audit-events.config.ts", prismaConfig("postgresql", db.url));
    const store = prismaStore(db.prisma);
    await insertAll(store, events);
    expect(await archiveOlder(store)).toBeGreaterThan(0);
  }, 60_000);
  afterAll(async () => {
    project?.remove();
    await db?.close();
  });

  it("lists, pages, exports in every format and counts tenant A's events only, from every source", async () => {
    for (const source of ["live", "archive", "all"]) {
      const expected = ofA.filter((e) => source === "all" || (source === "archive") === e.timestamp < TENANT_ARCHIVE_BEFORE);
      const list = await project.run(["list", "--tenant", "A", "--source", source, "--limit", "1000", "--json"]);
      expect(list.code).toBe(0);
      const listed = list.stdout.trim().split("\n").filter(Boolean).map((line) => JSON.parse(line) as AuditEventRecord);
      expect(listed.map((e) => e.id).sort()).toEqual(idsOf(expected));
      for (const format of ["ndjson", "json", "csv"]) {
        const run = await project.run(["export", "--tenant", "A", "--source", source, "--format", format]);
        expect(run.code).toBe(0);
        const exported =
          format === "csv"
            ? (parse(run.stdout) as string[][]).slice(1).map((row) => row[0])
            : format === "json"
              ? (JSON.parse(run.stdout) as AuditEventRecord[]).map((e) => e.id)
              : run.stdout.trim().split("\n").filter(Boolean).map((line) => (JSON.parse(line) as AuditEventRecord).id);
        expect({ format, source, ids: [...exported].sort() }).toEqual({ format, source, ids: idsOf(expected) });
      }
      const stats = await project.run(["stats", "--tenant", "A", "--source", source, "--json"]);
      expect(JSON.parse(stats.stdout).total).toBe(expected.length);
    }
  }, 120_000);

  it("filters by --action, --outcome, --severity and --request-id within the tenant, and pages on for it alone", async () => {
    const args = ["--tenant", "A", "--source", "all", "--action", "user.login", "--outcome", "failure", "--request-id", "req-4"];
    const expected = ofA.filter((e) => e.action === "user.login" && e.outcome === "failure" && e.requestId === "req-4");
    expect(expected.length).toBeGreaterThan(0);
    const run = await project.run(["list", ...args, "--json", "--limit", "1000"]);
    expect(run.stdout.trim().split("\n").map((line) => (JSON.parse(line) as AuditEventRecord).id).sort()).toEqual(idsOf(expected));
    const severity = await project.run(["stats", "--tenant", "A", "--source", "all", "--severity", "warning", "--json"]);
    expect(JSON.parse(severity.stdout)).toMatchObject({ total: ofA.filter((e) => e.severity === "warning").length, bySeverity: { warning: ofA.filter((e) => e.severity === "warning").length } });
    const first = await project.run(["list", "--tenant", "B", "--limit", "2"]);
    const cursor = /--cursor (\S+)/.exec(first.stderr)![1]!;
    const replayed = await project.run(["list", "--tenant", "A", "--limit", "2", "--cursor", cursor]);
    expect(replayed).toMatchObject({ code: 2, stderr: expect.stringContaining("cursor is not valid") });
    const text = await project.run(["stats", "--tenant", "A", "--source", "all"]);
    expect(text.stdout).toMatch(/By action:\n(.*\n)*By outcome:\n(.*\n)*By severity:\n/);
  });

  it("refuses a bad --tenant, --outcome or --severity with exit code 2 and the reason", async () => {
    const cases: Array<[string[], RegExp]> = [
      [["list", "--tenant", ""], /tenantId must not be empty/],
      [["list", "--tenant", "a\u0001b"], /control character/],
      [["list", "--tenant", "A "], /ends with a space/],
      [["list", "--tenant", "T".repeat(192)], /longer than 191 characters/],
      [["list", "--tenant", "A", "--tenant", "B"], /--tenant was given twice/],
      [["export", "--format", "csv", "--action", "a", "--action", "b"], /--action was given twice/],
      [["stats", "--outcome", "ok"], /Allowed choices are success, failure, denied/],
      [["export", "--format", "csv", "--severity", "WARNING"], /Allowed choices are debug, info, warning, error, critical/],
    ];
    for (const [args, reason] of cases) {
      const run = await project.run(args);
      expect({ args, code: run.code, stderr: run.stderr }).toEqual({ args, code: 2, stderr: expect.stringMatching(reason) });
    }
  });
});
