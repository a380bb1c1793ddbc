import { auditEvents, AuditContext, closeAudit, configureAudit, getAuditConfig, memoryStore, type AuditStore } from "../../src";
import { KEY_A, KEY_B, checkChains } from "./chain-checker";

/** The `integrity` option: checked once, at configureAudit(), with errors that name the fix. */

afterEach(async () => {
  await closeAudit().catch(() => undefined);
  configureAudit({});
});

describe("configureAudit({ integrity })", () => {
  it("resolves the key and the defaults once", () => {
    configureAudit({ store: memoryStore(), integrity: { key: KEY_A } });
    const { integrity } = getAuditConfig();
    expect(integrity).toMatchObject({ checkpointEvery: 1000, checkpointIntervalMs: 60_000 });
    expect(integrity!.keys.signing.id).toMatch(/^sha256:[0-9a-f]{16}$/);
    configureAudit({ store: memoryStore(), integrity: { key: [{ id: "2027", secret: KEY_B }, { id: "2026", secret: KEY_A }], checkpointEvery: 10, checkpointIntervalMs: 500 } });
    expect(getAuditConfig().integrity).toMatchObject({ checkpointEvery: 10, checkpointIntervalMs: 500 });
    expect(getAuditConfig().integrity!.keys.signing.id).toBe("2027");
  });

  it.each([
    [{ key: KEY_A, checkpointEvry: 5 }, /unknown option "integrity\.checkpointEvry"\. Did you mean "checkpointEvery"\?/],
    [{ checkpointEvery: 5 }, /integrity needs a key/],
    [{ key: KEY_A, checkpointEvery: 0 }, /"integrity\.checkpointEvery" must be a positive integer, got the number 0/],
    [{ key: KEY_A, checkpointIntervalMs: "1s" }, /"integrity\.checkpointIntervalMs" must be a positive integer/],
    [{ key: "too short" }, /integrity\.key must be a string of at least 32 characters/],
    [{ key: [] }, /non-empty list of \{ id, secret \}/],
    [{ key: [{ id: "a", secret: KEY_A }, { id: "a", secret: KEY_B }] }, /two keys have the id "a"/],
    ["yes", /option "integrity" must be an object \{ key, checkpointEvery\?, checkpointIntervalMs\? \}/],
  ])("refuses %p, naming the fix", (integrity, message) => {
    configureAudit({ store: memoryStore() });
    const before = getAuditConfig();
    expect(() => configureAudit({ store: memoryStore(), integrity } as never)).toThrow(expect.objectContaining({ code: "ERR_AUDIT_CONFIG", message: expect.stringMatching(message) }));
    // A refused configuration changes nothing.
    expect(getAuditConfig()).toBe(before);
  });

  it("refuses a store that keeps no checkpoints, at configureAudit()", () => {
    const { insertCheckpoint: _insert, readCheckpoints: _read, ...withoutCheckpoints } = memoryStore();
    expect(() => configureAudit({ store: withoutCheckpoints as AuditStore, integrity: { key: KEY_A } })).toThrow(/has no insertCheckpoint/);
  });

  it("is process-wide: middleware options cannot set it", () => {
    expect(() => auditEvents({ integrity: { key: KEY_A } })).toThrow(/integrity/);
  });

  it("chains events into a memory store, and signs the head at closeAudit", async () => {
    const store = memoryStore();
    configureAudit({ store, integrity: { key: KEY_A } });
    const ctx = new AuditContext();
    const first = await ctx.createEvent({ contentType: "Order", objectId: "1" });
    const [second] = await ctx.createEvents([{ contentObject: { contentType: "Order", objectId: "2" } }]);
    expect([first.seq, second!.seq, second!.prevHash]).toEqual([1, 2, first.hash]);
    await closeAudit();
    expect(store.listCheckpoints().map((c) => c.seq)).toEqual([2]);
    expect(checkChains(store.list(), store.listCheckpoints(), KEY_A).problems).toEqual([]);
  });

  it("writes nothing and chains nothing when disabled", async () => {
    const store = memoryStore();
    configureAudit({ store, disabled: true, integrity: { key: KEY_A } });
    const record = await new AuditContext().createEvent({ contentType: "Order", objectId: "1" });
    expect(record.hash).toBeNull();
    await closeAudit();
    expect(store.list()).toEqual([]);
    expect(store.listCheckpoints()).toEqual([]);
  });
});
