import request from "supertest";

import { auditAccess, auditEvents, configureAudit, memoryStore, type AuditEventRecord, type MemoryStore } from "../../src";

/* eslint-disable @typescript-eslint/no-require-imports */
type ExpressModule = typeof import("express");
const expressVersions: [string, ExpressModule][] = [
  ["Express 4", require("express4") as ExpressModule],
  ["Express 5", require("express") as ExpressModule],
];

async function refusals(store: MemoryStore): Promise<AuditEventRecord[]> {
  const deadline = Date.now() + 3000;
  while (store.list().length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
  return store.list();
}

describe.each(expressVersions)("an access refusal on %s names the route's template", (_name, express) => {
  let store: MemoryStore;
  beforeEach(() => {
    store = memoryStore();
    configureAudit({ store });
  });

  it("on the app's first request, for a route of routers mounted with parameters, without requestEvents", async () => {
    const app = express();
    app.use(auditEvents());
    const outer = express.Router();
    const inner = express.Router({ mergeParams: true });
    inner.get("/orders/:id", auditAccess({ request: () => ({ allow: false, reason: "Not your order." }) }), (_req, res) => {
      res.json({ handled: true });
    });
    outer.use("/users/:userId", inner);
    app.use("/v1", outer);

    const response = await request(app).get("/v1/users/7/orders/42").expect(403);
    expect(response.body).toEqual({ error: "Not your order." });
    const events = await refusals(store);
    expect(events).toHaveLength(1);
    expect(events[0]!.content).toMatchObject({ reason: "Not your order.", route: "/v1/users/:userId/orders/:id" });
  });

  it("on the app's first request, for a route of the app itself, and after a route that passed the request on", async () => {
    const app = express();
    app.use(auditEvents());
    app.get("/orders/:id", (_req, _res, next) => next());
    app.get("/orders/:orderId", auditAccess({ request: () => ({ allow: false, reason: "No." }) }), (_req, res) => {
      res.json({ handled: true });
    });

    await request(app).get("/orders/42").expect(403);
    const events = await refusals(store);
    expect(events.map((e) => e.content.route)).toEqual(["/orders/:orderId"]);
  });
});
