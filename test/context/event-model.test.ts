import fc from "fast-check";

import {
  ACTION_MAX_CHARS,
  AuditConfigError,
  AuditContext,
  auditEvents,
  configureAudit,
  CUT_MARKER,
  EVENT_OUTCOMES,
  EVENT_SEVERITIES,
  flushAudit,
  koaAuditEvents,
  MASK,
  memoryStore,
  restoreAuditContext,
  serializeAuditContext,
  type Enricher,
  type MemoryStore,
} from "../../src";

const ORDER = { contentType: "Order", objectId: "1" };

/** A logger that keeps what it hears, by level. */
function recordingLogger(withDebug = false) {
  const heard = { warn: [] as string[], error: [] as string[], debug: [] as string[] };
  const logger = { warn: (m: string) => void heard.warn.push(m), error: (m: string) => void heard.error.push(m) };
  return { heard, logger: withDebug ? { ...logger, debug: (m: string) => void heard.debug.push(m) } : logger };
}

let store: MemoryStore;
beforeEach(() => {
  store = memoryStore();
  configureAudit({ store });
});
afterEach(() => configureAudit({}));

describe("the event model fields of createEvent, createFieldsEvent and drafts", () => {
  it("default to no action, outcome \"success\" and severity \"info\"", async () => {
    const record = await new AuditContext().createEvent(ORDER);
    expect(record).toMatchObject({ action: null, outcome: "success", severity: "info", tenantId: null, requestId: null });
  });

  it("store every allowed outcome and severity as given, through every way of creating an event", async () => {
    const ctx = new AuditContext();
    for (const outcome of EVENT_OUTCOMES) {
      for (const severity of EVENT_SEVERITIES) {
        const a = await ctx.createEvent(ORDER, {}, { action: "order.refund", outcome, severity });
        const b = await ctx.createFieldsEvent({ ...ORDER, status: "paid" }, ["status"], {}, { action: "order.pay", outcome, severity });
        const draft = ctx.newEvent(ORDER);
        draft.action = "order.ship";
        draft.outcome = outcome;
        draft.severity = severity;
        const c = await draft.save();
        expect([a, b, c].map((r) => [r.action, r.outcome, r.severity])).toEqual([
          ["order.refund", outcome, severity],
          ["order.pay", outcome, severity],
          ["order.ship", outcome, severity],
        ]);
      }
    }
    expect(store.list()).toHaveLength(EVENT_OUTCOMES.length * EVENT_SEVERITIES.length * 3);
  });

  it("lets save()'s options win over a draft's own fields", async () => {
    const draft = new AuditContext().newEvent(ORDER);
    draft.action = "order.ship";
    draft.severity = "debug";
    const record = await draft.save({ action: "order.cancel", outcome: "denied" });
    expect(record).toMatchObject({ action: "order.cancel", outcome: "denied", severity: "debug" });
  });

  it("refuses any outcome or severity outside the allowed values, naming them, before anything is written", async () => {
    const ctx = new AuditContext();
    await fc.assert(
      fc.asyncProperty(fc.string(), fc.constantFrom("outcome", "severity"), async (value, field) => {
        fc.pre(!(EVENT_OUTCOMES as readonly string[]).includes(value) && !(EVENT_SEVERITIES as readonly string[]).includes(value));
        const allowed = field === "outcome" ? EVENT_OUTCOMES : EVENT_SEVERITIES;
        const attempt = ctx.createEvent(ORDER, {}, { [field]: value });
        await expect(attempt).rejects.toMatchObject({ code: "ERR_AUDIT_EVENT_FIELD", message: expect.stringContaining(`${field} must be one of ${allowed.map((v) => `"${v}"`).join(", ")}`) });
      }),
      { numRuns: 200 },
    );
    for (const bad of [1, true, {}, ["success"], null, "SUCCESS", " info"]) {
      await expect(ctx.createEvent(ORDER, {}, { outcome: bad as never })).rejects.toMatchObject({ code: "ERR_AUDIT_EVENT_FIELD" });
      await expect(ctx.createFieldsEvent(ORDER, [], {}, { severity: bad as never })).rejects.toMatchObject({ code: "ERR_AUDIT_EVENT_FIELD" });
    }
    const draft = ctx.newEvent(ORDER);
    draft.outcome = "ok" as never;
    await expect(draft.save()).rejects.toMatchObject({ code: "ERR_AUDIT_EVENT_FIELD", message: expect.stringContaining("draft.save()") });
    expect(store.list()).toEqual([]);
  });

  it("refuses an action that is not a non-blank string", async () => {
    const ctx = new AuditContext();
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.stringMatching(/^\s*$/), fc.integer(), fc.boolean(), fc.object()), async (action) => {
        await expect(ctx.createEvent(ORDER, {}, { action: action as never })).rejects.toMatchObject({ code: "ERR_AUDIT_EVENT_FIELD", message: expect.stringContaining("action must be a non-blank string") });
      }),
      { numRuns: 100 },
    );
    expect(store.list()).toEqual([]);
  });

  it("refuses an unknown option key, suggesting the name meant", async () => {
    await expect(new AuditContext().createEvent(ORDER, {}, { severty: "error" } as never)).rejects.toMatchObject({
      code: "ERR_AUDIT_EVENT_FIELD",
      message: expect.stringContaining('unknown key "severty". Did you mean "severity"?'),
    });
    await expect(new AuditContext().createEvent(ORDER, {}, "error" as never)).rejects.toMatchObject({ code: "ERR_AUDIT_EVENT_FIELD" });
  });

  it("refuses an event field that comes from the context, saying where it is set", async () => {
    const cases: Array<[string, RegExp]> = [
      ["tenantId", /unknown key "tenantId"\. An event's tenant is its context's: set it with configureAudit\(\{ tenantResolver \}\)/],
      ["requestId", /unknown key "requestId"\. An event's request id is its context's/],
      ["userId", /unknown key "userId"\. Name this event's user with \{ user \}/],
      ["content", /unknown key "content"\. Content is createEvent's second argument/],
    ];
    for (const [key, message] of cases) {
      await expect(new AuditContext().createEvent(ORDER, {}, { [key]: "x" } as never)).rejects.toMatchObject({ code: "ERR_AUDIT_EVENT_FIELD", message: expect.stringMatching(message) });
    }
  });

  it("stores any visible action masked by sensitivePatterns and bounded to its column, and refuses one with a control or format character", async () => {
    configureAudit({ store, sensitivePatterns: [{ label: "email", pattern: /[^\s@]+@[^\s@]+\.[a-z]+/ }] });
    const ctx = new AuditContext();
    await fc.assert(
      fc.asyncProperty(fc.string({ unit: "binary", minLength: 1, maxLength: 400 }), async (text) => {
        fc.pre(text.trim().length > 0);
        if (/[\p{Cc}\p{Cf}\p{Cs}]/u.test(text)) {
          await expect(ctx.createEvent(ORDER, {}, { action: `${text} by ann@example.com` })).rejects.toMatchObject({ code: "ERR_AUDIT_EVENT_FIELD", message: expect.stringContaining("control or format character") });
          return;
        }
        const record = await ctx.createEvent(ORDER, {}, { action: `${text} by ann@example.com` });
        const action = record.action!;
        expect([...action].length).toBeLessThanOrEqual(ACTION_MAX_CHARS);
        expect(action).not.toContain("\u0000");
        expect(action.isWellFormed()).toBe(true);
        expect(action).not.toContain("ann@example.com");
        if (!CUT_MARKER.test(action)) expect(action.endsWith("by [email]")).toBe(true);
      }),
      { numRuns: 100 },
    );
  });
});

describe("ctx.createEvents", () => {
  it("writes every event with its own fields, in order, with one insert", async () => {
    const inserts: number[] = [];
    configureAudit({ store: { ...store, insert: (events, options) => (inserts.push(events.length), store.insert(events, options)) } });
    const records = await new AuditContext({ user: "u1" }).createEvents([
      { contentObject: ORDER, content: { n: 1 }, action: "order.create" },
      { contentObject: { contentType: "Order", objectId: 2 }, action: "order.pay", outcome: "failure", severity: "error", user: "u2" },
      { contentObject: ORDER },
    ]);
    expect(inserts).toEqual([3]);
    expect(records.map((r) => [r.objectId, r.action, r.outcome, r.severity, r.userId])).toEqual([
      ["1", "order.create", "success", "info", "u1"],
      ["2", "order.pay", "failure", "error", "u2"],
      ["1", null, "success", "info", "u1"],
    ]);
    expect(store.list().map((r) => r.id)).toEqual(records.map((r) => r.id));
  });

  it("writes none when any item is unusable, naming the item", async () => {
    const ctx = new AuditContext();
    const good = { contentObject: ORDER };
    const cases: [unknown[], RegExp][] = [
      [[good, { contentObject: ORDER, outcome: "maybe" }], /createEvents\(\) item 1: outcome must be one of/],
      [[good, good, { contentObject: { id: 1 } }], /^createEvents\(\) item 2: /],
      [[good, null], /createEvents\(\) item 1 must be an object/],
      [[good, { contentObject: ORDER, contnet: {} }], /item 1: unknown key "contnet". Did you mean "content"\?/],
      [[good, { contentObject: ORDER, tx: {} }], /item 1 names another tx than item 0/],
      [[good, { contentObject: ORDER, content: { f: () => 1 } }], /^createEvents\(\) item 1: /],
    ];
    for (const [items, message] of cases) {
      await expect(ctx.createEvents(items as never)).rejects.toThrow(message);
    }
    await expect(ctx.createEvents("nope" as never)).rejects.toMatchObject({ code: "ERR_AUDIT_EVENT_FIELD" });
    expect(store.list()).toEqual([]);
    expect(await ctx.createEvents([])).toEqual([]);
  });

  it("refuses the holes of a sparse array as items that are not objects", async () => {
    // eslint-disable-next-line no-sparse-arrays
    await expect(new AuditContext().createEvents([, { contentObject: ORDER }] as never)).rejects.toMatchObject({ code: "ERR_AUDIT_EVENT_FIELD", message: expect.stringContaining("item 0 must be an object") });
    expect(store.list()).toEqual([]);
  });

  it("with disabled: true, builds, checks and returns every record and writes none", async () => {
    configureAudit({ disabled: true, store });
    const records = await new AuditContext({ store }).createEvents([{ contentObject: ORDER, action: "a" }, { contentObject: ORDER, severity: "critical" }]);
    expect(records.map((r) => [r.action, r.severity])).toEqual([["a", "info"], [null, "critical"]]);
    await expect(new AuditContext().createEvents([{ contentObject: ORDER, outcome: "no" as never }])).rejects.toMatchObject({ code: "ERR_AUDIT_EVENT_FIELD" });
    expect(store.list()).toEqual([]);
  });

  it("in buffered mode, queues them all, and logger.debug hears the flush", async () => {
    const { heard, logger } = recordingLogger(true);
    configureAudit({ store, writeMode: "buffered", flushIntervalMs: 60_000, logger });
    const records = await new AuditContext().createEvents(Array.from({ length: 5 }, (_, i) => ({ contentObject: { contentType: "Order", objectId: i } })));
    expect(store.list()).toEqual([]);
    await flushAudit();
    expect(store.list().map((r) => r.id)).toEqual(records.map((r) => r.id));
    expect(heard.debug).toEqual([expect.stringMatching(/^audit-events: flushed 5 buffered event\(s\) to memory in \d+\.\d ms\.$/)]);
  });
});

describe("logger.debug", () => {
  it("hears every sync write with its count, store and time, and is optional", async () => {
    const { heard, logger } = recordingLogger(true);
    configureAudit({ store, logger });
    await new AuditContext().createEvent(ORDER);
    await new AuditContext().createEvents([{ contentObject: ORDER }, { contentObject: ORDER }]);
    expect(heard.debug).toEqual([
      expect.stringMatching(/^audit-events: wrote 1 event\(s\) to memory in \d+\.\d ms\.$/),
      expect.stringMatching(/^audit-events: wrote 2 event\(s\) to memory in \d+\.\d ms\.$/),
    ]);
    configureAudit({ store, logger: recordingLogger(false).logger });
    await expect(new AuditContext().createEvent(ORDER)).resolves.toBeDefined();
  });

  it("is not heard from console by default", async () => {
    const debug = jest.spyOn(console, "debug").mockImplementation(() => undefined);
    try {
      await new AuditContext().createEvent(ORDER);
      expect(debug).not.toHaveBeenCalled();
    } finally {
      debug.mockRestore();
    }
  });

  it("must be a function when given", () => {
    expect(() => configureAudit({ logger: { warn() {}, debug: "yes" } as never })).toThrow(/logger" must be an object with a warn\(message\) method/);
  });
});

describe("enrichers", () => {
  it("add keys to every event's content before masking; the event's own content wins", async () => {
    const seen: unknown[] = [];
    const enricher: Enricher = (event, ctx) => {
      seen.push({ ...event, extra: ctx.extraData });
      return { appVersion: "1.4.2", apiKey: "k-123", note: "from enricher", nested: { password: "p" } };
    };
    configureAudit({ store, enrichers: [enricher, () => ({ region: "eu" })] });
    const ctx = new AuditContext({ user: "u1", tenantId: "acme", requestId: "r-1", extraData: { job: "sync" } });
    const record = await ctx.createEvent(ORDER, { note: "own" }, { action: "order.ship", severity: "warning" });
    expect(record.content).toEqual({ job: "sync", appVersion: "1.4.2", apiKey: MASK, note: "own", nested: { password: MASK }, region: "eu" });
    expect(seen).toEqual([
      {
        contentType: "Order",
        objectId: "1",
        action: "order.ship",
        outcome: "success",
        severity: "warning",
        userId: "u1",
        tenantId: "acme",
        requestId: "r-1",
        content: { job: "sync", note: "own" },
        extra: { job: "sync" },
      },
    ]);
  });

  it("skip one that throws or returns no plain object, reporting each once by name or index, and still write the event", async () => {
    const { heard, logger } = recordingLogger();
    function failingVersion(): Record<string, unknown> {
      throw new Error("no version file");
    }
    const enrichers: Enricher[] = [
      failingVersion,
      (() => Promise.resolve({ late: true })) as never,
      (() => ["x"]) as never,
      (() => "text") as never,
      () => ({ kept: true }),
    ];
    configureAudit({ store, logger, enrichers });
    for (let i = 0; i < 50; i++) await new AuditContext().createEvent({ contentType: "Order", objectId: i });
    expect(store.list()).toHaveLength(50);
    expect(store.list().every((r) => JSON.stringify(r.content) === '{"kept":true}')).toBe(true);
    expect(heard.warn).toHaveLength(4);
    expect(heard.warn[0]).toMatch(/enricher "failingVersion" \(enrichers\[0\]\) threw: no version file; it is skipped/);
    expect(heard.warn[1]).toMatch(/enrichers\[1\]\)? returned a Promise \(enrichers must be synchronous\)/);
    expect(heard.warn[2]).toMatch(/enrichers\[2\]\)? returned an array/);
    expect(heard.warn[3]).toMatch(/enrichers\[3\]\)? returned a string/);
  });

  it("skip one whose result is not JSON or that rejects later, and never let one change the caller's content", async () => {
    const { heard, logger } = recordingLogger();
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => void unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      const enrichers: Enricher[] = [
        (async () => {
          throw new Error("async boom");
        }) as never,
        () => cyclic,
        () => ({ f: () => 1 }),
        () => ({
          get boom(): string {
            throw new Error("getter boom secret=hunter2");
          },
        }),
        (event) => {
          (event.content as Record<string, unknown>).amount = 999;
          return undefined;
        },
        () => ({ kept: true }),
      ];
      configureAudit({ store, logger, enrichers, sensitivePatterns: [{ label: "secret", pattern: /secret=\S+/ }] });
      const content = { amount: 5 };
      const record = await new AuditContext().createEvent(ORDER, content);
      await new Promise((resolve) => setImmediate(resolve));
      expect(record.content).toEqual({ amount: 5, kept: true });
      expect(content).toEqual({ amount: 5 });
      expect(store.list()).toHaveLength(1);
      expect(unhandled).toEqual([]);
      expect(heard.warn).toHaveLength(5);
      expect(heard.warn.join("\n")).not.toContain("hunter2");
      expect(heard.warn[4]).toMatch(/enrichers\[4\] threw: .*read.only|enrichers\[4\] threw: .*Cannot assign/);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });

  it("are refused when not an array of functions", () => {
    expect(() => configureAudit({ enrichers: [() => ({}), "x"] as never })).toThrow(/option "enrichers" must be an array of functions/);
    expect(() => configureAudit({ enrichers: (() => ({})) as never })).toThrow(AuditConfigError);
  });
});

describe("tenant and request id of a job's context", () => {
  it("come from new AuditContext({ tenantId, requestId }) as they are", async () => {
    const tenantId = `acme-Ωmega-${"t".repeat(180)}`;
    const record = await new AuditContext({ tenantId, requestId: "job-42" }).createEvent(ORDER);
    expect(record).toMatchObject({ tenantId, requestId: "job-42" });
    expect(new AuditContext({ requestId: "job-42" }).requestId).toBe("job-42");
    expect(new AuditContext().requestId).toBeNull();
  });

  it("are refused from the constructor when not an id: never cleaned up or cut into another one", () => {
    for (const bad of ["", "  ", 5, {}, ["a"], "acme\u0000", "acme\u202e", " acme", "acme ", "t".repeat(192)]) {
      expect(() => new AuditContext({ tenantId: bad as never })).toThrow(expect.objectContaining({ code: "ERR_AUDIT_EVENT_FIELD" }));
      expect(() => new AuditContext({ requestId: bad as never })).toThrow(expect.objectContaining({ code: "ERR_AUDIT_EVENT_FIELD" }));
    }
    expect(() => new AuditContext({ requestId: "a b" })).toThrow(expect.objectContaining({ code: "ERR_AUDIT_EVENT_FIELD" }));
  });

  it("travel through serializeAuditContext and restoreAuditContext as JSON, and an older snapshot without them restores", async () => {
    const json = JSON.stringify(serializeAuditContext(new AuditContext({ tenantId: "acme", requestId: "r-9" })));
    const record = await restoreAuditContext(JSON.parse(json)).createEvent(ORDER);
    expect(record).toMatchObject({ tenantId: "acme", requestId: "r-9" });
    const { tenantId: _t, requestId: _r, ...older } = JSON.parse(json);
    expect(await restoreAuditContext(older).createEvent(ORDER)).toMatchObject({ tenantId: null, requestId: null });
  });

  it("are never masked by sensitivePatterns, which would merge two tenants", async () => {
    configureAudit({ store, sensitivePatterns: [{ label: "email", pattern: /[^\s@]+@[^\s@]+\.[a-z]+/ }, { label: "digits", pattern: /\d{6,}/ }] });
    const alice = await new AuditContext({ tenantId: "alice@acme.com", requestId: "req-1234567" }).createEvent(ORDER);
    const org = await new AuditContext({ tenantId: "org_1234567" }).createEvent(ORDER);
    expect([alice.tenantId, alice.requestId, org.tenantId]).toEqual(["alice@acme.com", "req-1234567", "org_1234567"]);
  });

  it("cannot be named by an event: tenancy comes from the context only", async () => {
    await expect(new AuditContext({ tenantId: "a" }).createEvent(ORDER, {}, { tenantId: "b" } as never)).rejects.toMatchObject({ code: "ERR_AUDIT_EVENT_FIELD" });
  });
});

describe("the new options", () => {
  it("are checked by configureAudit and both middleware factories", () => {
    for (const configure of [configureAudit, auditEvents, koaAuditEvents] as ((o: object) => unknown)[]) {
      expect(() => configure({ tenantResolver: "acme" })).toThrow(/option "tenantResolver" must be a function/);
      expect(() => configure({ requestIdHeader: "x request id" })).toThrow(/option "requestIdHeader" must be an HTTP header name/);
      expect(() => configure({ requestIdHeader: "" })).toThrow(/requestIdHeader/);
      expect(() => configure({ requestIdHeader: 5 })).toThrow(/requestIdHeader/);
      expect(() => configure({ enrichers: {} })).toThrow(/enrichers/);
      expect(() => configure({ tenantResolve: () => null })).toThrow(/Did you mean "tenantResolver"\?/);
    }
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), (name) => {
        const valid = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name);
        let refused = false;
        try {
          configureAudit({ requestIdHeader: name });
        } catch (error) {
          refused = error instanceof AuditConfigError;
        }
        expect(refused).toBe(!valid);
      }),
    );
  });
});
