import { rmSync } from "node:fs";

import fc from "fast-check";
import { v7 as uuidv7 } from "uuid";

import { AuditContext, prismaStore, type AuditEventRecord } from "../../src";
import { openDatabase, providers, type TestDatabase } from "../support/databases";
import { buildPackage, createProject, prismaConfig, type Project } from "./cli-package";

/**
 * Characters a terminal acts on or hides, written out here rather than taken from the
 * code under test: C0 and C1 controls, DEL, bidi controls, zero-width and other
 * format characters, line and paragraph separators.
 */
const HIDDEN = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb]|\udb40[\udc01-\udc7f]/;
/** Characters of the hostile strings: the hidden ones above, the backslash and escapes' look-alikes, and plain text. */
const ALPHABET = ["\x1b", "[2J", "\r", "\x07", "\b", "\u202e", "\u2066", "\u200b", "\u0085", "\x7f", "\t", "\n", "\u2028", "\ufeff", "\u{e0041}", "\\", "\\x1b", "x", "é", "😀", " "];
const hostile = fc.array(fc.constantFrom(...ALPHABET), { minLength: 1, maxLength: 12 }).map((parts) => parts.join(""));

/** Reads what the escaping wrote back: `\\`, `\xHH`, `\uHHHH` and `\u{H...}`. */
function unescape(text: string): string {
  return text.replace(/\\(\\|x([0-9a-f]{2})|u\{([0-9a-f]+)\}|u([0-9a-f]{4}))/g, (_, all: string, x?: string, braced?: string, u?: string) =>
    all === "\\" ? "\\" : String.fromCodePoint(parseInt((x ?? braced ?? u)!, 16)),
  );
}

let packageDir: string;

beforeAll(() => {
  packageDir = buildPackage();
}, 120_000);
afterAll(() => {
  if (packageDir) rmSync(packageDir, { recursive: true, force: true });
});

describe("human-readable output of the command line", () => {
  let db: TestDatabase<"sqlite">;
  let project: Project;

  beforeAll(async () => {
    db = await openDatabase("sqlite", { name: "cli_terminal" });
    project = createProject(packageDir);
    project.write("audit-events.config.ts", prismaConfig("sqlite", db.url));
  }, 60_000);
  afterAll(async () => {
    project?.remove();
    await db?.close();
  });

  it("escapes, visibly and reversibly, every control, bidi and invisible character that stored values bring into list and stats", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(hostile, hostile, hostile, hostile), { minLength: 5, maxLength: 25 }), async (values) => {
        await db.reset();
        const events: AuditEventRecord[] = values.map(([contentType, objectId, userId, action], i) => ({
          id: uuidv7({ msecs: 1_780_000_000_000 + i }),
          timestamp: new Date(1_780_000_000_000 + i),
          contentType,
          objectId,
          content: { action },
          userId,
          url: null,
          method: "GET",
          remoteAddr: null,
          queryParams: {},
          postData: {},
          headers: {},
          // Half carry the action in its own column, which list prints and stats counts.
          action: i % 2 === 0 ? action : null, outcome: "success", severity: "info", tenantId: null, requestId: null, chainId: null, seq: null, prevHash: null, hash: null,
        }));
        await prismaStore(db.prisma).insert(events, { context: new AuditContext() });
        const list = await project.run(["list", "--limit", "100", "--order", "asc"]);
        const stats = await project.run(["stats"]);
        expect({ list: list.code, stats: stats.code }).toEqual({ list: 0, stats: 0 });
        const lines = list.stdout.split("\n").slice(0, -1);
        expect(lines).toHaveLength(events.length);
        for (const [i, event] of events.entries()) {
          expect(HIDDEN.exec(lines[i]!)).toBeNull();
          expect(unescape(lines[i]!)).toBe([event.timestamp.toISOString(), `${event.contentType}:${event.objectId}`, event.userId, "GET", event.content.action, event.id].join("  "));
        }
        expect(HIDDEN.exec(stats.stdout.replaceAll("\n", ""))).toBeNull();
        // A row is "  <key, padded>  <count>"; keys may end in spaces themselves, so a key is found by what follows it.
        const rows = stats.stdout.split("\n").map(unescape);
        for (const key of events.flatMap((event) => [event.userId!, event.contentType, ...(event.action === null ? [] : [event.action])])) {
          expect({ key, found: rows.some((row) => row.startsWith(`  ${key}`) && /^ *\d+$/.test(row.slice(key.length + 2))) }).toEqual({ key, found: true });
        }
      }),
      // Each run starts the command line twice: a failure is reported as found, not shrunk.
      { numRuns: 4, endOnFailure: true },
    );
  }, 120_000);

  it("escapes what error messages echo of the command line", async () => {
    const runs = [await project.run(["list", "--bogus\x1b[2J\u202e"]), await project.run(["li\x1b]0;title\x07st"]), await project.run(["list", "--since", "2026\r\x1b[1A"])];
    for (const run of runs) {
      expect(run.code).toBe(2);
      expect(HIDDEN.exec(run.stderr.replaceAll("\n", ""))).toBeNull();
      expect(run.stderr).toMatch(/\\x1b/);
    }
  });
});

describe.each(providers)("the command line on a database without the audit tables, on %s", (provider) => {
  let db: TestDatabase;
  let project: Project;

  beforeAll(async () => {
    db = await openDatabase(provider, { name: `cli_no_table_${provider}` });
    project = createProject(packageDir);
    project.write("audit-events.config.ts", prismaConfig(provider, db.url));
    await db.prisma.$executeRawUnsafe("ALTER TABLE audit_events RENAME TO audit_events_away");
  }, 60_000);
  afterAll(async () => {
    project?.remove();
    await db?.close();
  });

  it.each([[["list"]], [["stats"]], [["export", "--format", "csv"]], [["archive", "--older-than", "0"]], [["archive", "--older-than", "0", "--dry-run"]]])(
    "%j ends with exit code 3 (a configuration problem) and names the migrations to apply",
    async (args) => {
      const run = await project.run(args);
      expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 3, stderr: expect.stringContaining(`node_modules/audit-events/prisma/${provider}/migrations`) });
      expect(run.stderr).toContain("npx prisma migrate deploy");
    },
  );
});
