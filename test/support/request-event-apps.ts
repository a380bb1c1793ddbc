import http from "node:http";
import type { AddressInfo } from "node:net";
import type ExpressType from "express";
import type KoaType from "koa";

import type FastifyType from "fastify";
import KoaRouter from "@koa/router";

import {
  auditAccess,
  auditEvents,
  fastifyAuditAccess,
  fastifyAuditEvents,
  koaAuditAccess,
  koaAuditEvents,
  skipRequestEvent,
  type AccessDecision,
  type AuditMiddlewareOptions,
} from "../../src";

/* eslint-disable @typescript-eslint/no-require-imports */
const express4 = require("express4") as typeof ExpressType;
const express5 = require("express") as typeof ExpressType;
const Koa2 = require("koa2") as typeof KoaType;
const Koa3 = require("koa") as typeof KoaType;
const fastify4 = require("fastify4") as typeof FastifyType;
const fastify5 = require("fastify") as typeof FastifyType;

/** A running app and what its routes let a test control. */
export interface RouteApp {
  server: http.Server;
  port: number;
  /** Ends the response of a request to `/stream` that is waiting. */
  close(): Promise<void>;
}

/** How a test app is put together. */
export interface RouteAppOptions {
  middleware?: AuditMiddlewareOptions;
  /** An access hook, on the route `/guarded/:id`. */
  access?: (req: unknown) => AccessDecision | Promise<AccessDecision>;
  /** The access hook's `hookTimeoutMs`. */
  hookTimeoutMs?: number;
  /**
   * Another middleware, before the routes, answers `/guarded/:id` 503 after this many
   * milliseconds if nothing has answered yet (a timeout middleware).
   */
  answerFirstMs?: number;
  /**
   * Express and Koa: a route before all others that matches every path and passes the
   * request on (`app.all("*", next)` on Express 4, `"/{*splat}"` on Express 5, a
   * `@koa/router` route `/{*rest}`). Fastify has no such routes (a route answers).
   */
  passThrough?: boolean;
  /** Mark `/guarded/:id` with `skipRequestEvent()` before its access hook runs. */
  skipBeforeAccess?: boolean;
  /**
   * A middleware registered before the audit middleware (Fastify: an `onRequest` hook
   * added before the plugin) that is done with `/early/<kind>` requests before passing
   * them on (see {@link EARLY_KINDS}); `waiting` hears of each request it holds until its
   * client goes away, by its `x-request-id`.
   */
  earlier?: { waiting(requestId: string): void };
  /**
   * The framework's routing, when not its default: Express's `case sensitive routing`
   * and `strict routing`, @koa/router's `sensitive` and `strict`, Fastify's
   * `caseSensitive` and `ignoreTrailingSlash` (its inverse).
   */
  routing?: { caseSensitive: boolean; strictTrailingSlash: boolean };
}

/**
 * What the earlier middleware (see `RouteAppOptions.earlier`) does with `/early/<kind>`
 * before it calls `next()`:
 * - `answered-at-once`: answers 200 `{"early":true}` and passes the request on at once,
 *   its `finish` still to come (a CORS preflight handler that answers and calls `next()`);
 * - `answered-after-finish`: the same, once the response has emitted `finish` (a
 *   static-file handler or rate limiter that awaits its own work after answering);
 * - `answered-after-close`: the same, once the response has emitted `close` too;
 * - `client-left`: answers nothing and passes the request on once its client has gone
 *   away (an async check, such as a session lookup, outlived the connection);
 * - `client-left-midway`: sends the head and a first chunk, then the same.
 * Fastify runs no later `onRequest` hook (the plugin's included) of an answered request
 * (`reply.sent`). A Fastify hook that sends part of a response hijacks the reply first
 * (else Fastify's own 404 throws on the headers sent): no `client-left-midway` there.
 */
export const EARLY_KINDS = ["answered-at-once", "answered-after-finish", "answered-after-close", "client-left", "client-left-midway"] as const;
export type EarlyKind = (typeof EARLY_KINDS)[number];

/**
 * The earlier middleware as Node-style middleware (Express's `app.use`, NestJS's
 * `app.use` on either platform): does what `/early/<kind>` says, else passes the request on.
 */
export function earlyMiddleware(earlier: NonNullable<RouteAppOptions["earlier"]>) {
  return function earlierMiddleware(req: http.IncomingMessage, res: http.ServerResponse, next: () => void): void {
    if (!actEarly((req.url ?? "/").split("?")[0]!, req, res, earlier, next)) next();
  };
}

/**
 * Does what `kind` says to the raw request and response, then calls `next` (see
 * {@link EARLY_KINDS}); false for a path that is not one of them.
 */
function actEarly(path: string, req: http.IncomingMessage, res: http.ServerResponse, earlier: NonNullable<RouteAppOptions["earlier"]>, next: () => void): boolean {
  const kind = /^\/early\/([a-z-]+)$/.exec(path)?.[1] as EarlyKind | undefined;
  if (kind === undefined || !(EARLY_KINDS as readonly string[]).includes(kind)) return false;
  if (kind.startsWith("answered")) {
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ early: true }));
    if (kind === "answered-at-once") next();
    // Called from the listener itself: after `finish`, `close` is still a tick away.
    else res.once(kind === "answered-after-finish" ? "finish" : "close", () => next());
    return true;
  }
  if (kind === "client-left-midway") res.writeHead(200, { "content-type": "text/plain" }).write("first chunk\n");
  res.once("close", () => next());
  earlier.waiting(String(req.headers["x-request-id"]));
  return true;
}

/** The nested routes every app serves (routers mounted on parameter paths, at depth 2 and 3). */
export const NESTED_ROUTES = ["/users/:userId/notes/:noteId", "/users/:userId/orders/:id", "/orgs/:orgId/teams/:teamId/members/:memberId"] as const;

/**
 * Routes of every test app:
 * - `GET /orders/:id` 200 JSON with a secret; `POST /orders/:id` echoes the body;
 * - `GET /api/items/:itemId` on a router mounted at `/api` (a Fastify prefix);
 * - {@link NESTED_ROUTES}, on routers mounted on parameter paths: on Express
 *   `/users/:userId` holds a `mergeParams` router (`/notes/:noteId`) and one without
 *   (`/orders/:id`), and `/orgs/:orgId` → `/teams/:teamId` → `/members/:memberId`
 *   nests three (the middle one `mergeParams`); on Koa nested `@koa/router` routers and
 *   prefixes; on Fastify prefixed plugins within plugins; each answers its params;
 * - `GET /page`, `/feed.xml`, `/note.txt` answer HTML, XML and plain text holding secrets
 *   ({@link TEXT_SECRETS}); `POST /notes` takes a text, XML or form body (kept as the
 *   string it is, or parsed as a form by Express) and answers 204;
 * - `GET /fail` answers 500 itself; `GET /throw` throws (the app's error handler or Koa
 *   answers 500); `GET /unauthorized` throws an error with status 401;
 * - `GET /health` (a skip path in tests), `GET /quiet` (the app marks it skipped);
 * - `GET /big?bytes=n` a JSON body of about n bytes;
 * - `GET /stream` writes a first chunk, then never ends; `GET /hang` never answers;
 * - `GET /guarded/:id` behind the access hook when one is given;
 * - `GET /early/<kind>` done with by the earlier middleware when one is asked for
 *   ({@link EARLY_KINDS}), then passed on to no route;
 * - anything else 404.
 */
export interface Framework {
  name: string;
  kind: "express" | "koa" | "fastify";
  start(options?: RouteAppOptions): Promise<RouteApp>;
}

function listen(server: http.Server): Promise<RouteApp> {
  const open = new Set<http.ServerResponse>();
  server.on("request", (_req, res: http.ServerResponse) => {
    open.add(res);
    res.on("close", () => open.delete(res));
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () =>
      resolve({
        server,
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((done) => {
            for (const res of open) res.destroy();
            server.closeAllConnections();
            server.close(() => done());
          }),
      }),
    );
  });
}

/** The secrets the text routes answer with, which no event may hold. */
export const TEXT_SECRETS = ["tok-secret-html", "pw-secret-3", "xml-secret-4", "pw-secret-5", "8841-code"] as const;
const TEXT_BODIES = {
  html: '<html><body><p>token: tok-secret-html</p><input name="password" value="pw-secret-3"></body></html>',
  xml: "<feed><apiKey>xml-secret-4</apiKey></feed>",
  text: "password=pw-secret-5 and your code is 8841-code",
};

function bigBody(bytes: number) {
  return { filler: "x".repeat(Math.max(0, bytes - 20)) };
}

class StatusError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** @param catchAll a path matching every path: `*` on Express 4, `/{*splat}` on Express 5. */
function expressFramework(name: string, express: typeof ExpressType, catchAll: string): Framework {
  return {
    name,
    kind: "express",
    start({ middleware, access, skipBeforeAccess, routing, hookTimeoutMs, answerFirstMs, passThrough, earlier }: RouteAppOptions = {}) {
      const app = express();
      if (routing !== undefined) {
        app.set("case sensitive routing", routing.caseSensitive);
        app.set("strict routing", routing.strictTrailingSlash);
      }
      app.use(express.json());
      app.use(express.text({ type: ["text/*", "application/xml"] }));
      app.use(express.urlencoded({ extended: false }));
      if (earlier !== undefined) app.use(earlyMiddleware(earlier));
      app.use(auditEvents(middleware));
      if (passThrough) app.all(catchAll, (_req, _res, next) => next());
      if (answerFirstMs !== undefined) {
        app.use((_req, res, next) => {
          const timer = setTimeout(() => void (res.headersSent || res.status(503).json({ error: "timed out" })), answerFirstMs);
          res.on("close", () => clearTimeout(timer));
          next();
        });
      }
      app.get("/orders/:id", (req, res) => void res.json({ id: req.params.id, token: "tok-secret-1" }));
      app.post("/orders/:id", (req, res) => void res.status(201).json({ echoed: req.body, apiKey: "key-secret-2" }));
      const api = express.Router();
      api.get("/items/:itemId", (_req, res) => void res.json({ ok: true }));
      app.use("/api", api);
      const notes = express.Router({ mergeParams: true });
      notes.get("/notes/:noteId", (req, res) => void res.json(req.params));
      app.use("/users/:userId", notes);
      const orders = express.Router();
      orders.get("/orders/:id", (req, res) => void res.json(req.params));
      app.use("/users/:userId", orders);
      const members = express.Router();
      members.get("/:memberId", (req, res) => void res.json(req.params));
      const teams = express.Router({ mergeParams: true });
      teams.use("/teams/:teamId/members", members);
      const orgs = express.Router();
      orgs.use("/orgs/:orgId", teams);
      app.use(orgs);
      app.get("/page", (_req, res) => void res.type("html").send(TEXT_BODIES.html));
      app.get("/feed.xml", (_req, res) => void res.type("application/xml").send(TEXT_BODIES.xml));
      app.get("/note.txt", (_req, res) => void res.type("text/plain").send(TEXT_BODIES.text));
      app.post("/notes", (_req, res) => void res.status(204).end());
      app.get("/fail", (_req, res) => void res.status(500).json({ error: "failed" }));
      app.get("/throw", () => {
        throw new Error("boom");
      });
      app.get("/unauthorized", () => {
        throw new StatusError("who are you", 401);
      });
      app.get("/health", (_req, res) => void res.json({ ok: true }));
      app.get("/quiet", (_req, res) => {
        skipRequestEvent();
        res.json({ ok: true });
      });
      app.get("/big", (req, res) => void res.json(bigBody(Number(req.query.bytes))));
      app.get("/stream", (_req, res) => {
        res.status(200).type("text/plain");
        res.write("first chunk\n");
      });
      app.get("/hang", () => undefined);
      const skip: ExpressType.RequestHandler = (_req, _res, next) => {
        if (skipBeforeAccess) skipRequestEvent();
        next();
      };
      if (access !== undefined) app.get("/guarded/:id", skip, auditAccess({ request: access, hookTimeoutMs }), (_req, res) => void res.json({ handled: true }));
      app.use((error: StatusError, _req: ExpressType.Request, res: ExpressType.Response, _next: ExpressType.NextFunction) => {
        res.status(error.status ?? 500).json({ error: error.message });
      });
      return listen(http.createServer(app));
    },
  };
}

function koaFramework(name: string, Koa: typeof KoaType): Framework {
  return {
    name,
    kind: "koa",
    start({ middleware, access, skipBeforeAccess, routing, hookTimeoutMs, answerFirstMs, passThrough, earlier }: RouteAppOptions = {}) {
      const app = new Koa();
      app.silent = true;
      if (earlier !== undefined) {
        app.use(
          (ctx, next) =>
            new Promise<void>((resolve, reject) => {
              if (!actEarly(ctx.path, ctx.req, ctx.res, earlier, () => void next().then(resolve, reject))) return void next().then(resolve, reject);
              // Koa must not answer a response the middleware is done with.
              ctx.respond = false;
            }),
        );
      }
      app.use(koaAuditEvents(middleware));
      if (answerFirstMs !== undefined) {
        app.use((ctx, next) => {
          const timer = setTimeout(() => {
            if (ctx.res.headersSent) return;
            ctx.respond = false;
            ctx.res.writeHead(503, { "content-type": "application/json" }).end(JSON.stringify({ error: "timed out" }));
          }, answerFirstMs);
          ctx.res.on("close", () => clearTimeout(timer));
          return next();
        });
      }
      app.use(async (ctx, next) => {
        if (ctx.method !== "POST") return next();
        const chunks: Buffer[] = [];
        for await (const chunk of ctx.req) chunks.push(chunk as Buffer);
        const text = Buffer.concat(chunks).toString("utf8");
        (ctx.request as { body?: unknown }).body = ctx.is("json") ? JSON.parse(text || "{}") : text;
        await next();
      });
      if (passThrough) {
        const pass = new KoaRouter();
        pass.all("/{*rest}", (_ctx, next) => next());
        app.use(pass.routes());
      }
      const router = new KoaRouter(routing === undefined ? {} : { sensitive: routing.caseSensitive, strict: routing.strictTrailingSlash });
      router.get("/orders/:id", (ctx) => void (ctx.body = { id: ctx.params.id, token: "tok-secret-1" }));
      router.post("/orders/:id", (ctx) => {
        ctx.status = 201;
        ctx.body = { echoed: (ctx.request as { body?: unknown }).body, apiKey: "key-secret-2" };
      });
      router.get("/page", (ctx) => {
        ctx.type = "html";
        ctx.body = TEXT_BODIES.html;
      });
      router.get("/feed.xml", (ctx) => {
        ctx.type = "application/xml";
        ctx.body = TEXT_BODIES.xml;
      });
      router.get("/note.txt", (ctx) => {
        ctx.type = "text/plain";
        ctx.body = TEXT_BODIES.text;
      });
      router.post("/notes", (ctx) => void (ctx.status = 204));
      router.get("/fail", (ctx) => {
        ctx.status = 500;
        ctx.body = { error: "failed" };
      });
      router.get("/throw", () => {
        throw new Error("boom");
      });
      router.get("/unauthorized", () => {
        throw new StatusError("who are you", 401);
      });
      router.get("/health", (ctx) => void (ctx.body = { ok: true }));
      router.get("/quiet", (ctx) => {
        skipRequestEvent();
        ctx.body = { ok: true };
      });
      router.get("/big", (ctx) => void (ctx.body = bigBody(Number(ctx.query.bytes))));
      router.get("/stream", (ctx) => {
        ctx.respond = false;
        ctx.res.writeHead(200, { "content-type": "text/plain" });
        ctx.res.write("first chunk\n");
      });
      router.get("/hang", () => new Promise(() => undefined));
      if (access !== undefined) {
        const skip: KoaType.Middleware = (_ctx, next) => {
          if (skipBeforeAccess) skipRequestEvent();
          return next();
        };
        router.get("/guarded/:id", skip, koaAuditAccess({ request: access, hookTimeoutMs }) as KoaType.Middleware, (ctx) => void (ctx.body = { handled: true }));
      }
      // A router with a prefix, and routers nested in routers with prefixes.
      const api = new KoaRouter({ prefix: "/api" });
      api.get("/items/:itemId", (ctx) => void (ctx.body = { ok: true }));
      const users = new KoaRouter({ prefix: "/users/:userId" });
      const notes = new KoaRouter();
      notes.get("/notes/:noteId", (ctx) => void (ctx.body = ctx.params));
      users.use(notes.routes());
      users.get("/orders/:id", (ctx) => void (ctx.body = ctx.params));
      const members = new KoaRouter();
      members.get("/members/:memberId", (ctx) => void (ctx.body = ctx.params));
      const teams = new KoaRouter();
      teams.use("/teams/:teamId", members.routes());
      const orgs = new KoaRouter();
      orgs.use("/orgs/:orgId", teams.routes());
      for (const r of [router, api, users, orgs]) app.use(r.routes());
      return listen(http.createServer(app.callback()));
    },
  };
}

function fastifyFramework(name: string, fastify: typeof FastifyType): Framework {
  return {
    name,
    kind: "fastify",
    async start({ middleware, access, skipBeforeAccess, routing, hookTimeoutMs, answerFirstMs, earlier }: RouteAppOptions = {}) {
      const app = fastify(routing === undefined ? {} : { caseSensitive: routing.caseSensitive, ignoreTrailingSlash: !routing.strictTrailingSlash });
      if (earlier !== undefined) app.addHook("onRequest", (req, reply, done) => void (actEarly(req.url.split("?")[0]!, req.raw, reply.raw, earlier, done) || done()));
      await app.register(fastifyAuditEvents, middleware ?? {});
      if (answerFirstMs !== undefined) {
        app.addHook("onRequest", (_req, reply, done) => {
          const timer = setTimeout(() => void (reply.sent || reply.code(503).send({ error: "timed out" })), answerFirstMs);
          reply.raw.on("close", () => clearTimeout(timer));
          done();
        });
      }
      app.get<{ Params: { id: string } }>("/orders/:id", async (req) => ({ id: req.params.id, token: "tok-secret-1" }));
      app.post("/orders/:id", async (req, reply) => reply.code(201).send({ echoed: req.body, apiKey: "key-secret-2" }));
      await app.register(async (api) => void api.get("/items/:itemId", async () => ({ ok: true })), { prefix: "/api" });
      const echoParams = async (req: { params: unknown }) => req.params;
      await app.register(
        async (users) => {
          users.get("/notes/:noteId", echoParams);
          users.get("/orders/:id", echoParams);
        },
        { prefix: "/users/:userId" },
      );
      await app.register(
        async (orgs) => {
          await orgs.register(async (teams) => void teams.get("/members/:memberId", echoParams), { prefix: "/teams/:teamId" });
        },
        { prefix: "/orgs/:orgId" },
      );
      app.addContentTypeParser(["application/xml", "application/x-www-form-urlencoded"], { parseAs: "string" }, (_req, body, done) => done(null, body));
      app.get("/page", async (_req, reply) => reply.type("text/html").send(TEXT_BODIES.html));
      app.get("/feed.xml", async (_req, reply) => reply.type("application/xml").send(TEXT_BODIES.xml));
      app.get("/note.txt", async (_req, reply) => reply.type("text/plain").send(TEXT_BODIES.text));
      app.post("/notes", async (_req, reply) => reply.code(204).send());
      app.get("/fail", async (_req, reply) => reply.code(500).send({ error: "failed" }));
      app.get("/throw", async () => {
        throw new Error("boom");
      });
      app.get("/unauthorized", async () => {
        throw Object.assign(new Error("who are you"), { statusCode: 401 });
      });
      app.get("/health", async () => ({ ok: true }));
      app.get("/quiet", async () => {
        skipRequestEvent();
        return { ok: true };
      });
      app.get<{ Querystring: { bytes: string } }>("/big", async (req) => bigBody(Number(req.query.bytes)));
      app.get("/stream", (_req, reply) => {
        reply.hijack();
        reply.raw.writeHead(200, { "content-type": "text/plain" });
        reply.raw.write("first chunk\n");
      });
      app.get("/hang", () => new Promise(() => undefined));
      const skip = async () => {
        if (skipBeforeAccess) skipRequestEvent();
      };
      if (access !== undefined) app.get("/guarded/:id", { preHandler: [skip, fastifyAuditAccess({ request: access, hookTimeoutMs })] }, async () => ({ handled: true }));
      await app.ready();
      return listen(app.server);
    },
  };
}

/** Express 4, Express 5, Koa 2, Koa 3, Fastify 4 and Fastify 5. */
export const frameworks: Framework[] = [
  expressFramework("Express 4", express4, "*"),
  expressFramework("Express 5", express5, "/{*splat}"),
  koaFramework("Koa 2", Koa2),
  koaFramework("Koa 3", Koa3),
  fastifyFramework("Fastify 4", fastify4),
  fastifyFramework("Fastify 5", fastify5),
];
