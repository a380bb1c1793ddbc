import { readFileSync, rmSync } from "node:fs";
import path from "node:path";

import { parse } from "csv-parse/sync";

import { prismaStore, summarizeEvents, type AuditEventRecord } from "../../src";
import { openDatabase, providers, type TestDatabase } from "../support/databases";
import { byPosition, insertAll, manyEvents } from "../support/read-fixtures";
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
