import { AuditContext, closeAudit, configureAudit, prismaStore, verifyAuditTrail } from "../../src";
import { derivedKeyId, resolveIntegrityKeys } from "../../src/integrity/integrity-keys";
import { openDatabase, providers, type TestDatabase } from "../support/databases";

// The README's rotation, as a user runs it: a trail signed with one secret (whose checkpoints
// name the id derived from it), then the list that names the old secret "2026-01" and signs
// with a new one. Every checkpoint verifies under the list, old ones included.

const OLD = "the first secret of this application, 32+ characters";
const NEW = "the secret that replaced it in 2027, also 32+ chars";

describe.each(providers)("key rotation from a single secret on %s", (provider) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await openDatabase(provider);
  });
  afterAll(async () => {
    await closeAudit();
    configureAudit({});
    await db?.close();
  });

  it("verifies the checkpoints the single secret signed once the list names it otherwise, or leaves its id out", async () => {
    const store = prismaStore(db.prisma);
    configureAudit({ store, integrity: { key: OLD, checkpointEvery: 2 } });
    const ctx = new AuditContext();
    for (let i = 0; i < 5; i++) await ctx.createEvent({ contentType: "Order", objectId: i }, { i });
    await closeAudit();
    const rotation = [
      { id: "2027-01", secret: NEW },
      { id: "2026-01", secret: OLD },
    ];
    configureAudit({ store, integrity: { key: rotation, checkpointEvery: 2 } });
    for (let i = 0; i < 3; i++) await ctx.createEvent({ contentType: "Order", objectId: 10 + i }, { i });
    await closeAudit();

    const keyIds = new Set((await store.readCheckpoints!()).map((c) => c.keyId));
    expect(keyIds).toEqual(new Set([derivedKeyId(Buffer.from(OLD)), "2027-01"]));
    for (const key of [rotation, [{ id: "2027-01", secret: NEW }, { secret: OLD }]]) {
      await expect(verifyAuditTrail({ store, key })).resolves.toMatchObject({ ok: true, verified: 8, problems: [] });
    }
    // A list that no longer holds the old secret does not verify what it signed.
    await expect(verifyAuditTrail({ store, key: [{ id: "2027-01", secret: NEW }] })).resolves.toMatchObject({ ok: false, problems: [expect.objectContaining({ kind: "bad-checkpoint" })] });
  });
});

describe("a rotation list entry without id", () => {
  it("takes the id a single secret has, and refuses two entries that end with one id", () => {
    const ring = resolveIntegrityKeys([{ secret: NEW }, { id: "2026-01", secret: OLD }]);
    expect(ring.signing.id).toBe(resolveIntegrityKeys(NEW).signing.id);
    expect(() => resolveIntegrityKeys([{ secret: OLD }, { secret: OLD }])).toThrow(expect.objectContaining({ code: "ERR_AUDIT_CONFIG", message: expect.stringContaining("two keys have the id") }));
    expect(() => resolveIntegrityKeys([{ id: 7, secret: OLD }])).toThrow(expect.objectContaining({ message: expect.stringContaining('or left out (the id a single secret has)') }));
  });
});
