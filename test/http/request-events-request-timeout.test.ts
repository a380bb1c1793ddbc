// A request whose body has not arrived whole within the server's `requestTimeout` is cut
// by the server, which writes 408 on the socket itself (Node's default `clientError`
// handling, or Fastify's own): the response object only sees `close`, as when a client
// goes away. Its event must say what the client was told (408, `timedOut`), not 499.
import http from "node:http";
import net from "node:net";
import type ExpressType from "express";
import type KoaType from "koa";
import type FastifyType from "fastify";

import { auditEvents, configureAudit, fastifyAuditEvents, koaAuditEvents, memoryStore, REQUEST_TIMEOUT, type MemoryStore } from "../../src";
import { eventsSettled, listeningServer, portOf, requestEventOf } from "../support/listening-server";

/* eslint-disable @typescript-eslint/no-require-imports */
const express4 = require("express4") as typeof ExpressType;
const express5 = require("express") as typeof ExpressType;
const Koa2 = require("koa2") as typeof KoaType;
const Koa3 = require("koa") as typeof KoaType;
const fastify4 = require("fastify4") as typeof FastifyType;
const fastify5 = require("fastify") as typeof FastifyType;

/** The server's `requestTimeout` (ms), and how often Node looks for requests past it. */
const SERVER_OPTIONS: http.ServerOptions = { requestTimeout: 300, connectionsCheckingInterval: 25 };

type Listener = http.RequestListener;

/** Each framework's app: the audit middleware first, then a body parser, then `POST /orders/:id`. */
const apps: [string, () => Promise<http.Server>][] = [
  ...([["Express 4", express4], ["Express 5", express5]] as const).map(([name, express]): [string, () => Promise<http.Server>] => [
    name,
    async () => {
      const app = express();
      app.use(auditEvents({ requestEvents: true }));
      app.use(express.json());
      app.post("/orders/:id", (req, res) => void res.status(201).json(req.body));
      return http.createServer(SERVER_OPTIONS, app as unknown as Listener);
    },
  ]),
  ...([["Koa 2", Koa2], ["Koa 3", Koa3]] as const).map(([name, Koa]): [string, () => Promise<http.Server>] => [
    name,
    async () => {
      const app = new Koa();
      app.use(koaAuditEvents({ requestEvents: true }));
      app.use(async (ctx) => {
        const chunks: Buffer[] = [];
        for await (const chunk of ctx.req) chunks.push(chunk as Buffer);
        ctx.status = 201;
        ctx.body = Buffer.concat(chunks).toString("utf8");
      });
      return http.createServer(SERVER_OPTIONS, app.callback());
    },
  ]),
  ...([["Fastify 4", fastify4], ["Fastify 5", fastify5]] as const).map(([name, fastify]): [string, () => Promise<http.Server>] => [
    name,
    async () => {
      let server: http.Server | undefined;
      const app = fastify({
        serverFactory: (handler) => (server = http.createServer(SERVER_OPTIONS, handler)),
      });
      await app.register(fastifyAuditEvents, { requestEvents: true });
      app.post("/orders/:id", async (req, reply) => reply.code(201).send(req.body));
      await app.ready();
      return server!;
    },
  ]),
];

/**
 * Sends the head of `POST /orders/7` and `sent` of its `declared` body bytes, then
 * nothing more; resolves with what the server wrote before it closed the connection.
 */
function partialPost(port: number, requestId: string, declared: number, sent: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    let answer = "";
    socket.setEncoding("latin1");
    socket.on("data", (data: string) => (answer += data));
    socket.on("error", reject);
    socket.on("close", () => resolve(answer));
    socket.write(
      `POST /orders/7 HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${declared}\r\nX-Request-Id: ${requestId}\r\n\r\n${sent}`,
    );
  });
}

describe.each(apps)("on %s, a request the server cut for its requestTimeout", (name, create) => {
  const server = listeningServer(create);
  let store: MemoryStore;
  beforeEach(() => {
    store = memoryStore();
    configureAudit({ store });
  });
  afterEach(() => configureAudit({}));

  it.each([
    ["no body byte", ""],
    ["part of its body", '{"total":'],
  ])("is recorded with the 408 the client got, as timed out, not as a client that left: %s", async (_what, sent) => {
    const id = `timeout-${name}-${sent.length}`.replace(/\W+/g, "-");
    const answer = await partialPost(portOf(server()), id, 100, sent);
    expect(answer).toMatch(new RegExp(`^HTTP/1\\.1 ${REQUEST_TIMEOUT} `));
    await eventsSettled(store, 1);
    const event = requestEventOf(store, id);
    expect(event).toBeDefined();
    expect(event!.content).toMatchObject({ status: REQUEST_TIMEOUT, timedOut: true });
    expect(event!.content).not.toHaveProperty("aborted");
    expect({ outcome: event!.outcome, severity: event!.severity }).toEqual({ outcome: "failure", severity: "warning" });
    expect(store.list()).toHaveLength(1);
  });

  it("while a client that leaves mid-body is still recorded as aborted (499)", async () => {
    const id = `left-${name}`.replace(/\W+/g, "-");
    await new Promise<void>((resolve, reject) => {
      const socket = net.connect(portOf(server()), "127.0.0.1", () => {
        socket.write(`POST /orders/7 HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\nX-Request-Id: ${id}\r\n\r\n{"a":`);
        // Gone well before the server's requestTimeout.
        setTimeout(() => socket.destroy(), 50);
      });
      socket.on("error", reject);
      socket.on("close", () => resolve());
    });
    await eventsSettled(store, 1);
    const event = requestEventOf(store, id);
    expect(event).toBeDefined();
    expect(event!.content).toMatchObject({ status: 499, aborted: true });
    expect(event!.content).not.toHaveProperty("timedOut");
  });
});
