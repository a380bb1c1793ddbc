import { execFile } from "node:child_process";
import { readFileSync, rmSync, symlinkSync } from "node:fs";
import path from "node:path";
import { promisify } from "node:util";

import { v7 as uuidv7 } from "uuid";

import { AuditContext, prismaStore, type AuditEventRecord } from "../../src";
import { openDatabase, type TestDatabase } from "../support/databases";
import { buildPackage, createProject, type Project } from "./cli-package";

const ROOT = path.resolve(__dirname, "..", "..");
const DAY_MS = 86_400_000;

/** README blocks that are files of the user's project: their first line is `// <path>`. */
function readmeProjectFiles(): Map<string, string> {
  const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
  const files = new Map<string, string>();
  for (const [, text] of readme.matchAll(/```\w*\n(\/\/ [\w./-]+\n[\s\S]*?)```/g)) {
    files.set(/^\/\/ (\S+)/.exec(text!)![1]!, text!);
  }
  return files;
}

/** What the schema block's last comment asks the user to do: append the reference models. */
function withReferenceModels(schema: string): string {
  const reference = readFileSync(path.join(ROOT, "prisma", "postgresql", "schema.prisma"), "utf8");
  return `${schema}\n${reference.slice(reference.indexOf("model AuditEvent "))}`;
}

function event(daysAgo: number, objectId: string): AuditEventRecord {
  const timestamp = new Date(Date.now() - daysAgo * DAY_MS);
  return {
    id: uuidv7({ msecs: timestamp.getTime() }),
    timestamp,
    contentType: "Order",
    objectId,
    content: { action: "update" },
    userId: "u1",
    url: null,
    method: null,
    remoteAddr: null,
    queryParams: {},
    postData: {},
    headers: {},
    action: null, outcome: "success", severity: "info", tenantId: null, requestId: null, chainId: null, seq: null, prevHash: null, hash: null,
  };
}

let packageDir: string;
let project: Project;
let db: TestDatabase<"postgresql">;
const events = [event(40, "old"), event(1, "recent")];

beforeAll(async () => {
  packageDir = buildPackage();
  project = createProject(packageDir);
  symlinkSync(path.join(ROOT, "node_modules", "prisma"), path.join(project.dir, "node_modules", "prisma"), "dir");
  project.write("package.json", JSON.stringify({ name: "shop", private: true }));
  db = await openDatabase("postgresql", { name: "cli_readme_setup" });
  await prismaStore(db.prisma).insert(events, { context: new AuditContext() });
  process.env.DATABASE_URL = db.url;

  for (const [name, text] of readmeProjectFiles()) project.write(name, name.endsWith(".prisma") ? withReferenceModels(text) : text);
  // `npx prisma generate`, offline: generation never runs the schema engine it would download.
  await promisify(execFile)(process.execPath, [path.join(project.dir, "node_modules", "prisma", "build", "index.js"), "generate"], {
    cwd: project.dir,
    env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: "/bin/true", PRISMA_HIDE_UPDATE_MESSAGE: "1" },
  });
}, 120_000);
afterAll(async () => {
  delete process.env.DATABASE_URL;
  project?.remove();
  if (packageDir) rmSync(packageDir, { recursive: true, force: true });
  await db?.close();
});

describe("the README's Prisma 7 set-up, followed in a new project", () => {
  it("holds the files of a project: schema, Prisma config, client and CLI config", () => {
    expect([...readmeProjectFiles().keys()]).toEqual(["prisma/schema.prisma", "prisma.config.ts", "src/db.ts", "audit-events.config.ts"]);
  });

  it("runs the command line on the generated client through the README's audit-events.config.ts", async () => {
    const list = await project.run(["list", "--order", "asc", "--json"]);
    expect(list.stderr).toBe("");
    expect(list).toMatchObject({ code: 0 });
    expect(list.stdout.trim().split("\n").map((line) => JSON.parse(line).objectId)).toEqual(["old", "recent"]);

    const archive = await project.run(["archive", "--older-than", "30"]);
    expect(archive).toMatchObject({ code: 0, stdout: expect.stringMatching(/^Archived 1 event\(s\)/) });
    expect((await db.prisma.archivedAuditEvent.findMany()).map((row) => row.objectId)).toEqual(["old"]);
  }, 120_000);

  it("says to name the config .ts when a .mjs config imports the generated TypeScript client", async () => {
    project.write("plain.config.mjs", 'import { prismaStore } from "audit-events";\nimport { prisma } from "./src/db.js";\nexport const store = prismaStore(prisma);\n');
    project.write("direct.config.mjs", 'import { PrismaClient } from "./generated/prisma/client.ts";\nexport const store = PrismaClient;\n');

    const hint = "A .mjs config cannot import TypeScript, such as the client Prisma 7 generates: name it audit-events.config.ts";
    const plain = await project.run(["list", "--config", "plain.config.mjs"]);
    expect(plain.code).toBe(3);
    expect(plain.stderr).toContain(hint);

    // Node 22.18+ and 24 strip types from a .ts file imported by name, so there the import
    // works and the config fails for what it exports (the client, not a store); Node 20 cannot.
    const direct = await project.run(["list", "--config", "direct.config.mjs"]);
    expect(direct.code).toBe(3);
    const nodeStripsTypes = Boolean((process.features as { typescript?: unknown }).typescript);
    expect(direct.stderr).toContain(nodeStripsTypes ? "is not an audit store" : hint);
  }, 60_000);
});
