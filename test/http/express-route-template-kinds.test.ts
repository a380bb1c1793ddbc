import fc from "fast-check";
import request from "supertest";

import { auditEvents, configureAudit, memoryStore, UNKNOWN_ROUTE, type AuditEventRecord, type MemoryStore } from "../../src";

/* eslint-disable @typescript-eslint/no-require-imports */
type ExpressModule = typeof import("express");
const express5 = require("express") as ExpressModule;
const expressVersions: [string, ExpressModule][] = [
  ["Express 4", require("express4") as ExpressModule],
  ["Express 5", express5],
];

async function requestEvents(store: MemoryStore, count: number): Promise<AuditEventRecord[]> {
  const deadline = Date.now() + 3000;
  for (;;) {
    const events = store.list().filter((e) => e.contentType === "HttpRequest");
    if (events.length >= count || Date.now() > deadline) return events;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A route that passes every request on, as prefix checks do. */
function passOnPath(express: ExpressModule, prefix: string): string {
  return express === express5 ? `${prefix}/*splat` : `${prefix}/*`;
}

describe.each(expressVersions)("a mounted sub-application's route on %s is (unknown route), never unmatched nor a partial template", (_name, express) => {
  let store: MemoryStore;
  beforeEach(() => {
    store = memoryStore();
    configureAudit({ store });
  });

  it("after an app route that passed the request on", async () => {
    const app = express();
    app.use(auditEvents({ requestEvents: true }));
    app.all(passOnPath(express, "/admin"), (_req, _res, next) => next());
    const admin = express();
    admin.get("/users/:id", (_req, res) => {
      res.json({ ok: true });
    });
    app.use("/admin", admin);

    await request(app).get("/admin/users/7").expect(200);
    const [event] = await requestEvents(store, 1);
    expect({ action: event!.action, route: event!.content.route }).toEqual({ action: "GET (unknown route)", route: "(unknown route)" });
  });

  it("without a pass-on route", async () => {
    const app = express();
    app.use(auditEvents({ requestEvents: true }));
    const admin = express();
    admin.get("/users/:id", (_req, res) => {
      res.json({ ok: true });
    });
    app.use("/admin", admin);
    await request(app).get("/admin/users/7").expect(200);
    const [event] = await requestEvents(store, 1);
    expect({ action: event!.action, route: event!.content.route }).toEqual({ action: "GET (unknown route)", route: "(unknown route)" });
  });

  it("when the sub-application has its own auditEvents({ requestEvents }) (its routes were recorded with no mount while req.baseUrl is /admin)", async () => {
    const app = express();
    const admin = express();
    admin.use(auditEvents({ requestEvents: true }));
    admin.get("/users/:id", (_req, res) => {
      res.json({ ok: true });
    });
    app.use("/admin", admin);
    await request(app).get("/admin/users/7").expect(200);
    await request(app).get("/admin/users/8").expect(200);
    const events = await requestEvents(store, 2);
    expect(events.map((e) => e.content.route)).toEqual(["(unknown route)", "(unknown route)"]);
  });
});

describe.each(expressVersions)("the first request's template on %s when auditEvents() sits in a mounted router", (_name, express) => {
  let store: MemoryStore;
  beforeEach(() => {
    store = memoryStore();
    configureAudit({ store });
  });

  it("requestEvents only in the router: the full template from the first request", async () => {
    const app = express();
    const api = express.Router({ mergeParams: true });
    api.use(auditEvents({ requestEvents: true }));
    api.get("/users/:id", (_req, res) => {
      res.json({ ok: true });
    });
    app.use("/api/:version", api);

    await request(app).get("/api/v1/users/7").expect(200);
    await request(app).get("/api/v1/users/8").expect(200);
    const events = await requestEvents(store, 2);
    expect(events.map((e) => e.content.route)).toEqual(["/api/:version/users/:id", "/api/:version/users/:id"]);
  });

  it("a plain auditEvents() at the app's root plus requestEvents in the router (the regression of the lazy recording)", async () => {
    const app = express();
    app.use(auditEvents());
    const api = express.Router({ mergeParams: true });
    api.use(auditEvents({ requestEvents: true }));
    api.get("/users/:id", (_req, res) => {
      res.json({ ok: true });
    });
    app.use("/api/:version", api);

    await request(app).get("/api/v1/users/7").expect(200);
    const events = await requestEvents(store, 1);
    expect(events.map((e) => e.content.route)).toEqual(["/api/:version/users/:id"]);
  });

  it("one middleware registered in two routers: the first request cannot tell which mounts it came through and says (unknown route), later ones the full template", async () => {
    const app = express();
    const audit = auditEvents({ requestEvents: true });
    const a = express.Router();
    const b = express.Router();
    a.use(audit);
    b.use(audit);
    a.get("/users/:id", (_req, res) => {
      res.json({ ok: true });
    });
    app.use("/a/:tenant", a);
    app.use("/b", b);

    await request(app).get("/a/t1/users/7").expect(200);
    await request(app).get("/a/t1/users/8").expect(200);
    const events = await requestEvents(store, 2);
    expect(events.map((e) => e.content.route)).toEqual(["(unknown route)", "/a/:tenant/users/:id"]);
  });
});

describe.each(expressVersions)("a sub-application reached through a function of the app on %s (not mounted: no `parent`)", (_name, express) => {
  it.each([
    ["the app's", false],
    ["the app's and its own", true],
  ])("names its routes (unknown route), never the template without its mount path, with %s auditEvents()", async (_which, own) => {
    const store = memoryStore();
    configureAudit({ store });
    const app = express();
    app.use(auditEvents({ requestEvents: true }));
    const v1 = express();
    // Its own middleware observes it as an app of its own (`req.app` is v1 there).
    if (own) v1.use(auditEvents());
    v1.get("/users/:id", (_req, res) => {
      res.json({ ok: true });
    });
    app.use("/v1", (req, res, next) => v1(req, res, next));
    await request(app).get("/v1/users/7").expect(200);
    await request(app).get("/v1/users/8").expect(200);
    const events = await requestEvents(store, 2);
    expect(events.map((e) => e.content.route)).toEqual([UNKNOWN_ROUTE, UNKNOWN_ROUTE]);
  });
});

/** One router of a random nesting: its mount path's segments (`null`: a parameter) and whether it merges its parent's params. */
const levelArb = fc.record({
  segments: fc.array(fc.option(fc.constantFrom("api", "users", "orders", "v2"), { nil: null, freq: 2 }), { minLength: 1, maxLength: 2 }),
  mergeParams: fc.boolean(),
});

const setupArb = fc
  .record({
    levels: fc.array(levelArb, { minLength: 0, maxLength: 3 }),
    routePath: fc.constantFrom("/items/:itemId", "/", "/list"),
    passOn: fc.boolean(),
    eventsAt: fc.nat(3),
    plainAt: fc.option(fc.nat(3), { nil: undefined }),
    // How the middleware are registered: as they are, or (as NestJS does) through a
    // function of the app's own, on every path or on a catch-all path.
    wrap: fc.constantFrom("none", "function", "catch-all path"),
  })
  .map((s) => ({
    ...s,
    eventsAt: s.eventsAt % (s.levels.length + 1),
    plainAt: s.plainAt === undefined ? undefined : s.plainAt % (s.levels.length + 1),
  }));

describe.each(expressVersions)("property: the recorded template on %s is the app's full template, from the first request", (_name, express) => {
  it("for random router nestings, mount params, mergeParams, middleware placement and wrapping", async () => {
    await fc.assert(
      fc.asyncProperty(setupArb, async ({ levels, routePath, passOn, eventsAt, plainAt, wrap }) => {
        const store = memoryStore();
        configureAudit({ store });
        const app = express();
        if (passOn) app.all(passOnPath(express, ""), (_req, _res, next) => next());
        let param = 0;
        const mounts = levels.map((level) => level.segments.map((s) => (s === null ? `/:p${param++}` : `/${s}`)).join(""));
        const routers = [app, ...levels.map((level) => express.Router({ mergeParams: level.mergeParams }))];
        const use = (router: (typeof routers)[number], middleware: ReturnType<typeof auditEvents>) => {
          if (wrap === "none") return router.use(middleware);
          const wrapper: typeof middleware = (req, res, next) => middleware(req, res, next);
          // NestJS's catch-all: every path, "/" included.
          return wrap === "function" ? router.use(wrapper) : router.use(express === express5 ? "/{*path}" : "*", wrapper);
        };
        routers.forEach((router, depth) => {
          // Both middleware may sit in the same router: the plain one first.
          if (plainAt === depth) use(router, auditEvents());
          if (eventsAt === depth) use(router, auditEvents({ requestEvents: true }));
        });
        routers[routers.length - 1]!.get(routePath, (_req, res) => {
          res.json({ ok: true });
        });
        // Innermost first, so that each router is complete when mounted.
        for (let depth = routers.length - 1; depth > 0; depth--) routers[depth - 1]!.use(mounts[depth - 1]!, routers[depth]!);

        const base = mounts.join("");
        const expected = base === "" ? routePath : routePath === "/" ? base : base + routePath;
        const path = expected.replace(/:\w+/g, "x7");
        await request(app).get(path).expect(200);
        await request(app).get(path).expect(200);
        const events = await requestEvents(store, 2);
        const [first, second] = events.map((e) => e.content.route);
        expect(second).toBe(expected);
        // A wrapped middleware cannot be placed in the app: on the first request a route
        // of the app's own router is still named (it runs at the root), one in a mounted
        // router is unknown, never partial.
        if (wrap === "none" || levels.length === 0) expect(first).toBe(expected);
        else expect(first).toBe(UNKNOWN_ROUTE);
      }),
      { numRuns: 60 },
    );
  });
});
