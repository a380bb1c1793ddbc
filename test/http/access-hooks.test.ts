import fc from "fast-check";
import request from "supertest";

import {
  ACCESS_FAILED_BODY,
  accessDecisionOf,
  auditAccess,
  AuditConfigError,
  configureAudit,
  koaAuditAccess,
  memoryStore,
  requestEventLevel,
  type AccessDecision,
  type AuditEventRecord,
  type MemoryStore,
} from "../../src";
import { frameworks, type RouteApp } from "../support/request-event-apps";

function accessEvents(store: MemoryStore): AuditEventRecord[] {
  return store.list().filter((e) => e.action === "access.request");
}

describe.each(frameworks)("access hooks on $name", (framework) => {
  let store: MemoryStore;
  let app: RouteApp | undefined;
  const logged: string[] = [];

  beforeEach(() => {
    store = memoryStore();
    logged.length = 0;
    configureAudit({ store, logger: { warn: (m) => logged.push(m), error: (m) => logged.push(m) } });
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  async function start(access: (req: unknown) => AccessDecision | Promise<AccessDecision>) {
    app = await framework.start({ middleware: { requestEvents: true }, access });
    return app.server;
  }

  it("lets an allowed request through and records no access event", async () => {
    const server = await start(() => true);
    const response = await request(server).get("/guarded/1").expect(200);
    expect(response.body).toEqual({ handled: true });
    expect(accessEvents(store)).toEqual([]);
  });

  it("answers a refusal 403 with its reason and records one denied event", async () => {
    const server = await start(() => ({ allow: false, reason: "Only the owner may see this order." }));
    const response = await request(server).get("/guarded/77").set("x-request-id", "deny-1").expect(403);
    expect(response.body).toEqual({ error: "Only the owner may see this order." });
    const events = accessEvents(store);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      contentType: "HttpRequest",
      objectId: "deny-1",
      outcome: "denied",
      severity: "warning",
      content: { reason: "Only the owner may see this order.", route: "/guarded/:id" },
    });
  });

  it("waits for an async refusal", async () => {
    const server = await start(async () => {
      await new Promise((resolve) => setTimeout(resolve, 10));
      return { allow: false, reason: "Later no." };
    });
    const response = await request(server).get("/guarded/2").expect(403);
    expect(response.body).toEqual({ error: "Later no." });
    expect(accessEvents(store).map((e) => e.outcome)).toEqual(["denied"]);
  });

  it("fails closed when the hook throws: 500, no handler, recorded as a failure and logged", async () => {
    const server = await start(() => {
      throw new Error("policy service unreachable");
    });
    const response = await request(server).get("/guarded/3").expect(500);
    expect(response.body).toEqual(ACCESS_FAILED_BODY);
    expect(response.body).not.toHaveProperty("handled");
    const events = accessEvents(store);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ outcome: "failure", severity: "error", content: { error: "policy service unreachable" } });
    expect(logged.some((m) => m.includes("policy service unreachable"))).toBe(true);
  });

  it.each([
    ["false", false],
    ["undefined", undefined],
    ["{ allow: true }", { allow: true }],
    ["a refusal without a reason", { allow: false }],
    ["a truthy string", "yes"],
  ])("fails closed when the hook answers %s", async (_name, answer) => {
    const server = await start(() => answer as never);
    await request(server).get("/guarded/4").expect(500);
    expect(accessEvents(store).map((e) => e.outcome)).toEqual(["failure"]);
  });

  it("refuses all the same when the refusal cannot be recorded, and says so", async () => {
    const failing = memoryStore();
    failing.insert = async () => {
      throw new Error("disk full");
    };
    configureAudit({ store: failing, logger: { warn: (m) => logged.push(m) } });
    const server = await start(() => ({ allow: false, reason: "No." }));
    await request(server).get("/guarded/5").expect(403);
    expect(logged.some((m) => m.includes("could not be recorded") && m.includes("disk full"))).toBe(true);
  });

  it("also records the request's own event, whose status is the 403", async () => {
    const server = await start(() => ({ allow: false, reason: "No." }));
    await request(server).get("/guarded/6").expect(403);
    const deadline = Date.now() + 2000;
    let requestEvent: AuditEventRecord | undefined;
    while (requestEvent === undefined && Date.now() < deadline) {
      requestEvent = store.list().find((e) => e.action === "GET /guarded/:id");
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(requestEvent).toMatchObject({ outcome: "denied", severity: "warning", content: expect.objectContaining({ status: 403 }) });
  });
});

describe("access hook options", () => {
  it("are checked at creation, naming the fix", () => {
    for (const make of [auditAccess, koaAuditAccess] as ((o: unknown) => unknown)[]) {
      expect(() => make(undefined)).toThrow(AuditConfigError);
      expect(() => make({})).toThrow(/needs a request hook/);
      expect(() => make({ requets: () => true })).toThrow(/unknown option "requets".*request/);
    }
  });
});

describe("accessDecisionOf", () => {
  it("lets through exactly true, and refuses exactly { allow: false, reason }", () => {
    fc.assert(
      fc.property(fc.anything(), (answer) => {
        let read: ReturnType<typeof accessDecisionOf> | "threw";
        try {
          read = accessDecisionOf(answer, "hook");
        } catch (error) {
          expect(error).toBeInstanceOf(AuditConfigError);
          read = "threw";
        }
        if (answer === true) expect(read).toEqual({ allow: true });
        else expect(read === "threw" || read.allow === false).toBe(true);
      }),
    );
  });
});

describe("requestEventLevel", () => {
  it("maps every status to its outcome and severity", () => {
    fc.assert(
      fc.property(fc.integer({ min: 100, max: 599 }), fc.boolean(), (status, aborted) => {
        const { outcome, severity } = requestEventLevel(status, aborted);
        if (aborted) return expect({ outcome, severity }).toEqual({ outcome: "failure", severity: "warning" });
        expect(severity).toBe(status >= 500 ? "error" : status >= 400 ? "warning" : "info");
        expect(outcome).toBe(status >= 500 ? "failure" : status === 401 || status === 403 ? "denied" : "success");
      }),
    );
  });
});
