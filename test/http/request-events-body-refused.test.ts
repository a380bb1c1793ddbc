import http from "node:http";
import type { AddressInfo } from "node:net";
import type ExpressType from "express";

import { auditEvents, configureAudit, memoryStore, type MemoryStore } from "../../src";

/* eslint-disable @typescript-eslint/no-require-imports */
const express4 = require("express4") as typeof ExpressType;
const express5 = require("express") as typeof ExpressType;

describe.each([
  ["Express 4", express4],
  ["Express 5", express5],
] as const)("requestEvents on %s, registered before express.json() as the README says", (_name, express) => {
  let store: MemoryStore;
  let server: http.Server;

  beforeAll(async () => {
    const app = express();
    app.use(auditEvents({ requestEvents: { capturePayloads: true } }));
    app.use(express.json());
    app.post("/orders/:id", (req, res) => void res.status(201).json({ echoed: req.body }));
    server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  beforeEach(() => {
    store = memoryStore();
    configureAudit({ store });
  });

  function post(id: string, body: string): Promise<number | undefined> {
    return new Promise((resolve, reject) => {
      const port = (server.address() as AddressInfo).port;
      const req = http.request({ host: "127.0.0.1", port, path: "/orders/1", method: "POST", agent: false, headers: { "content-type": "application/json", "x-request-id": id } }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode));
      });
      req.on("error", reject);
      req.end(body);
    });
  }

  it("records a body the parser refuses, with the status it answered, and a body it takes, masked", async () => {
    const statuses = [await post("malformed", "{nope"), await post("too-large", JSON.stringify({ filler: "x".repeat(200_000) })), await post("taken", JSON.stringify({ password: "hunter2", n: 1 }))];
    expect(statuses).toEqual([400, 413, 201]);
    const deadline = Date.now() + 3000;
    while (store.list().length < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    const byId = Object.fromEntries(store.list().map((e) => [e.requestId, [e.action, e.content.status]]));
    expect(byId).toEqual({ malformed: ["POST (unmatched)", 400], "too-large": ["POST (unmatched)", 413], taken: ["POST /orders/:id", 201] });
    const taken = store.list().find((e) => e.requestId === "taken")!;
    expect(taken.content.request).toEqual({ password: expect.not.stringContaining("hunter2"), n: 1 });
  });
});
