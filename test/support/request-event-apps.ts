import http from "node:http";
import type { AddressInfo } from "node:net";
import type ExpressType from "express";
import type KoaType from "koa";

import type FastifyType from "fastify";

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
  /** An access hook, registered app-wide after the audit middleware, and on the route `/guarded/:id`. */
  access?: (req: unknown) => AccessDecision | Promise<AccessDecision>;
}

/**
 * Routes of every test app:
 * - `GET /orders/:id` 200 JSON with a secret; `POST /orders/:id` echoes the body;
 * - `GET /api/items/:itemId` on a router mounted at `/api`; Express also
 *   `GET /users/:userId/notes/:noteId` on a `mergeParams` router mounted at `/users/:userId`;
 * - `GET /fail` answers 500 itself; `GET /throw` throws (the app's error handler or Koa
 *   answers 500); `GET /unauthorized` throws an error with status 401;
 * - `GET /health` (a skip path in tests), `GET /quiet` (the app marks it skipped);
 * - `GET /big?bytes=n` a JSON body of about n bytes;
 * - `GET /stream` writes a first chunk, then never ends; `GET /hang` never answers;
 * - `GET /guarded/:id` behind the access hook when one is given;
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

function expressFramework(name: string, express: typeof ExpressType): Framework {
  return {
    name,
    kind: "express",
    start({ middleware, access }: RouteAppOptions = {}) {
      const app = express();
      app.use(express.json());
      app.use(auditEvents(middleware));
      app.get("/orders/:id", (req, res) => void res.json({ id: req.params.id, token: "tok-secret-1" }));
      app.post("/orders/:id", (req, res) => void res.status(201).json({ echoed: req.body, apiKey: "key-secret-2" }));
      const api = express.Router();
      api.get("/items/:itemId", (_req, res) => void res.json({ ok: true }));
      app.use("/api", api);
      const notes = express.Router({ mergeParams: true });
      notes.get("/notes/:noteId", (_req, res) => void res.json({ ok: true }));
      app.use("/users/:userId", notes);
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
      if (access !== undefined) app.get("/guarded/:id", auditAccess({ request: access }), (_req, res) => void res.json({ handled: true }));
      app.use((error: StatusError, _req: ExpressType.Request, res: ExpressType.Response, _next: ExpressType.NextFunction) => {
        res.status(error.status ?? 500).json({ error: error.message });
      });
      return listen(http.createServer(app));
    },
  };
}

type KoaHandler = (ctx: KoaType.Context) => unknown;

/**
 * The part of `@koa/router` the request event reads: a matched route sets
 * `ctx._matchedRoute` to its template before its handler runs. (@koa/router is not among
 * the dev dependencies yet; this stands in for it, setting exactly what it sets.)
 */
function route(method: string, template: string, handler: KoaHandler, guard?: KoaType.Middleware) {
  const pattern = new RegExp(`^${template.replace(/:[A-Za-z]+/g, "([^/]+)")}$`);
  return async (ctx: KoaType.Context, next: KoaType.Next) => {
    if (ctx.method !== method || !pattern.test(ctx.path)) return next();
    (ctx as unknown as { _matchedRoute: string })._matchedRoute = template;
    if (guard !== undefined) return guard(ctx, async () => void (await handler(ctx)));
    await handler(ctx);
  };
}

function koaFramework(name: string, Koa: typeof KoaType): Framework {
  return {
    name,
    kind: "koa",
    start({ middleware, access }: RouteAppOptions = {}) {
      const app = new Koa();
      app.silent = true;
      app.use(koaAuditEvents(middleware));
      app.use(async (ctx, next) => {
        if (ctx.method !== "POST") return next();
        const chunks: Buffer[] = [];
        for await (const chunk of ctx.req) chunks.push(chunk as Buffer);
        (ctx.request as { body?: unknown }).body = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}");
        await next();
      });
      const routes = [
        route("GET", "/orders/:id", (ctx) => void (ctx.body = { id: ctx.path.split("/")[2], token: "tok-secret-1" })),
        route("POST", "/orders/:id", (ctx) => {
          ctx.status = 201;
          ctx.body = { echoed: (ctx.request as { body?: unknown }).body, apiKey: "key-secret-2" };
        }),
        route("GET", "/api/items/:itemId", (ctx) => void (ctx.body = { ok: true })),
        route("GET", "/fail", (ctx) => {
          ctx.status = 500;
          ctx.body = { error: "failed" };
        }),
        route("GET", "/throw", () => {
          throw new Error("boom");
        }),
        route("GET", "/unauthorized", () => {
          throw new StatusError("who are you", 401);
        }),
        route("GET", "/health", (ctx) => void (ctx.body = { ok: true })),
        route("GET", "/quiet", (ctx) => {
          skipRequestEvent();
          ctx.body = { ok: true };
        }),
        route("GET", "/big", (ctx) => void (ctx.body = bigBody(Number(ctx.query.bytes)))),
        route("GET", "/stream", (ctx) => {
          ctx.respond = false;
          ctx.res.writeHead(200, { "content-type": "text/plain" });
          ctx.res.write("first chunk\n");
        }),
        route("GET", "/hang", () => new Promise(() => undefined)),
      ];
      if (access !== undefined) routes.push(route("GET", "/guarded/:id", (ctx) => void (ctx.body = { handled: true }), koaAuditAccess({ request: access }) as KoaType.Middleware));
      for (const r of routes) app.use(r);
      return listen(http.createServer(app.callback()));
    },
  };
}

function fastifyFramework(name: string, fastify: typeof FastifyType): Framework {
  return {
    name,
    kind: "fastify",
    async start({ middleware, access }: RouteAppOptions = {}) {
      const app = fastify();
      await app.register(fastifyAuditEvents, middleware ?? {});
      app.get<{ Params: { id: string } }>("/orders/:id", async (req) => ({ id: req.params.id, token: "tok-secret-1" }));
      app.post("/orders/:id", async (req, reply) => reply.code(201).send({ echoed: req.body, apiKey: "key-secret-2" }));
      await app.register(async (api) => void api.get("/items/:itemId", async () => ({ ok: true })), { prefix: "/api" });
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
      if (access !== undefined) app.get("/guarded/:id", { preHandler: fastifyAuditAccess({ request: access }) }, async () => ({ handled: true }));
      await app.ready();
      return listen(app.server);
    },
  };
}

/** Express 4, Express 5, Koa 2, Koa 3, Fastify 4 and Fastify 5. */
export const frameworks: Framework[] = [
  expressFramework("Express 4", express4),
  expressFramework("Express 5", express5),
  koaFramework("Koa 2", Koa2),
  koaFramework("Koa 3", Koa3),
  fastifyFramework("Fastify 4", fastify4),
  fastifyFramework("Fastify 5", fastify5),
];
