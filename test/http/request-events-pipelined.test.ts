import http from "node:http";
import net from "node:net";
import type { AddressInfo } from "node:net";
import express from "express";

import { auditEvents, CLIENT_CLOSED_REQUEST, configureAudit, memoryStore, type AuditEventRecord, type MemoryStore } from "../../src";
import { frameworks, type RouteApp } from "../support/request-event-apps";

describe.each(frameworks)("requestEvents on $name, for requests pipelined on one connection", (framework) => {
  let store: MemoryStore;
  let app: RouteApp | undefined;

  beforeEach(async () => {
    store = memoryStore();
    configureAudit({ store, logger: { warn: () => undefined, error: (message) => void process.stderr.write(`${message}\n`) } });
    app = await framework.start({ middleware: { requestEvents: true } });
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  /** Opens a connection and writes every request of `paths` on it at once, each with the request id `<id prefix>-<index>`. */
  async function pipeline(prefix: string, paths: string[]): Promise<net.Socket> {
    const socket = net.connect(app!.port, "127.0.0.1");
    socket.on("error", () => undefined);
    await new Promise((resolve) => socket.once("connect", resolve));
    socket.write(paths.map((path, i) => `GET ${path} HTTP/1.1\r\nHost: localhost\r\nx-request-id: ${prefix}-${i}\r\n\r\n`).join(""));
    return socket;
  }

  /** Waits until `count` request events are in, and a little more for any extra one; returns them by request id. */
  async function requestEvents(count: number): Promise<Record<string, AuditEventRecord[]>> {
    const deadline = Date.now() + 3000;
    while (store.list().length < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    await new Promise((resolve) => setTimeout(resolve, 60));
    const byId: Record<string, AuditEventRecord[]> = {};
    for (const event of store.list()) (byId[event.requestId ?? ""] ??= []).push(event);
    return byId;
  }

  it("records each of them once when all are answered", async () => {
    const socket = await pipeline("all", ["/orders/1", "/orders/2", "/fail"]);
    await requestEvents(3);
    // The connection's close, after the answers, adds nothing.
    socket.destroy();
    const byId = await requestEvents(3);
    expect(Object.keys(byId).sort()).toEqual(["all-0", "all-1", "all-2"]);
    for (const [id, status] of [["all-0", 200], ["all-1", 200], ["all-2", 500]] as const) {
      expect(byId[id]).toEqual([expect.objectContaining({ action: `GET ${status === 500 ? "/fail" : "/orders/:id"}` })]);
      expect([byId[id]![0]!.content.status, byId[id]![0]!.content.aborted]).toEqual([status, undefined]);
    }
  });

  it("records a request queued behind an unanswered one as aborted when the client closes the connection, whether its handler answered or not", async () => {
    const socket = await pipeline("queued", ["/hang", "/orders/7", "/hang"]);
    // Time for every handler to run: the second answers into a queue, the third never does.
    await new Promise((resolve) => setTimeout(resolve, 150));
    socket.destroy();
    const byId = await requestEvents(3);
    expect(Object.keys(byId).sort()).toEqual(["queued-0", "queued-1", "queued-2"]);
    const seen = Object.fromEntries(Object.entries(byId).map(([id, events]) => [id, events.map((e) => [e.action, e.outcome, e.content.status, e.content.aborted])]));
    expect(seen).toEqual({
      "queued-0": [["GET /hang", "failure", CLIENT_CLOSED_REQUEST, true]],
      "queued-1": [["GET /orders/:id", "failure", 200, true]],
      "queued-2": [["GET /hang", "failure", CLIENT_CLOSED_REQUEST, true]],
    });
  });
});

describe("requestEvents, for a queued request the middleware first sees after its connection closed", () => {
  it("records it at once, as aborted", async () => {
    const store = memoryStore();
    configureAudit({ store });
    const app = express();
    // A session lookup that outlives the connection, for the second request only.
    app.use((req, _res, next) => void (req.path === "/late" ? req.socket.once("close", () => setImmediate(next)) : next()));
    app.use(auditEvents({ requestEvents: true }));
    app.get("/hang", () => undefined);
    app.get("/late", (_req, res) => void res.json({ ok: true }));
    const server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const socket = net.connect((server.address() as AddressInfo).port, "127.0.0.1");
      socket.on("error", () => undefined);
      await new Promise((resolve) => socket.once("connect", resolve));
      socket.write("GET /hang HTTP/1.1\r\nHost: localhost\r\nx-request-id: first\r\n\r\nGET /late HTTP/1.1\r\nHost: localhost\r\nx-request-id: late\r\n\r\n");
      await new Promise((resolve) => setTimeout(resolve, 100));
      socket.destroy();
      const deadline = Date.now() + 3000;
      while (store.list().length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
      await new Promise((resolve) => setTimeout(resolve, 60));
      const late = store.list().filter((e) => e.requestId === "late");
      expect(late.map((e) => [e.action, e.content.status, e.content.aborted])).toEqual([["GET (unmatched)", CLIENT_CLOSED_REQUEST, true]]);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
