import fc from "fast-check";

import {
  AuditContext,
  AuditError,
  configureAudit,
  currentAuditContext,
  memoryStore,
  restoreAuditContext,
  runWithAuditContext,
  serializeAuditContext,
  type MemoryStore,
} from "../../src";
import { userIdOf } from "../../src/request-data";

const ORDER = { contentType: "Order", objectId: "1" };

let store: MemoryStore;

beforeEach(() => {
  store = memoryStore();
  configureAudit({ store });
});
afterEach(() => configureAudit({}));

/** Ids as applications have them: strings, integers, bigints. */
const anyId = fc.oneof(fc.string({ minLength: 1 }).filter((s) => !/[\u0000-\u001f\u007f\ud800-\udfff]/.test(s)), fc.integer(), fc.bigInt());
/** A value that names nobody: objects without a scalar id or sub, and the scalars that are no id. */
const noUser = fc.oneof(
  fc.dictionary(fc.string().filter((k) => k !== "id" && k !== "sub"), fc.jsonValue()),
  fc.record({ id: fc.oneof(fc.object(), fc.constant(null), fc.constant("")) }),
  fc.constant(""),
  fc.constant(Number.NaN),
  fc.constant(Number.POSITIVE_INFINITY),
  fc.constant(true),
);

describe("userIdOf", () => {
  it("reads an id itself, a user's id, else its sub", () => {
    fc.assert(
      fc.property(anyId, anyId, (id, sub) => {
        const text = String(id);
        expect(userIdOf(id)).toBe(text);
        expect(userIdOf({ id, sub, name: "Ada" })).toBe(text);
        expect(userIdOf({ sub: id, iat: 1 })).toBe(text);
        expect(userIdOf({ id: null, sub: id })).toBe(text);
      }),
    );
  });
});

describe("ctx.setUser", () => {
  it("gives later events of a job's context its user, over the one it was made with", async () => {
    const job = new AuditContext({ user: "system" });
    await job.createEvent(ORDER, { step: "before" });
    job.setUser({ id: 42, role: "admin" });
    await job.createEvent(ORDER, { step: "after" });
    await runWithAuditContext(job, () => currentAuditContext().createEvent(ORDER, { step: "current" }));

    expect(store.list().map((e) => [e.content.step, e.userId])).toEqual([
      ["before", "system"],
      ["after", "42"],
      ["current", "42"],
    ]);
  });

  it("survives serializeAuditContext and restoreAuditContext", async () => {
    const request = new AuditContext({ user: "anonymous", url: "https://shop.example/signup" });
    request.setUser({ sub: "auth0|new" });

    const worker = restoreAuditContext(JSON.parse(JSON.stringify(serializeAuditContext(request))));
    await worker.createEvent(ORDER);

    expect(store.list()[0]).toMatchObject({ userId: "auth0|new", url: "https://shop.example/signup" });
  });

  it("takes null for no user, even when the context was made with one", async () => {
    const ctx = new AuditContext({ user: "u1" });
    ctx.setUser(null);
    await ctx.createEvent(ORDER);

    expect(store.list()[0]!.userId).toBeNull();
  });

  it("refuses, with ERR_AUDIT_USER, a value that names no user, and keeps the user it had", async () => {
    await fc.assert(
      fc.asyncProperty(noUser, async (user) => {
        const ctx = new AuditContext({ user: "kept" });
        expect(() => ctx.setUser(user)).toThrow(expect.objectContaining({ code: "ERR_AUDIT_USER" }));
        expect((await ctx.createEvent(ORDER)).userId).toBe("kept");
      }),
      { numRuns: 50 },
    );
  });
});

describe("the user option of an event", () => {
  it("overrides setUser() for that event only, in createEvent, createFieldsEvent and drafts", async () => {
    const ctx = new AuditContext();
    ctx.setUser("set");
    const draft = ctx.newEvent(ORDER);

    await ctx.createEvent(ORDER, { step: "event" }, { user: { id: 5n } });
    await ctx.createFieldsEvent({ ...ORDER, status: "paid" }, ["status"], { step: "fields" }, { user: "fields-user" });
    draft.content.step = "draft";
    await draft.save({ user: null });
    await ctx.createEvent(ORDER, { step: "plain" });

    expect(store.list().map((e) => [e.content.step, e.userId])).toEqual([
      ["event", "5"],
      ["fields", "fields-user"],
      ["draft", null],
      ["plain", "set"],
    ]);
  });

  it("refuses a value that names no user before anything is written", async () => {
    await fc.assert(
      fc.asyncProperty(noUser, async (user) => {
        const error = await new AuditContext().createEvent(ORDER, {}, { user }).catch((e: unknown) => e);
        expect(error).toBeInstanceOf(AuditError);
        expect((error as AuditError).code).toBe("ERR_AUDIT_USER");
        expect((error as AuditError).message).toContain("an object with an id or sub");
      }),
      { numRuns: 50 },
    );
    expect(store.list()).toEqual([]);
  });
});

describe("new AuditContext({ user })", () => {
  it("accepts a JWT's claims by their sub", async () => {
    await new AuditContext({ user: { sub: "auth0|1" } }).createEvent(ORDER);
    expect(store.list()[0]!.userId).toBe("auth0|1");
  });

  it("refuses a user object without id or sub instead of storing no user", () => {
    expect(() => new AuditContext({ user: { email: "a@b.c" } as never })).toThrow(expect.objectContaining({ code: "ERR_AUDIT_USER" }));
  });
});
