import http from "node:http";
import fc from "fast-check";
import request from "supertest";

import {
  auditEvents,
  auditMetrics,
  CLIENT_CLOSED_REQUEST,
  closeAudit,
  configureAudit,
  MASK,
  memoryStore,
  type AuditEventRecord,
  type AuditLogger,
  type MemoryStore,
} from "../../src";
import { frameworks, NESTED_ROUTES, TEXT_SECRETS, type RouteApp, type RouteAppOptions } from "../support/request-event-apps";

/** Waits until `store` holds `count` request events, and returns them. */
async function requestEvents(store: MemoryStore, count: number, timeoutMs = 3000): Promise<AuditEventRecord[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const events = store.list().filter((e) => e.contentType === "HttpRequest");
    if (events.length >= count || Date.now() > deadline) return events;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Lets pending writes land, so a test can see that nothing more was written. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 60));

/** Opens a request and closes its socket once `when` is seen: the first body chunk, or the request sent. */
function abortAfter(port: number, path: string, when: "first-chunk" | "sent"): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: "127.0.0.1", port, path, agent: false }, (res) => {
      res.once("data", () => {
        if (when === "first-chunk") req.destroy();
      });
    });
    req.on("error", () => undefined);
    req.on("close", () => resolve());
    if (when === "sent") req.on("finish", () => setTimeout(() => req.destroy(), 30));
    setTimeout(() => reject(new Error("the request was never closed")), 3000).unref();
  });
}

describe.each(frameworks)("requestEvents on $name", (framework) => {
  let store: MemoryStore;
  let app: RouteApp | undefined;

  beforeEach(() => {
    store = memoryStore();
    configureAudit({ store });
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  async function start(options: RouteAppOptions = { middleware: { requestEvents: true } }): Promise<RouteApp> {
    app = await framework.start(options);
    return app;
  }

  it("records a 200 with its route template, status, duration, user agent and request id", async () => {
    const { server } = await start();
    const response = await request(server).get("/orders/42").set("user-agent", "probe/1.0").set("x-request-id", "req-200");
    expect(response.status).toBe(200);
    const [event] = await requestEvents(store, 1);
    expect(event).toMatchObject({
      contentType: "HttpRequest",
      objectId: "req-200",
      requestId: "req-200",
      action: "GET /orders/:id",
      outcome: "success",
      severity: "info",
      method: "GET",
    });
    expect(event!.content).toMatchObject({ status: 200, route: "/orders/:id", userAgent: "probe/1.0" });
    expect(typeof event!.content.durationMs).toBe("number");
    expect(event!.content.durationMs as number).toBeGreaterThanOrEqual(0);
    expect(event!.content).not.toHaveProperty("request");
    expect(event!.content).not.toHaveProperty("response");
  });

  it("names routes by their templates, never by the raw path, for many ids", async () => {
    const { server } = await start();
    const ids = ["1", "42", "9f8e7d", "order-77"];
    for (const id of ids) await request(server).get(`/orders/${id}`).expect(200);
    await request(server).get("/api/items/555").expect(200);
    const events = await requestEvents(store, ids.length + 1);
    const actions = new Set(events.map((e) => e.action));
    expect(actions).toEqual(new Set(["GET /orders/:id", "GET /api/items/:itemId"]));
    for (const e of events) for (const id of [...ids, "555"]) expect(`${e.action} ${String(e.content.route)}`).not.toContain(id);
  });

  it("names routes under routers mounted on parameter paths, at any depth, by their templates whatever the ids", async () => {
    const { server } = await start();
    // Ids that look like the literal segments around them too: a template built from values would take them for literals.
    const id = fc.oneof(fc.stringMatching(/^[A-Za-z0-9_~-]{1,12}$/), fc.constantFrom("users", "notes", "orders", "orgs", "teams", "members", "1"));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...NESTED_ROUTES), fc.array(id, { minLength: 3, maxLength: 3 }), async (template, ids) => {
        store.clear();
        const names = template.match(/:\w+/g)!.map((n) => n.slice(1));
        const path = names.reduce((p, name, i) => p.replace(`:${name}`, ids[i]!), template);
        const response = await request(server).get(path).expect(200);
        // The route's own parameter (the others reach it only through mergeParams on Express).
        expect(response.body[names.at(-1)!]).toBe(ids[names.length - 1]);
        const [event] = await requestEvents(store, 1);
        expect(event!.action).toBe(`GET ${template}`);
        expect(event!.content.route).toBe(template);
        const literals = new Set(template.split("/"));
        for (const value of ids) if (!literals.has(value)) expect(event!.action!.slice("GET ".length).split("/")).not.toContain(value);
      }),
      { numRuns: 25 },
    );
  });

  it("records a 404 as unmatched, without the path it was asked for", async () => {
    const { server } = await start();
    await request(server).get("/no/such/page-8812").expect(404);
    const [event] = await requestEvents(store, 1);
    expect(event).toMatchObject({ action: "GET (unmatched)", outcome: "success", severity: "warning" });
    expect(event!.content).toMatchObject({ status: 404, route: null });
    expect(JSON.stringify(event!.content)).not.toContain("8812");
  });

  it("records a 500 the handler answers as a failure of severity error", async () => {
    const { server } = await start();
    await request(server).get("/fail").expect(500);
    const [event] = await requestEvents(store, 1);
    expect(event).toMatchObject({ action: "GET /fail", outcome: "failure", severity: "error" });
    expect(event!.content.status).toBe(500);
  });

  it("records a thrown error with the status the app's error handling answered", async () => {
    const { server } = await start();
    await request(server).get("/throw").expect(500);
    await request(server).get("/unauthorized").expect(401);
    const events = await requestEvents(store, 2);
    const byAction = Object.fromEntries(events.map((e) => [e.action, e]));
    expect(byAction["GET /throw"]).toMatchObject({ outcome: "failure", severity: "error", content: expect.objectContaining({ status: 500 }) });
    expect(byAction["GET /unauthorized"]).toMatchObject({ outcome: "denied", severity: "warning", content: expect.objectContaining({ status: 401 }) });
  });

  it("records a client that disconnects mid-response as aborted, with the status it was sent", async () => {
    const { port } = await start();
    await abortAfter(port, "/stream", "first-chunk");
    const [event] = await requestEvents(store, 1);
    expect(event).toMatchObject({ action: "GET /stream", outcome: "failure", severity: "warning" });
    expect(event!.content).toMatchObject({ status: 200, aborted: true });
    // Read when the request started: the socket is gone by the time the event is built.
    expect(event!.remoteAddr).toBe("127.0.0.1");
  });

  it("records a client that leaves before any answer with status 499", async () => {
    const { port } = await start();
    await abortAfter(port, "/hang", "sent");
    const [event] = await requestEvents(store, 1);
    expect(event).toMatchObject({ action: "GET /hang", outcome: "failure", severity: "warning" });
    expect(event!.content).toMatchObject({ status: CLIENT_CLOSED_REQUEST, aborted: true });
    expect(event!.remoteAddr).toBe("127.0.0.1");
  });

  it("writes no event for skip paths (exact or pattern) or for requests the app marks", async () => {
    const { server } = await start({ middleware: { requestEvents: { skipPaths: ["/health", /^\/api\//] } } });
    await request(server).get("/health").expect(200);
    await request(server).get("/health?probe=1").expect(200);
    await request(server).get("/api/items/1").expect(200);
    await request(server).get("/quiet").expect(200);
    await request(server).get("/orders/1").expect(200);
    await settle();
    const events = await requestEvents(store, 1);
    expect(events.map((e) => e.action)).toEqual(["GET /orders/:id"]);
  });

  it.each([
    ["the framework's default routing", undefined],
    ["case-sensitive, strict routing", { caseSensitive: true, strictTrailingSlash: true }],
    ["case-insensitive routing that ignores a trailing slash", { caseSensitive: false, strictTrailingSlash: false }],
  ])("skips a request exactly when %s takes it to a skipped path", async (_name, routing) => {
    const { server } = await start({ middleware: { requestEvents: { skipPaths: ["/health"] } }, routing });
    // Each letter of "health" as is, upper-case, or percent-encoded (either case of hex digits).
    // Half the paths unescaped: Express and Koa route no escaped path to /health.
    const forms = fc.oneof(fc.array(fc.constantFrom("as is", "upper"), { minLength: 6, maxLength: 6 }), fc.array(fc.constantFrom("as is", "upper", "escaped", "ESCAPED"), { minLength: 6, maxLength: 6 }));
    const spell = (c: string, how: string) => {
      const hex = c.charCodeAt(0).toString(16);
      return how === "upper" ? c.toUpperCase() : how === "escaped" ? `%${hex}` : how === "ESCAPED" ? `%${hex.toUpperCase()}` : c;
    };
    let n = 0;
    await fc.assert(
      // A `;` suffix: Fastify 4 routes `/health;x` to /health (its semicolon delimiter), the others do not.
      fc.asyncProperty(forms, fc.boolean(), fc.constantFrom("", "", ";x", ";jsessionid=1"), async (drawn, trailing, suffix) => {
        const path = `/${[..."health"].map((c, i) => spell(c, drawn[i]!)).join("")}${trailing ? "/" : ""}${suffix}`;
        const id = `skip-${++n}`;
        const response = await request(server).get(path).set("x-request-id", id);
        const routed = response.status === 200 && response.body?.ok === true;
        // A later request's event has landed, so this one's would have too.
        await request(server).get("/orders/1").set("x-request-id", `${id}-after`).expect(200);
        const deadline = Date.now() + 2000;
        while (!store.list().some((e) => e.requestId === `${id}-after`) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 2));
        expect([path, store.list().some((e) => e.requestId === id)]).toEqual([path, !routed]);
      }),
      { numRuns: 40 },
    );
  });

  it("writes nothing per request without requestEvents", async () => {
    const { server } = await start({ middleware: {} });
    await request(server).get("/orders/1").expect(200);
    await settle();
    expect(store.list()).toEqual([]);
  });

  it("captures payloads when asked, masked as post data is", async () => {
    const { server } = await start({ middleware: { requestEvents: { capturePayloads: true } } });
    await request(server).post("/orders/7").send({ item: "book", password: "hunter2", nested: { card_number: "4111111111111111" } }).expect(201);
    const [event] = await requestEvents(store, 1);
    const content = event!.content as { request: Record<string, unknown>; response: Record<string, unknown> };
    expect(content.request).toEqual({ item: "book", password: MASK, nested: { card_number: MASK } });
    expect(content.response).toEqual({ echoed: { item: "book", password: MASK, nested: { card_number: MASK } }, apiKey: MASK });
    const stored = JSON.stringify(event);
    for (const secret of ["hunter2", "4111111111111111", "key-secret-2"]) expect(stored).not.toContain(secret);
  });

  it("keeps no text of HTML, XML or plain-text payloads, only their type and size, and masks form payloads", async () => {
    const { server } = await start({ middleware: { requestEvents: { capturePayloads: true } } });
    const responses = [
      ["/page", /^text\/html/],
      ["/feed.xml", /^application\/xml/],
      ["/note.txt", /^text\/plain/],
    ] as const;
    for (const [path] of responses) await request(server).get(path).expect(200);
    const requests = [
      ["text/plain", "password=hunter2 and the pin is 8841-code"],
      ["application/xml", "<login><password>xml-secret-4</password></login>"],
    ] as const;
    for (const [type, body] of requests) await request(server).post("/notes").set("content-type", type).send(body).expect(204);
    await request(server).post("/notes").type("form").send("item=book&password=hunter2").expect(204);
    const events = await requestEvents(store, responses.length + requests.length + 1);
    expect(events).toHaveLength(6);
    for (const [path, type] of responses) {
      const event = events.find((e) => e.url?.endsWith(path))!;
      const response = (event.content as { response: Record<string, unknown> }).response;
      expect(Object.keys(response).sort()).toEqual(["_bytes", "_contentType"]);
      expect(response._contentType).toMatch(type);
      expect(response._bytes).toBeGreaterThan(0);
    }
    const posted = events.filter((e) => e.method === "POST").map((e) => (e.content as { request: Record<string, unknown> }).request);
    for (const [type, body] of requests) expect(posted).toContainEqual({ _contentType: expect.stringMatching(new RegExp(`^${type}`)), _bytes: Buffer.byteLength(body) });
    expect(posted).toContainEqual({ item: "book", password: MASK });
    const stored = JSON.stringify(events);
    for (const secret of [...TEXT_SECRETS, "hunter2"]) expect(stored).not.toContain(secret);
  });

  it("caps captured payloads at maxPayloadBytes", async () => {
    const { server } = await start({ middleware: { requestEvents: { capturePayloads: true, maxPayloadBytes: 300 } } });
    await request(server).get("/big?bytes=250").expect(200);
    await request(server).get("/big?bytes=5000").expect(200);
    await request(server).get("/big?bytes=200000").expect(200);
    const events = await requestEvents(store, 3);
    const responses = events.map((e) => (e.content as { response: Record<string, unknown> }).response);
    const small = responses.find((r) => "filler" in r);
    expect(small).toBeDefined();
    const cut = responses.filter((r) => r._truncated === true);
    expect(cut).toHaveLength(2);
    expect(cut.map((r) => r._bytes as number).sort((a, b) => a - b)).toEqual([expect.any(Number), expect.any(Number)]);
    expect(Math.max(...cut.map((r) => r._bytes as number))).toBeGreaterThan(200000 - 100);
    for (const e of events) expect(Buffer.byteLength(JSON.stringify(e.content))).toBeLessThan(1200);
  });

  it("sends the response before the event is written: a blocked store does not hold the client", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const insert = store.insert.bind(store);
    let inserting = 0;
    store.insert = async (...args) => {
      inserting++;
      await gate;
      return insert(...args);
    };
    const { server } = await start();
    const response = await request(server).get("/orders/5");
    expect(response.status).toBe(200);
    // The client has its answer while the event's insert is still waiting (the gate holds
    // it until release()). The insert starts once the response is done: waited for, not
    // assumed to have started within a fixed time.
    const deadline = Date.now() + 3000;
    while (inserting === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(inserting).toBe(1);
    expect(store.list()).toEqual([]);
    release();
    const [event] = await requestEvents(store, 1);
    expect(event!.action).toBe("GET /orders/:id");
  });

  it("logs and counts an event it cannot write, and the response is not affected", async () => {
    const warnings: string[] = [];
    const logger: AuditLogger = { warn: (m) => warnings.push(m), error: (m) => warnings.push(m) };
    const failing = memoryStore();
    failing.insert = async () => {
      throw new Error(`database is down for ${framework.name}`);
    };
    configureAudit({ store: failing, logger });
    const { server } = await start();
    const response = await request(server).get("/orders/9").expect(200);
    expect(response.body).toEqual({ id: "9", token: "tok-secret-1" });
    const deadline = Date.now() + 2000;
    while (warnings.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("the request event of GET /orders/:id");
    expect(warnings[0]).toContain(`database is down for ${framework.name}`);
    expect(auditMetrics().lastError).toContain(`database is down for ${framework.name}`);
  });

  it("goes through the buffered writer in buffered mode", async () => {
    configureAudit({ store, writeMode: "buffered", flushIntervalMs: 10_000 });
    const { server } = await start();
    await request(server).get("/orders/3").expect(200);
    await settle();
    expect(store.list()).toEqual([]);
    await closeAudit();
    const [event] = await requestEvents(store, 1);
    expect(event!.action).toBe("GET /orders/:id");
  });
});

// Fastify has no routes that pass a request on: a route that matches answers.
describe.each(frameworks.filter((f) => f.kind !== "fastify"))("pass-through routes on $name", (framework) => {
  let store: MemoryStore;
  let app: RouteApp | undefined;
  beforeEach(() => {
    store = memoryStore();
    configureAudit({ store });
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it("a route that passes every request on does not name a request no route answered, nor one another route answered", async () => {
    app = await framework.start({ middleware: { requestEvents: true }, passThrough: true });
    await request(app.server).get("/nowhere/7").set("x-request-id", "pt-1").expect(404);
    await request(app.server).get("/orders/7").set("x-request-id", "pt-2").expect(200);
    await request(app.server).get("/users/1/orders/2").set("x-request-id", "pt-3").expect(200);
    await request(app.server).get("/throw").set("x-request-id", "pt-4").expect(500);
    await request(app.server).get("/stream").set("x-request-id", "pt-5").timeout(300).catch(() => undefined);
    await app.close();
    const events = await requestEvents(store, 5);
    const byId = Object.fromEntries(events.map((e) => [e.requestId, e.action]));
    expect(byId).toEqual({ "pt-1": "GET (unmatched)", "pt-2": "GET /orders/:id", "pt-3": "GET /users/:userId/orders/:id", "pt-4": "GET /throw", "pt-5": "GET /stream" });
  });
});

describe("requestEvents options", () => {
  it("are checked when the middleware is made, naming the fix", () => {
    expect(() => auditEvents({ requestEvents: { skipPaths: ["health"] } })).toThrow(/skipPaths must be an array of paths starting with "\/"/);
    expect(() => auditEvents({ requestEvents: { capturePayload: true } as never })).toThrow(/unknown requestEvents option "capturePayload".*capturePayloads/);
    expect(() => auditEvents({ requestEvents: { maxPayloadBytes: 0 } })).toThrow(/maxPayloadBytes must be a positive integer/);
    expect(() => auditEvents({ requestEvents: "yes" as never })).toThrow(/must be true or an options object/);
    expect(() => auditEvents({ requestEvents: { skipPaths: ["/health?probe=1"] } })).toThrow(/skipPaths entry "\/health\?probe=1" holds "\?".*write "\/health"/);
    expect(() => auditEvents({ requestEvents: { skipPaths: ["/health#x"] } })).toThrow(/could never match/);
  });

  it("belong to the middleware: configureAudit refuses them, saying where they go", () => {
    expect(() => configureAudit({ requestEvents: true } as never)).toThrow(/requestEvents is an option of the middleware.*auditEvents\(\{ requestEvents: true \}\)/);
  });
});
