import { rmSync } from "node:fs";

import { v7 as uuidv7 } from "uuid";

import { prismaStore } from "../../src";
import { eventHash } from "../../src/integrity/canonical-event";
import type { AuditEventRecord } from "../../src/model/event-record";
import { openDatabase, type TestDatabase } from "../support/databases";
import { buildTrail, insertRaw, rawSql, writeTrail, type WrittenTrail } from "../integrity/verify-trail-writer";
import { buildPackage, createProject, prismaConfig, type Project } from "./cli-package";

const KEY_EXPORT = `
export const integrityKey = [
  { id: "2027-01", secret: "a test secret of at least thirty-two characters, new" },
  { id: "2026-01", secret: "a test secret of at least thirty-two characters, old" },
];
`;

let packageDir: string;
beforeAll(() => {
  packageDir = buildPackage();
}, 180_000);
afterAll(() => {
  if (packageDir) rmSync(packageDir, { recursive: true, force: true });
});

describe("audit-events verify and checkpoints", () => {
  let db: TestDatabase<"postgresql">;
  let project: Project;
  let trail: WrittenTrail;

  beforeAll(async () => {
    db = await openDatabase("postgresql", { name: "cli_verify" });
    project = createProject(packageDir);
    project.write("audit-events.config.ts", prismaConfig("postgresql", db.url) + KEY_EXPORT);
    trail = buildTrail([7, 5], 2);
    await writeTrail(db as unknown as TestDatabase, prismaStore(db.prisma), trail);
  }, 60_000);
  afterAll(async () => {
    project?.remove();
    await db?.close();
  });

  it("exports the checkpoints as NDJSON, verifies an intact trail with exit 0, and names a tampered event with exit 4", async () => {
    const exported = await project.run(["checkpoints", "--since", "2020-01-01"]);
    expect(exported.code).toBe(0);
    const lines = exported.stdout.trim().split("\n").map((line) => JSON.parse(line));
    expect(lines).toHaveLength(trail.checkpoints.length);
    expect(lines).toEqual(expect.arrayContaining(trail.checkpoints.map((c) => ({ ...c, createdAt: c.createdAt.toISOString() }))));
    project.write("copies.ndjson", exported.stdout);

    const intact = await project.run(["verify", "--checkpoints", "copies.ndjson"]);
    expect(intact).toMatchObject({ code: 0, stdout: "Verified 12 event(s) in 2 chain(s): intact. 0 event(s) without chain fields.\n" });
    // Not a terminal: no progress display, the report alone.
    expect(intact.stderr).not.toContain("Verifying");

    const deleted = trail.checkpoints.find((c) => c.chainId === trail.chains[1])!;
    await rawSql(db as unknown as TestDatabase)(`DELETE FROM "audit_checkpoints" WHERE "chainId" = ? AND "seq" = ?`, deleted.chainId, deleted.seq);
    const target = trail.events.find((e) => e.chainId === trail.chains[0] && e.seq === 3)!;
    await rawSql(db as unknown as TestDatabase)(`UPDATE "audit_events" SET "content" = ?::jsonb WHERE "id" = ?`, '{"order":"\\u001b[2Jforged"}', target.id);

    const withoutCopies = await project.run(["verify"]);
    expect(withoutCopies.code).toBe(4);
    expect(withoutCopies.stdout.split("\n")[0]).toBe(`altered: chain ${trail.chains[0]} seq 3 event ${target.id}: its stored content no longer gives its stored hash: a field was changed after it was written`);
    expect(withoutCopies.stdout).not.toContain(trail.chains[1]!);
    expect(withoutCopies.stderr).toContain("tampered with");

    const withCopies = await project.run(["verify", "--checkpoints", "copies.ndjson"]);
    expect(withCopies.code).toBe(4);
    expect(withCopies.stdout).toContain(`bad-checkpoint: chain ${trail.chains[1]} seq ${deleted.seq}: the checkpoint at seq ${deleted.seq} exported on`);
  });

  it("explains verify and checkpoints with --help, exit code 4 among the codes", async () => {
    const verify = await project.run(["verify", "--help"]);
    for (const text of ["Usage: audit-events verify", "--since <when>", "--source <source>", "--checkpoints <file>", "--expect-unsigned <n>", "AUDIT_INTEGRITY_KEY", "4  verify found a problem"]) expect(verify.stdout).toContain(text);
    const checkpoints = await project.run(["checkpoints", "--help"]);
    for (const text of ["Usage: audit-events checkpoints", "--since <when>", "WORM", "verify --checkpoints <file>"]) expect(checkpoints.stdout).toContain(text);
    expect((await project.run(["checkpoints"])).code).toBe(2);
  });

  it("reports a chain no signed checkpoint covers, past --grace, at its chain and first seq; refuses a bad --grace with exit 2", async () => {
    const forged: AuditEventRecord = { ...trail.events[0]!, id: uuidv7(), chainId: uuidv7(), seq: 1, prevHash: null, hash: null, timestamp: new Date(Date.now() - 20 * 60_000) };
    forged.hash = eventHash(forged);
    await insertRaw(db as unknown as TestDatabase, forged);
    const late = await project.run(["verify", "--grace", "10m"]);
    expect(late.code).toBe(4);
    expect(late.stdout).toContain(`unsigned: chain ${forged.chainId} seq 1 event ${forged.id}: seq 1 (1 event), the newest dated ${forged.timestamp.toISOString()}, more than 600000 ms ago, not covered by any signed checkpoint`);
    const within = await project.run(["verify", "--grace", "1h"]);
    expect(within.stdout).not.toContain(forged.chainId);
    expect(within.stdout).toContain("1 recent event(s) are not yet covered by a signed checkpoint (within the grace period).");
    const bad = await project.run(["verify", "--grace", "10 minutes"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--grace must be a duration such as 90s, 10m, 2h or 1d (a number and one of ms, s, m, h, d), not "10 minutes"');
  });

  it("leaves out with --after what an earlier export holds, and verify takes a copy given twice once", async () => {
    const all = await project.run(["checkpoints", "--since", "2020-01-01"]);
    const lines = all.stdout.trim().split("\n");
    expect(lines.length).toBeGreaterThan(3);
    project.write("earlier.ndjson", `${lines.slice(0, 2).join("\n")}\n`);
    const next = await project.run(["checkpoints", "--since", "2020-01-01", "--after", "earlier.ndjson"]);
    expect(next.code).toBe(0);
    expect(next.stdout.trim().split("\n")).toEqual(lines.slice(2));
    expect(next.stderr).toContain(`Wrote ${lines.length - 2} checkpoint(s) created since 2020-01-01T00:00:00.000Z (2 already in`);

    project.write("overlapping.ndjson", `${all.stdout}${all.stdout}`);
    const once = await project.run(["verify", "--checkpoints", "overlapping.ndjson"]);
    const single = await project.run(["verify", "--checkpoints", "earlier.ndjson"]);
    project.write("single.ndjson", all.stdout);
    expect(once.stdout).toBe((await project.run(["verify", "--checkpoints", "single.ndjson"])).stdout);
    expect(single.code).not.toBe(2);
    const changed = JSON.stringify({ ...JSON.parse(lines[0]!), createdAt: "2020-01-01T00:00:00.000Z" });
    project.write("conflicting.ndjson", `${all.stdout}${changed}\n`);
    const refused = await project.run(["verify", "--checkpoints", "conflicting.ndjson"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("is given twice, differently");
  });

  it("refuses a malformed checkpoints file with exit 2, naming the line", async () => {
    project.write("bad.ndjson", '{"chainId":"x","seq":1}\n');
    const run = await project.run(["verify", "--checkpoints", "bad.ndjson"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("bad.ndjson, line 1: hash must be 64 lower-case hex digits");
  });
});

describe("audit-events verify and events without chain fields", () => {
  let db: TestDatabase<"postgresql">;
  let project: Project;
  let trail: WrittenTrail;

  beforeAll(async () => {
    db = await openDatabase("postgresql", { name: "cli_verify_unsigned" });
    project = createProject(packageDir);
    project.write("audit-events.config.ts", prismaConfig("postgresql", db.url) + KEY_EXPORT);
    trail = buildTrail([3], 2, 2);
    await writeTrail(db as unknown as TestDatabase, prismaStore(db.prisma), trail);
  }, 60_000);
  afterAll(async () => {
    project?.remove();
    await db?.close();
  });

  it("states the count to pin, fails with --expect-unsigned for a back-dated event inserted without a chain, and counts problems by kind", async () => {
    const before = await project.run(["verify"]);
    expect(before.code).toBe(0);
    expect(before.stdout.split("\n").at(-2)).toBe("Verified 3 event(s) in 1 chain(s): intact. 2 event(s) without chain fields (written before integrity was switched on: pin the count with --expect-unsigned).");
    expect((await project.run(["verify", "--expect-unsigned", "2"])).code).toBe(0);

    const forged: AuditEventRecord = { ...trail.events.at(-1)!, id: uuidv7(), timestamp: new Date(trail.events[0]!.timestamp.getTime() - 86_400_000), chainId: null, seq: null, prevHash: null, hash: null };
    await insertRaw(db as unknown as TestDatabase, forged);
    expect((await project.run(["verify"])).code).toBe(0);
    const pinned = await project.run(["verify", "--expect-unsigned", "2"]);
    expect(pinned.code).toBe(4);
    expect(pinned.stdout).toContain(`unsigned: event ${forged.id}: 3 event(s) carry no hash chain, 2 expected (expectedUnsigned)`);
    expect(pinned.stdout).toContain("Verified 3 event(s) in 1 chain(s): 1 problem (1 unsigned). 3 event(s) without chain fields.");
    expect(pinned.stderr).toContain("tampered with");

    // The only problem: an event without a chain newer than the signed ones.
    await rawSql(db as unknown as TestDatabase)(`UPDATE "audit_events" SET "timestamp" = ?::timestamptz WHERE "id" = ?`, new Date(trail.events.at(-1)!.timestamp.getTime() + 60_000).toISOString(), forged.id);
    const newer = await project.run(["verify"]);
    expect(newer.code).toBe(4);
    expect(newer.stdout.split("\n").at(-2)).toBe("Verified 3 event(s) in 1 chain(s): 2 problems (2 unsigned). 3 event(s) without chain fields.");

    for (const bad of ["-1", "1.5", "two"]) {
      const refused = await project.run(["verify", "--expect-unsigned", bad]);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain("--expect-unsigned must be a whole number from 0");
    }
  });
});
