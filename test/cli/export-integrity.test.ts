import { rmSync } from "node:fs";

import { parse } from "csv-parse/sync";

import { AuditContext, closeAudit, configureAudit, prismaStore, toCloudEvent, type AuditEventRecord } from "../../src";
import { EVENT_FIELDS } from "../../src/model/event-record";
import { openDatabase, providers, type TestDatabase } from "../support/databases";
import { byPosition } from "../support/read-fixtures";
import { buildPackage, createProject, prismaConfig, type Project } from "./cli-package";

const KEY = "an integrity key of 32 characters!";
const COUNT = 15;
const OUTAGE_HINT = "Check that the database is running";

let packageDir: string;

beforeAll(() => {
  packageDir = buildPackage();
}, 120_000);
afterAll(() => {
  if (packageDir) rmSync(packageDir, { recursive: true, force: true });
});

const asJson = (value: unknown) => JSON.parse(JSON.stringify(value));
const lines = (text: string) => text.trimEnd().split("\n").map((line) => JSON.parse(line));

describe.each(providers)("audit-events export and list over chained events (integrity on) on %s", (provider) => {
  let db: TestDatabase;
  let project: Project;
  /** Every event as stored, oldest first. */
  let stored: AuditEventRecord[];

  beforeAll(async () => {
    db = await openDatabase(provider, { name: `cli_integrity_${provider}` });
    project = createProject(packageDir);
    project.write("audit-events.config.ts", prismaConfig(provider, db.url));
    configureAudit({ store: prismaStore(db.prisma), integrity: { key: KEY } });
    const context = new AuditContext({ user: "user-1" });
    for (let i = 0; i < COUNT; i++) await context.createEvent({ contentType: "Order", objectId: i % 4 }, { amount: i }, { action: "order.refund" });
    await closeAudit();
    configureAudit({});
    // Read past every read path of the library: the rows as Prisma gives them, seq (a BigInt column) made the model's number.
    const rows = await (db.prisma as unknown as { auditEvent: { findMany(): Promise<Array<Record<string, unknown>>> } }).auditEvent.findMany();
    stored = rows.map((row) => Object.fromEntries(EVENT_FIELDS.map((field) => [field, field === "seq" ? Number(row.seq) : row[field]])) as unknown as AuditEventRecord).sort(byPosition);
    expect(stored.every((event) => event.chainId !== null && event.seq! >= 1 && event.hash !== null)).toBe(true);
  }, 60_000);
  afterAll(async () => {
    project?.remove();
    await db?.close();
  });

  it.each(["ndjson", "json", "csv", "cloudevents"])("exports them as %s, every event, exit code 0", async (format) => {
    const run = await project.run(["export", "--format", format, "--order", "asc"]);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: expect.stringContaining(`Exported ${COUNT} event(s) as ${format}.`) });
    if (format === "json") expect(JSON.parse(run.stdout)).toEqual(asJson(stored));
    else if (format === "ndjson") expect(lines(run.stdout)).toEqual(asJson(stored));
    else if (format === "cloudevents") expect(lines(run.stdout)).toEqual(asJson(stored.map((e) => toCloudEvent(e))));
    else {
      const [header, ...rows] = parse(run.stdout) as string[][];
      expect(rows.map((row) => [row[0], row[header!.indexOf("seq")], row[header!.indexOf("hash")]])).toEqual(stored.map((e) => [e.id, String(e.seq), e.hash]));
    }
  });

  it("lists them as NDJSON with --json, seq a number", async () => {
    const run = await project.run(["list", "--json", "--order", "asc", "--limit", "100"]);
    expect(run.code).toBe(0);
    expect(lines(run.stdout)).toEqual(asJson(stored));
  });

  if (provider === "sqlite") {
    it("reports a row it cannot read as that, not as an outage with the hint to check the database", async () => {
      // A store whose raw reads give a seq beyond 2^53: the library cannot make it the model's number.
      const config = prismaConfig(provider, db.url).replace(
        "export const store = prismaStore(prisma);",
        `const misread = new Proxy(prisma, {
  get(target, key) {
    if (key === "$queryRawUnsafe") return async (...args) => (await target.$queryRawUnsafe(...args)).map((row) => ("seq" in row ? { ...row, seq: 2n ** 60n } : row));
    const value = Reflect.get(target, key);
    return typeof value === "function" ? value.bind(target) : value;
  },
});
export const store = prismaStore(misread);`,
      );
      expect(config).toContain("misread");
      project.write("misread.config.ts", config);
      for (const args of [["export", "--format", "ndjson"], ["list", "--json"]]) {
        const run = await project.run([...args, "--config", "misread.config.ts"]);
        expect({ args, code: run.code }).toEqual({ args, code: 1 });
        expect(run.stderr).toContain("is not a whole number below 2^53");
        expect(run.stderr).not.toContain(OUTAGE_HINT);
      }
    });
  }
});
