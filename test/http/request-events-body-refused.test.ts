import http from "node:http";
import type ExpressType from "express";

import { auditEvents, configureAudit, memoryStore, type MemoryStore } from "../../src";
import { listeningServer, statusOf, eventsSettled } from "../support/listening-server";

/* eslint-disable @typescript-eslint/no-require-imports */
const express4 = require("express4") as typeof ExpressType;
const express5 = require("express") as typeof ExpressType;

describe.each([
  ["Express 4", express4],
  ["Express 5", express5],
] as const)("requestEvents on %s, registered before express.json() as the README says", (_name, express) => {
  let store: MemoryStore;
  const server = listeningServer(() => {
    const app = express();
    app.use(auditEvents({ requestEvents: { capturePayloads: true } }));
    app.use(express.json());
    app.post("/orders/:id", (req, res) => void res.status(201).json({ echoed: req.body }));
    return http.createServer(app);
  });
  beforeEach(() => {
    store = memoryStore();
    configureAudit({ store });
  });

  const post = (id: string, body: string) => statusOf(server(), { path: "/orders/1", method: "POST", headers: { "content-type": "application/json", "x-request-id": id }, body });

  it("records a body the parser refuses, with the status it answered, and a body it takes, masked", async () => {
    const statuses = [await post("malformed", "{nope"), await post("too-large", JSON.stringify({ filler: "x".repeat(200_000) })), await post("taken", JSON.stringify({ password: "hunter2", n: 1 }))];
    expect(statuses).toEqual([400, 413, 201]);
    await eventsSettled(store, 3);
    const byId = Object.fromEntries(store.list().map((e) => [e.requestId, [e.action, e.content.status]]));
    expect(byId).toEqual({ malformed: ["POST (unmatched)", 400], "too-large": ["POST (unmatched)", 413], taken: ["POST /orders/:id", 201] });
    const taken = store.list().find((e) => e.requestId === "taken")!;
    expect(taken.content.request).toEqual({ password: expect.not.stringContaining("hunter2"), n: 1 });
  });
});
