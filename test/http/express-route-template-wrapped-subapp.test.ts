// An app called from a function of another app (`outer.use("/v1", (req, res, next) => inner(req, res, next))`)
// has no `parent`: where it sits is not known. Its audit middleware, registered below a
// path inside it (`inner.use("/api", ...)`, or in a router mounted on `/api`), must not
// name its routes without the outer mount path (`/api/orders/:id` for `/v1/api/orders/7`),
// on the app's first request or any later one: `(unknown route)` is what can be said.
import type ExpressType from "express";
import request from "supertest";

import { auditEvents, configureAudit, memoryStore, type MemoryStore } from "../../src";
import { eventsSettled } from "../support/listening-server";

/* eslint-disable @typescript-eslint/no-require-imports */
const express4 = require("express4") as typeof ExpressType;
const express5 = require("express") as typeof ExpressType;

type Build = (express: typeof ExpressType) => ExpressType.Express;

/** Inner apps whose real route, called from `outer` at `/v1`, is `/v1/api/orders/:id`. */
const inners: [string, Build][] = [
  [
    "the middleware on /api of the inner app",
    (express) => {
      const inner = express();
      inner.use("/api", auditEvents({ requestEvents: true }));
      inner.get("/api/orders/:id", (_req, res) => void res.send("ok"));
      return inner;
    },
  ],
  [
    "the middleware in a router the inner app mounts on /api",
    (express) => {
      const inner = express();
      const api = express.Router();
      api.use(auditEvents({ requestEvents: true }));
      api.get("/orders/:id", (_req, res) => void res.send("ok"));
      inner.use("/api", api);
      return inner;
    },
  ],
];

describe.each([
  ["Express 4", express4],
  ["Express 5", express5],
] as const)("on %s, an app called from a function of another app at /v1", (_name, express) => {
  let store: MemoryStore;
  beforeEach(() => {
    store = memoryStore();
    configureAudit({ store });
  });
  afterEach(() => configureAudit({}));

  it.each(inners)("never names its routes without /v1: %s", async (_what, build) => {
    const inner = build(express);
    const outer = express();
    outer.use("/v1", (req, res, next) => inner(req as never, res as never, next));
    expect((await request(outer).get("/v1/api/orders/7")).status).toBe(200);
    expect((await request(outer).get("/v1/api/orders/8")).status).toBe(200);
    await eventsSettled(store, 2);
    const actions = store.list().map((e) => e.action);
    expect(actions).toHaveLength(2);
    for (const action of actions) expect(["GET /v1/api/orders/:id", "GET (unknown route)"]).toContain(action);
  });

  it("still names the route of an app entered at its root, middleware on /api, from its first request", async () => {
    const app = express();
    const api = express.Router();
    api.use(auditEvents({ requestEvents: true }));
    api.get("/orders/:id", (_req, res) => void res.send("ok"));
    app.use("/api", api);
    expect((await request(app).get("/api/orders/7")).status).toBe(200);
    expect((await request(app).get("/API/orders/8")).status).toBe(200);
    await eventsSettled(store, 2);
    expect(store.list().map((e) => e.action)).toEqual(["GET /api/orders/:id", "GET /api/orders/:id"]);
  });
});
