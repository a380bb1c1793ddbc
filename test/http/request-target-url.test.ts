// The event's `url` of a request is the URL the client asked for, with its userinfo masked
// wherever it sits, on every framework. Requests are written to the socket as clients
// (and clients talking to a proxy) send them, so that no client library normalises them:
// an origin-form target holding `user:secret@host` in its path, query or fragment
// (`GET //user:secret@evil.com/g`), and an absolute-form target (`GET http://u:pw@x/g`,
// RFC 9112 §3.2.2), whose authority wins over the Host header. Events go through the real
// Prisma client into PostgreSQL and are read back whole.

import http from "node:http";
import net from "node:net";
import type { AddressInfo } from "node:net";
import type ExpressType from "express";
import type FastifyType from "fastify";
import fc from "fast-check";
import type KoaType from "koa";

import { auditEvents, AuditContext, configureAudit, fastifyAuditEvents, koaAuditEvents, MASK, memoryStore, prismaStore, type MemoryStore } from "../../src";
import { openDatabase, type TestDatabase } from "../support/databases";

/* eslint-disable @typescript-eslint/no-require-imports */
const express4 = require("express4") as typeof ExpressType;
const express5 = require("express") as typeof ExpressType;
const Koa2 = require("koa2") as typeof KoaType;
const Koa3 = require("koa") as typeof KoaType;
const fastify4 = require("fastify4") as typeof FastifyType;
const fastify5 = require("fastify") as typeof FastifyType;

/** Every handler writes one event besides the request event. */
async function audit(context: AuditContext): Promise<void> {
  await context.createEvent({ contentType: "Visit", objectId: "1" }, { note: "kept" });
}

interface App {
  name: string;
  start(options?: { skipPaths?: string[] }): http.Server;
}

function expressApp(name: string, express: typeof ExpressType): App {
  return {
    name,
    start(options = {}) {
      const app = express();
      app.use(auditEvents({ requestEvents: { skipPaths: options.skipPaths ?? [] } }));
      app.use(async (req, res) => {
        await audit(req.auditContext);
        res.send("ok");
      });
      return http.createServer(app);
    },
  };
}

function koaApp(name: string, Koa: typeof KoaType): App {
  return {
    name,
    start(options = {}) {
      const app = new Koa();
      app.use(koaAuditEvents({ requestEvents: { skipPaths: options.skipPaths ?? [] } }));
      app.use(async (ctx) => {
        await audit(ctx.state.auditContext as AuditContext);
        ctx.body = "ok";
      });
      return http.createServer(app.callback());
    },
  };
}

function fastifyApp(name: string, Fastify: typeof FastifyType): App {
  return {
    name,
    start(options = {}) {
      const app = Fastify();
      app.register(fastifyAuditEvents, { requestEvents: { skipPaths: options.skipPaths ?? [] } });
      app.all("/*", async (req) => {
        await audit(req.auditContext);
        return "ok";
      });
      const ready = app.ready();
      return http.createServer((req, res) => void ready.then(() => app.routing(req, res)));
    },
  };
}

const apps: App[] = [
  expressApp("Express 4", express4),
  expressApp("Express 5", express5),
  koaApp("Koa 2", Koa2),
  koaApp("Koa 3", Koa3),
  fastifyApp("Fastify 4", fastify4),
  fastifyApp("Fastify 5", fastify5),
];

/** Sends `target` as written, with `host`, and returns the response's status line. */
function send(port: number, target: string, host = "app.example", method = "GET"): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => socket.write(`${method} ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`));
    let out = "";
    socket.setEncoding("latin1");
    socket.on("data", (chunk: string) => (out += chunk));
    socket.on("error", reject);
    socket.on("close", () => resolve(out.split("\r\n")[0] ?? ""));
  });
}

async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

const close = (server: http.Server) => new Promise<void>((resolve) => server.close(() => resolve()));

/** What introduces an authority in a target's path, query or fragment. */
const INTRODUCERS = ["//", "/\\", "\\\\", "https://", "HTTP://", "redis://", ""];
const HOSTS = ["evil.com", "10.0.0.5", "[2001:db8::7]:8443", "localhost", "db:5432"];
const USERINFOS = [(s: string) => `user:${s}`, (s: string) => `u:p@${s}`, (s: string) => `me@mail.example:${s}`];
const ENCODINGS: readonly ((authority: string) => string)[] = [
  (a) => a,
  (a) => a.replace(/@(?=[^@]*$)/, "%40"),
  (a) => a.replace(/:/, "%3A"),
  (a) => encodeURIComponent(a),
  (a) => encodeURIComponent(encodeURIComponent(a)),
];
/** Where in an origin-form target the authority sits. */
const PLACES: readonly ((authority: string) => string)[] = [
  (a) => (a.startsWith("/") || a.startsWith("\\") ? a : `/${a}`) + "/g",
  (a) => `/redirect/${a}/g`,
  (a) => `/a?next=${a}&x=1`,
  (a) => `/a?${a}`,
  (a) => `/a#${a}`,
];

let counter = 0;
/** A unique secret that reads as no name the masking rules know. */
const newSecret = () => `Qz${(counter++).toString(36)}v${Math.random().toString(36).slice(2, 10)}`;

describe("the url of a request holding userinfo in its target, through PostgreSQL", () => {
  let db: TestDatabase<"postgresql">;

  beforeAll(async () => {
    db = await openDatabase("postgresql", { name: "request_target_url" });
    configureAudit({ store: prismaStore(db.prisma), includeQueryParams: true });
  });

  afterAll(async () => {
    configureAudit({});
    await db.close();
  });

  describe.each(apps)("on $name", (app) => {
    let server: http.Server;
    let port: number;

    beforeAll(async () => {
      server = app.start();
      port = await listen(server);
    });

    afterAll(() => close(server));

    beforeEach(() => db.reset());

    /** Every stored row, every column, as one text, once the request's events are written. */
    async function stored(expected: number): Promise<{ text: string; urls: (string | null)[] }> {
      // The request event is written after the response: on a loaded machine, seconds later.
      for (const deadline = Date.now() + 20_000; Date.now() < deadline; ) {
        const rows = await db.prisma.auditEvent.findMany({ orderBy: { id: "asc" } });
        if (rows.length >= expected) return { text: JSON.stringify(rows), urls: rows.map((r) => r.url) };
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      throw new Error(`fewer than ${expected} events were stored`);
    }

    it("stores //user:secret@host in the path masked, as free text is", async () => {
      expect(await send(port, "//user:SLASHSECRET@evil.com/g")).toMatch(/^HTTP\/1\.1 200/);
      const { text, urls } = await stored(2);
      expect(text).not.toContain("SLASHSECRET");
      expect(urls).toEqual([`http://app.example//${MASK}@evil.com/g`, `http://app.example//${MASK}@evil.com/g`]);
    });

    it("stores no secret of userinfo anywhere in the target, whatever introduces it, its encoding and host", async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...INTRODUCERS),
          fc.constantFrom(...USERINFOS),
          fc.constantFrom(...HOSTS),
          fc.constantFrom(...ENCODINGS),
          fc.constantFrom(...PLACES),
          async (introducer, userinfo, host, encode, place) => {
            await db.reset();
            const secret = newSecret();
            const target = place(encode(`${introducer}${userinfo(secret)}@${host}`));
            const status = await send(port, target);
            // A target the server's parser refuses (400) reaches no app and stores nothing.
            if (!status.startsWith("HTTP/1.1 200")) return;
            const { text } = await stored(2);
            expect(text).toContain(MASK);
            expect(text).not.toContain(secret);
          },
        ),
        { numRuns: 25 },
      );
    });
  });
});

describe("the url of an absolute-form request target (RFC 9112 §3.2.2)", () => {
  let store: MemoryStore;

  beforeEach(() => {
    store = memoryStore();
    configureAudit({ store, includeQueryParams: true });
  });

  afterAll(() => configureAudit({}));

  /** The events of one request: `expected` of them, waited for (the request event follows the response), or what came within 20 s. */
  async function urlsOf(app: App, target: string, host: string, expected: number, options?: { skipPaths?: string[] }, method = "GET"): Promise<{ status: string; urls: (string | null | undefined)[]; contentTypes: string[] }> {
    const server = app.start(options);
    try {
      const status = await send(await listen(server), target, host, method);
      for (const deadline = Date.now() + 20_000; store.list().length < expected && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 10));
      // An event that must not come (a skipped request's) is given time to show up wrongly.
      if (expected === 1) await new Promise((resolve) => setTimeout(resolve, 300));
      const events = store.list();
      return { status, urls: events.map((e) => e.url), contentTypes: events.map((e) => e.contentType) };
    } finally {
      await close(server);
    }
  }

  describe.each(apps)("on $name", (app) => {
    it.each([
      ["userinfo and a token", "http://user:ABSSECRET@x/g?token=ABSTK", `http://${MASK}@x/g?token=${MASK}`],
      ["another host and port than the Host header's", "http://target.example:8080/orders/1?x=1", "http://target.example:8080/orders/1?x=1"],
      ["https, in upper case", "HTTPS://target.example/a", "HTTPS://target.example/a"],
      ["no path", "http://target.example?x=1", "http://target.example?x=1"],
      ["an IPv6 host", "http://[2001:db8::1]:8080/a", "http://[2001:db8::1]:8080/a"],
    ])("stores the target itself, masked, with %s", async (_kind, target, expected) => {
      const { status, urls } = await urlsOf(app, target, "host-header.example", 2);
      expect(status).toMatch(/^HTTP\/1\.1 200/);
      expect(urls).toEqual([expected, expected]);
    });

    it("stores OPTIONS * (asterisk form) as the server's own URL, with an empty path, not the host with * glued on", async () => {
      const { urls } = await urlsOf(app, "*", "host-header.example", 2, undefined, "OPTIONS");
      expect(urls.length).toBeGreaterThan(0);
      for (const url of urls) expect(url).toBe("http://host-header.example");
    });

    it("skips a request event by the absolute target's path, as by an origin-form target's", async () => {
      const { status, contentTypes } = await urlsOf(app, "http://target.example/health?probe=1", "x", 1, { skipPaths: ["/health"] });
      expect(status).toMatch(/^HTTP\/1\.1 200/);
      expect(contentTypes).toEqual(["Visit"]);
    });
  });
});
