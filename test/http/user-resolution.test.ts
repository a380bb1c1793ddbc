import http from "node:http";
import type ExpressType from "express";
import type FastifyType from "fastify";
import type KoaType from "koa";
import { bodyParser } from "@koa/bodyparser";
import request from "supertest";

import type * as AuditEvents from "../../src";
import { openDatabase, type TestDatabase } from "../support/databases";

/* eslint-disable @typescript-eslint/no-require-imports */
const express4 = require("express4") as typeof ExpressType;
const express5 = require("express") as typeof ExpressType;
const Koa2 = require("koa2") as typeof KoaType;
const Koa3 = require("koa") as typeof KoaType;
const fastify4 = require("fastify4") as typeof FastifyType;
const fastify5 = require("fastify") as typeof FastifyType;

type Library = typeof AuditEvents;
type AuditContext = AuditEvents.AuditContext;

const ORDER = { contentType: "Order", objectId: "1" };

/**
 * Authentication as the common libraries leave it: express-jwt puts the token's
 * claims on `req.auth`, Passport a user record on `req.user`, koa-jwt the claims on
 * `ctx.state.user`. Headers of the test choose which.
 */
interface Auth {
  jwtSub?: string;
  passportId?: number;
  idless?: boolean;
}

function authOf(headers: http.IncomingHttpHeaders): Auth {
  return {
    jwtSub: headers["x-jwt-sub"] as string | undefined,
    passportId: headers["x-passport-id"] === undefined ? undefined : Number(headers["x-passport-id"]),
    idless: headers["x-idless-user"] !== undefined,
  };
}

/** What the routes do with the request's context: one event, or a login and what follows it. */
async function scenario(lib: Library, ctx: AuditContext, name: string): Promise<AuditEvents.AuditEventRecord[]> {
  if (name === "one") return [await ctx.createEvent(ORDER, { step: "one" })];
  const records = [await ctx.createEvent(ORDER, { step: "before-login" })];
  const early = ctx.newEvent(ORDER);
  early.content.step = "draft-made-before-login";
  ctx.setUser({ id: "u-login", email: "new@example.com" });
  records.push(await early.save());
  records.push(await ctx.createEvent(ORDER, { step: "after-login" }));
  records.push(await lib.currentAuditContext().createEvent(ORDER, { step: "through-current" }));
  records.push(await ctx.createEvent(ORDER, { step: "event-user" }, { user: { sub: "u-event" } }));
  records.push(await ctx.createFieldsEvent({ ...ORDER, status: "paid" }, ["status"], { step: "fields-user" }, { user: 99 }));
  records.push(await ctx.newEvent(ORDER).save({ user: "u-draft" }));
  records.push(await ctx.createEvent(ORDER, { step: "after-overrides" }));
  const job = lib.restoreAuditContext(JSON.parse(JSON.stringify(lib.serializeAuditContext(ctx))));
  records.push(await job.createEvent(ORDER, { step: "in-job" }));
  ctx.setUser(null);
  records.push(await ctx.createEvent(ORDER, { step: "after-logout" }));
  return records;
}

interface Framework {
  name: string;
  /** Where the framework's JWT and Passport libraries leave the user. */
  jwtUser: string;
  passportUser: string;
  start(lib: Library): Promise<http.Server>;
}

function listening(server: http.Server): Promise<http.Server> {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

function expressApp(name: string, express: typeof ExpressType): Framework {
  return {
    name,
    jwtUser: "req.auth (express-jwt)",
    passportUser: "req.user",
    start(lib) {
      const app = express();
      app.use(lib.auditEvents());
      app.use(express.json());
      app.use((req, _res, next) => {
        const auth = authOf(req.headers);
        const target = req as { auth?: unknown; user?: unknown };
        if (auth.jwtSub !== undefined) target.auth = { sub: auth.jwtSub, iat: 1_700_000_000, exp: 1_900_000_000 };
        if (auth.passportId !== undefined) target.user = { id: auth.passportId, name: "Ada" };
        if (auth.idless) target.user = { email: "ada@example.com" };
        next();
      });
      app.post("/:scenario", async (req, res) => {
        res.json(await scenario(lib, req.auditContext, String(req.params.scenario)));
      });
      return listening(http.createServer(app));
    },
  };
}

function koaApp(name: string, Koa: typeof KoaType): Framework {
  return {
    name,
    jwtUser: "ctx.state.user (koa-jwt)",
    passportUser: "ctx.state.user",
    start(lib) {
      const app = new Koa();
      app.use(lib.koaAuditEvents());
      app.use(bodyParser());
      app.use(async (ctx, next) => {
        const auth = authOf(ctx.headers);
        if (auth.jwtSub !== undefined) ctx.state.user = { sub: auth.jwtSub, iat: 1_700_000_000 };
        if (auth.passportId !== undefined) ctx.state.user = { id: auth.passportId, name: "Ada" };
        if (auth.idless) ctx.state.user = { email: "ada@example.com" };
        await next();
      });
      app.use(async (ctx) => {
        ctx.body = await scenario(lib, ctx.auditContext, ctx.path.slice(1));
      });
      return listening(http.createServer(app.callback()));
    },
  };
}

function fastifyApp(name: string, Fastify: typeof FastifyType): Framework {
  return {
    name,
    jwtUser: "request.user (@fastify/jwt)",
    passportUser: "request.user (@fastify/passport)",
    async start(lib) {
      const app = Fastify();
      await app.register(lib.fastifyAuditEvents);
      app.addHook("preHandler", async (request) => {
        const auth = authOf(request.headers);
        const target = request as { user?: unknown };
        if (auth.jwtSub !== undefined) target.user = { sub: auth.jwtSub, iat: 1_700_000_000, exp: 1_900_000_000 };
        if (auth.passportId !== undefined) target.user = { id: auth.passportId, name: "Ada" };
        if (auth.idless) target.user = { email: "ada@example.com" };
      });
      app.post("/:scenario", async (request) => scenario(lib, request.auditContext, (request.params as { scenario: string }).scenario));
      await app.listen({ port: 0, host: "127.0.0.1" });
      return app.server;
    },
  };
}

const frameworks: Framework[] = [
  expressApp("Express 4", express4),
  expressApp("Express 5", express5),
  koaApp("Koa 2", Koa2),
  koaApp("Koa 3", Koa3),
  fastifyApp("Fastify 4", fastify4),
  fastifyApp("Fastify 5", fastify5),
];

let db: TestDatabase<"sqlite">;
const servers: http.Server[] = [];

beforeAll(async () => {
  db = await openDatabase("sqlite");
});
afterAll(async () => {
  await db?.close();
});
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((done) => s.close(done))));
  await db.reset();
});

/** A fresh copy of the library: the warning is once per process, so each framework gets its own "process". */
function freshLibrary(): Library {
  let lib!: Library;
  jest.isolateModules(() => {
    lib = require("../../src") as Library;
  });
  return lib;
}

async function start(framework: Framework, lib: Library, warnings: string[] = []) {
  lib.configureAudit({ store: lib.prismaStore(db.prisma), logger: { warn: (message) => warnings.push(message) } });
  const server = await framework.start(lib);
  servers.push(server);
  return request(server);
}

/** The stored rows, read back through Prisma: step -> userId. */
async function storedUsers(): Promise<Record<string, string | null>> {
  const rows = await db.prisma.auditEvent.findMany({ orderBy: { id: "asc" } });
  return Object.fromEntries(rows.map((row) => [(row.content as { step?: string }).step ?? "unnamed", row.userId]));
}

describe.each(frameworks)("the acting user on $name", (framework) => {
  it(`reads the user of a JWT from ${framework.jwtUser} by its sub`, async () => {
    const agent = await start(framework, freshLibrary());
    await agent.post("/one").set("authorization", "Bearer x.y.z").set("x-jwt-sub", "auth0|u1").expect(200);

    expect(await storedUsers()).toEqual({ one: "auth0|u1" });
  });

  it(`reads a Passport user from ${framework.passportUser} by its id`, async () => {
    const agent = await start(framework, freshLibrary());
    await agent.post("/one").set("x-passport-id", "7").expect(200);

    expect(await storedUsers()).toEqual({ one: "7" });
  });

  it("carries the user set by setUser() in later events, drafts and jobs; an event's own user overrides it", async () => {
    const agent = await start(framework, freshLibrary());
    const answer = await agent.post("/login").set("x-passport-id", "7").expect(200);

    const expected = {
      "before-login": "7",
      "draft-made-before-login": "u-login",
      "after-login": "u-login",
      "through-current": "u-login",
      "event-user": "u-event",
      "fields-user": "99",
      unnamed: "u-draft",
      "after-overrides": "u-login",
      "in-job": "u-login",
      "after-logout": null,
    };
    expect(await storedUsers()).toEqual(expected);
    expect((answer.body as { userId: string | null }[]).map((r) => r.userId)).toEqual([
      "7", "u-login", "u-login", "u-login", "u-event", "99", "u-draft", "u-login", "u-login", null,
    ]);
  });

  it("warns exactly once, naming userResolver, when requests with an Authorization header have no user", async () => {
    const warnings: string[] = [];
    const agent = await start(framework, freshLibrary(), warnings);

    await agent.post("/one").expect(200);
    await agent.post("/one").set("x-jwt-sub", "u1").set("authorization", "Bearer a").expect(200);
    expect(warnings).toEqual([]);

    await Promise.all(Array.from({ length: 25 }, () => agent.post("/one").set("authorization", "Bearer x.y.z").expect(200)));
    await agent.post("/one").set("x-idless-user", "1").expect(200);

    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("Authorization header");
    // Where this framework's default resolver looked, in the app's own words, not another framework's.
    expect(warnings[0]).toContain(`but ${framework.passportUser.split(" ")[0]}`);
    expect(warnings[0]).toContain("userResolver");
    expect(warnings[0]).toContain("configureAudit({ store, userResolver:");
    expect(await db.prisma.auditEvent.count({ where: { userId: null } })).toBe(27);
    expect(await db.prisma.auditEvent.count({ where: { userId: "u1" } })).toBe(1);
  });

  it("warns once about a user object that has neither id nor sub", async () => {
    const warnings: string[] = [];
    const agent = await start(framework, freshLibrary(), warnings);

    await agent.post("/one").set("x-idless-user", "1").expect(200);
    await agent.post("/one").set("x-idless-user", "1").set("authorization", "Basic dTpw").expect(200);

    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("(keys: email) has no id or sub");
  });

  it("does not warn when a userResolver is configured, whatever it returns", async () => {
    const warnings: string[] = [];
    const lib = freshLibrary();
    lib.configureAudit({ store: lib.prismaStore(db.prisma), logger: { warn: (m) => warnings.push(m) }, userResolver: () => null });
    const server = await framework.start(lib);
    servers.push(server);

    await request(server).post("/one").set("authorization", "Bearer x.y.z").expect(200);

    expect(warnings).toEqual([]);
  });
});
