import { rmSync } from "node:fs";

import { v7 as uuidv7 } from "uuid";

import { AuditContext, prismaStore, type AuditEventRecord } from "../../src";
import { openDatabase, providers, type TestDatabase } from "../support/databases";
import { buildPackage, createProject, prismaConfig, type Project } from "./cli-package";

const DAY_MS = 86_400_000;
const DAYS = 60;
const PER_DAY = 2;

/** Two events a day over the last 60 days, each an hour into its day, ids in time order. */
function history(now: number): AuditEventRecord[] {
  return Array.from({ length: DAYS * PER_DAY }, (_, i) => {
    const daysAgo = Math.floor(i / PER_DAY);
    const timestamp = new Date(now - daysAgo * DAY_MS - 3_600_000 - (i % PER_DAY) * 60_000);
    return {
      id: uuidv7({ msecs: timestamp.getTime() }),
      timestamp,
      contentType: "Order",
      objectId: String(i),
      content: { action: "update", daysAgo },
      userId: "user-1",
      url: null,
      method: null,
      remoteAddr: null,
      queryParams: {},
      postData: {},
      headers: {},
      action: null, outcome: "success", severity: "info", tenantId: null, requestId: null, chainId: null, seq: null, prevHash: null, hash: null,
    };
  });
}

let packageDir: string;

beforeAll(() => {
  packageDir = buildPackage();
}, 120_000);
afterAll(() => {
  if (packageDir) rmSync(packageDir, { recursive: true, force: true });
});

describe.each(providers)("audit-events archive on %s", (provider) => {
  let db: TestDatabase;
  let project: Project;
  let events: AuditEventRecord[];

  beforeAll(async () => {
    db = await openDatabase(provider, { name: `cli_archive_${provider}` });
    project = createProject(packageDir);
    project.write("audit-events.config.ts", prismaConfig(provider, db.url));
  });
  afterAll(async () => {
    project?.remove();
    await db?.close();
  });
  beforeEach(async () => {
    await db.reset();
    events = history(Date.now());
    await prismaStore(db.prisma).insert(events, { context: new AuditContext() });
  });

  const olderThan30Days = () => events.filter((event) => (event.content as { daysAgo: number }).daysAgo >= 30).map((event) => event.id).sort();
  const archivedIds = async () => (await db.prisma.archivedAuditEvent.findMany({ select: { id: true } })).map((row) => row.id).sort();

  it("moves exactly the events older than the given days and prints how many", async () => {
    const run = await project.run(["archive", "--older-than", "30"]);

    expect(run).toMatchObject({ code: 0, stdout: expect.stringMatching(/^Archived 60 event\(s\) older than 30 day\(s\)/) });
    expect(await archivedIds()).toEqual(olderThan30Days());
    expect(await db.prisma.auditEvent.count()).toBe(60);
    expect(await db.prisma.auditEvent.count({ where: { timestamp: { lt: new Date(Date.now() - 30 * DAY_MS) } } })).toBe(0);
  });

  it("moves --batch-size events per transaction and writes a progress line per batch when not on a terminal", async () => {
    const run = await project.run(["archive", "--older-than", "30", "--batch-size", "25"]);

    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Archived 60 event\(s\) .* in 3 batch\(es\)/);
    expect(run.stderr.trim().split("\n")).toEqual([
      expect.stringMatching(/^archived 25 of 60 \(41%\), last batch 25 in \d+ ms$/),
      expect.stringMatching(/^archived 50 of 60 \(83%\), last batch 25 in \d+ ms$/),
      expect.stringMatching(/^archived 60 of 60 \(100%\), last batch 10 in \d+ ms$/),
    ]);
    expect(await archivedIds()).toEqual(olderThan30Days());
  });

  it("moves nothing with --dry-run and prints how many it would move", async () => {
    const run = await project.run(["archive", "--older-than", "30", "--dry-run"]);

    expect(run).toMatchObject({ code: 0, stderr: "" });
    expect(run.stdout).toMatch(/^Dry run: would archive 60 event\(s\) older than 30 day\(s\) \(before .+\)\. Nothing was moved\.$/m);
    expect(await db.prisma.auditEvent.count()).toBe(DAYS * PER_DAY);
    expect(await db.prisma.archivedAuditEvent.count()).toBe(0);
  });

  it("finds nothing left to move when run a second time", async () => {
    expect((await project.run(["archive", "--older-than", "30"])).code).toBe(0);
    const again = await project.run(["archive", "--older-than", "30"]);

    expect(again).toMatchObject({ code: 0, stdout: expect.stringMatching(/^Archived 0 event\(s\)/) });
    expect(await archivedIds()).toEqual(olderThan30Days());
  });
});
