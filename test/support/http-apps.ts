import { EventEmitter } from "node:events";
import http from "node:http";
import type { AddressInfo } from "node:net";
import type ExpressType from "express";
import type KoaType from "koa";
import multer from "multer";
import { koaBody } from "koa-body";
import { bodyParser } from "@koa/bodyparser";
import formBody from "@fastify/formbody";
import type FastifyType from "fastify";
import qs from "qs";
import { auditEvents, fastifyAuditEvents, koaAuditEvents, currentAuditContext, type AuditContext, type AuditOptions } from "../../src";

/* eslint-disable @typescript-eslint/no-require-imports */
const express4 = require("express4") as typeof ExpressType;
const express5 = require("express") as typeof ExpressType;
const Koa2 = require("koa2") as typeof KoaType;
const Koa3 = require("koa") as typeof KoaType;
const fastify4 = require("fastify4") as typeof FastifyType;
const fastify5 = require("fastify") as typeof FastifyType;

/** How a test app is put together. */
export interface AppOptions {
  /**
   * Whether the audit middleware runs before or after the body parsers. On Fastify,
   * whose body parsing has its fixed place in the request lifecycle, the order in
   * which the plugin and @fastify/formbody are registered.
   */
  position?: "before" | "after";
  /** Options given to the middleware itself. */
  options?: Partial<AuditOptions>;
  /** Express `trust proxy` hop count; Koa `app.proxy = true` with `maxIpsCount`; Fastify `trustProxy`. */
  trustedHops?: number;
  /** Koa only: which body parser. */
  koaParser?: "koa-body" | "@koa/bodyparser";
}

/** A running app under test. */
export interface TestApp {
  server: http.Server;
  close(): Promise<void>;
}

/** One of the frameworks the middleware supports. */
export interface Framework {
  name: string;
  kind: "express" | "koa" | "fastify";
  start(options?: AppOptions): Promise<TestApp>;
}

/** What the test route answers: the stored record and, on `x-echo-body`, the body as the app sees it afterwards. */
export interface RouteAnswer {
  record: { content: { marker: string; hops: boolean[] } } & Record<string, unknown>;
  body: unknown;
}

/**
 * The test route's work: hop through a timer, a promise chain and an event emitter,
 * checking at each hop that the current context is still the request's own, then
 * write an event through `currentAuditContext()`.
 */
async function auditedWork(own: AuditContext, objectId: string, marker: string) {
  const hops: boolean[] = [currentAuditContext() === own];
  await new Promise((resolve) => setTimeout(resolve, Math.random() * 5));
  hops.push(currentAuditContext() === own);
  await Promise.resolve().then(() => hops.push(currentAuditContext() === own));
  await new Promise<void>((resolve) => {
    const emitter = new EventEmitter();
    emitter.once("done", () => {
      hops.push(currentAuditContext() === own);
      resolve();
    });
    setImmediate(() => emitter.emit("done"));
  });
  return currentAuditContext().createEvent({ contentType: "Order", objectId }, { marker, hops });
}

function listen(server: http.Server): Promise<TestApp> {
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () =>
      resolve({ server, close: () => new Promise<void>((done) => server.close(() => done())) }),
    );
  });
}

function errorBody(error: unknown) {
  const e = error as { message?: string; code?: string };
  return { error: e.message, code: e.code };
}

/**
 * A body parser of the kind many apps write themselves: it reads the request stream
 * directly and calls `next()` from its `end` event, which Node runs outside the
 * request's async context unless the middleware binds the stream.
 */
function streamTextParser(req: http.IncomingMessage & { body?: unknown }, _res: http.ServerResponse, next: () => void): void {
  if (req.headers["content-type"] !== "text/plain") return next();
  let text = "";
  req.setEncoding("utf8");
  req.on("data", (chunk: string) => (text += chunk));
  req.on("end", () => {
    req.body = { text };
    next();
  });
}

function expressFramework(name: string, express: typeof ExpressType): Framework {
  return {
    name,
    kind: "express",
    start({ position = "before", options, trustedHops }: AppOptions = {}) {
      const app = express();
      if (trustedHops !== undefined) app.set("trust proxy", trustedHops);
      const parsers = [
        streamTextParser,
        express.json({ limit: "5mb" }),
        express.urlencoded({ extended: true, limit: "5mb" }),
        multer({ storage: multer.memoryStorage() }).any(),
      ];
      if (position === "before") app.use(auditEvents(options), ...parsers);
      else app.use(...parsers, auditEvents(options));
      app.use((req, _res, next) => {
        const user = req.headers["x-user"];
        if (typeof user === "string") (req as { user?: unknown }).user = { id: user };
        next();
      });
      app.all("/orders/:id", async (req, res) => {
        try {
          const record = await auditedWork(req.auditContext, String(req.params.id), String(req.headers["x-marker"] ?? ""));
          res.json({ record, body: req.headers["x-echo-body"] ? req.body : undefined });
        } catch (error) {
          res.status(500).json(errorBody(error));
        }
      });
      app.all("/quiet", (_req, res) => {
        res.json({ ok: true });
      });
      return listen(http.createServer(app));
    },
  };
}

function koaFramework(name: string, Koa: typeof KoaType): Framework {
  return {
    name,
    kind: "koa",
    start({ position = "before", options, trustedHops, koaParser = "koa-body" }: AppOptions = {}) {
      const app = new Koa();
      if (trustedHops !== undefined) {
        app.proxy = true;
        app.maxIpsCount = trustedHops;
      }
      const parser =
        koaParser === "koa-body"
          ? koaBody({ multipart: true, jsonLimit: "5mb", formLimit: "5mb", textLimit: "5mb" })
          : bodyParser({ jsonLimit: "5mb", formLimit: "5mb" });
      if (position === "before") app.use(koaAuditEvents(options)).use(parser);
      else app.use(parser).use(koaAuditEvents(options));
      app.use(async (ctx, next) => {
        const user = ctx.get("x-user");
        if (user) ctx.state.user = { id: user };
        await next();
      });
      app.use(async (ctx) => {
        if (ctx.path === "/quiet") {
          ctx.body = { ok: true };
          return;
        }
        const match = /^\/orders\/([^/]+)$/.exec(ctx.path);
        if (!match) {
          ctx.status = 404;
          return;
        }
        try {
          const record = await auditedWork(ctx.state.auditContext, decodeURIComponent(match[1]!), ctx.get("x-marker"));
          ctx.body = { record, body: ctx.get("x-echo-body") ? (ctx.request as { body?: unknown }).body : undefined };
        } catch (error) {
          ctx.status = 500;
          ctx.body = errorBody(error);
        }
      });
      return listen(http.createServer(app.callback()));
    },
  };
}

/** What a Fastify test app's hooks saw: whether the request's context was current in them. */
type HookSightings = Record<"preHandler" | "onSend", boolean>;

function fastifyFramework(name: string, Fastify: typeof FastifyType): Framework {
  return {
    name,
    kind: "fastify",
    async start({ position = "before", options, trustedHops }: AppOptions = {}) {
      // The hop count as a trust function: Fastify 5 refuses a bare number (it cannot
      // tell whether the immediate peer is a proxy, so it trusts no one).
      const trustProxy = trustedHops === undefined ? false : (_address: string, hop: number) => hop < trustedHops;
      const app = Fastify({ bodyLimit: 5 * 1024 * 1024, maxParamLength: 20_000, trustProxy });
      // Bracketed keys nested with qs, @fastify/formbody's documented way (Express's
      // extended parser does the same). @fastify/formbody 9 is for Fastify 5 only; on
      // Fastify 4 the same parser is added as @fastify/formbody 7 adds it.
      const parsers = async () => {
        // A body reader of the kind @fastify/multipart is: Fastify's parser leaves the
        // stream unread, and a preValidation hook reads it, finishing in the stream's
        // `end` callback, outside the request's async context unless the plugin keeps it.
        app.removeContentTypeParser("text/plain");
        app.addContentTypeParser("text/plain", (_request, _payload, done) => done(null, undefined));
        app.addHook("preValidation", (request, _reply, done) => {
          if (request.headers["content-type"] !== "text/plain") return done();
          let text = "";
          request.raw.setEncoding("utf8");
          request.raw.on("data", (chunk: string) => (text += chunk));
          request.raw.on("end", () => {
            request.body = { text };
            done();
          });
        });
        if (app.version.startsWith("4.")) {
          app.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "string", bodyLimit: 5 * 1024 * 1024 }, (_request, body, done) =>
            done(null, qs.parse(body as string)),
          );
        } else {
          await app.register(formBody, { bodyLimit: 5 * 1024 * 1024, parser: (body) => qs.parse(body) });
        }
      };
      if (position === "after") await parsers();
      await app.register(fastifyAuditEvents, options ?? {});
      if (position === "before") await parsers();
      const seen = new WeakMap<object, HookSightings>();
      app.addHook("preHandler", async (request) => {
        seen.set(request, { preHandler: currentAuditContext() === request.auditContext, onSend: false });
        const user = request.headers["x-user"];
        if (typeof user === "string") (request as { user?: unknown }).user = { id: user };
      });
      app.addHook("onSend", async (request, reply) => {
        const sightings = seen.get(request);
        if (sightings) reply.header("x-hooks-context", JSON.stringify({ ...sightings, onSend: currentAuditContext() === request.auditContext }));
      });
      app.setErrorHandler((error, request, reply) => {
        reply.code((error as { statusCode?: number }).statusCode ?? 500).send({ ...errorBody(error), errorHandlerContext: currentAuditContext() === request.auditContext });
      });
      app.all("/orders/:id", async (request, reply) => {
        try {
          const { id } = request.params as { id: string };
          const record = await auditedWork(request.auditContext, id, String(request.headers["x-marker"] ?? ""));
          return { record, body: request.headers["x-echo-body"] ? request.body : undefined };
        } catch (error) {
          return reply.code(500).send(errorBody(error));
        }
      });
      app.all("/quiet", async () => ({ ok: true }));
      app.post("/fail", async () => {
        await new Promise((resolve) => setTimeout(resolve, 1));
        throw new Error("failed after a hop");
      });
      await app.listen({ port: 0, host: "127.0.0.1" });
      return { server: app.server as http.Server, close: () => app.close() };
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

/** The port a started app listens on. */
export function portOf(app: TestApp): number {
  return (app.server.address() as AddressInfo).port;
}
