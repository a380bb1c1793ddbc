// A client that leaves mid-download of an answer larger than the socket buffers resets
// the connection; Node still emits `finish` on the response (the pending writes are
// dropped, not failed to it). The event must say the client did not get the whole
// answer (`aborted`, with the status its head was sent with), and a client that read
// the whole answer must not be recorded as aborted.
import http from "node:http";
import net from "node:net";
import type ExpressType from "express";
import type KoaType from "koa";
import type FastifyType from "fastify";

import { auditEvents, configureAudit, fastifyAuditEvents, koaAuditEvents, memoryStore, type MemoryStore } from "../../src";
import { eventsSettled, listeningServer, portOf, requestEventOf } from "../support/listening-server";

/* eslint-disable @typescript-eslint/no-require-imports */
const express4 = require("express4") as typeof ExpressType;
const express5 = require("express") as typeof ExpressType;
const Koa2 = require("koa2") as typeof KoaType;
const Koa3 = require("koa") as typeof KoaType;
const fastify4 = require("fastify4") as typeof FastifyType;
const fastify5 = require("fastify") as typeof FastifyType;

/** Far more than the sockets' buffers hold: most of it is still to write when the client leaves. */
const BIG = Buffer.alloc(16 * 1024 * 1024, 97);

/** Each framework's app: the audit middleware, then `GET /export` answering BIG with 200. */
const apps: [string, () => Promise<http.Server>][] = [
  ...([["Express 4", express4], ["Express 5", express5]] as const).map(([name, express]): [string, () => Promise<http.Server>] => [
    name,
    async () => {
      const app = express();
      app.use(auditEvents({ requestEvents: true }));
      app.get("/export", (_req, res) => void res.status(200).end(BIG));
      return http.createServer(app as unknown as http.RequestListener);
    },
  ]),
  ...([["Koa 2", Koa2], ["Koa 3", Koa3]] as const).map(([name, Koa]): [string, () => Promise<http.Server>] => [
    name,
    async () => {
      const app = new Koa();
      app.use(koaAuditEvents({ requestEvents: true }));
      app.use(async (ctx) => {
        ctx.body = BIG;
      });
      return http.createServer(app.callback());
    },
  ]),
  ...([["Fastify 4", fastify4], ["Fastify 5", fastify5]] as const).map(([name, fastify]): [string, () => Promise<http.Server>] => [
    name,
    async () => {
      const app = fastify();
      await app.register(fastifyAuditEvents, { requestEvents: true });
      app.get("/export", async (_req, reply) => reply.code(200).send(BIG));
      await app.ready();
      return app.server;
    },
  ]),
];

/** GETs /export on a connection of its own; leaves (destroys it) after `leaveAfter` bytes, if given; resolves with the bytes read. */
function download(port: number, requestId: string, leaveAfter?: number): Promise<number> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    let read = 0;
    socket.on("data", (data: Buffer) => {
      read += data.length;
      if (leaveAfter !== undefined && read > leaveAfter) socket.destroy();
    });
    socket.on("error", () => undefined);
    socket.on("close", () => resolve(read));
    socket.write(`GET /export HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nX-Request-Id: ${requestId}\r\n\r\n`);
  });
}

describe.each(apps)("on %s, a large answer", (name, create) => {
  const server = listeningServer(create);
  let store: MemoryStore;
  beforeEach(() => {
    store = memoryStore();
    configureAudit({ store });
  });
  afterEach(() => configureAudit({}));

  it("whose client left mid-download is recorded as aborted, with the status sent", async () => {
    const id = `left-${name}`.replace(/\W+/g, "-");
    const read = await download(portOf(server()), id, 1024 * 1024);
    expect(read).toBeLessThan(BIG.length);
    await eventsSettled(store, 1);
    const event = requestEventOf(store, id);
    expect(event).toBeDefined();
    expect(event!.content).toMatchObject({ status: 200, aborted: true });
    expect(event!.outcome).toBe("failure");
  });

  it("read whole is recorded as the 200 the client got, not aborted", async () => {
    const id = `whole-${name}`.replace(/\W+/g, "-");
    const read = await download(portOf(server()), id);
    expect(read).toBeGreaterThan(BIG.length);
    await eventsSettled(store, 1);
    const event = requestEventOf(store, id);
    expect(event).toBeDefined();
    expect(event!.content).toMatchObject({ status: 200 });
    expect(event!.content).not.toHaveProperty("aborted");
    expect(event!.outcome).toBe("success");
  });
});
