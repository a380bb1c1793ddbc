// Masking end to end: secrets sent the ways real clients and parsers send them reach no
// stored column, on every database, through Express 4/5 (each query parser, each
// urlencoded mode), Koa 2/3 (each body parser) and Fastify 4/5 (flat and nested forms). The stored rows are read back whole
// from the database and searched for every secret that was sent.

import http from "node:http";
import type { AddressInfo } from "node:net";
import { bodyParser } from "@koa/bodyparser";
import formBody from "@fastify/formbody";
import type ExpressType from "express";
import type FastifyType from "fastify";
import fc from "fast-check";
import type KoaType from "koa";
import { koaBody } from "koa-body";
import qs from "qs";
import request from "supertest";

import { auditEvents, AuditContext, configureAudit, fastifyAuditEvents, koaAuditEvents, MASK, prismaStore } from "../../src";
import { openDatabase, providers, type TestDatabase } from "../support/databases";

/* eslint-disable @typescript-eslint/no-require-imports */
const express4 = require("express4") as typeof ExpressType;
const express5 = require("express") as typeof ExpressType;
const Koa2 = require("koa2") as typeof KoaType;
const Koa3 = require("koa") as typeof KoaType;
const fastify4 = require("fastify4") as typeof FastifyType;
const fastify5 = require("fastify") as typeof FastifyType;
/** The flat form parser @fastify/formbody uses by default (and Fastify for query strings). */
const fastQuerystring = require("fast-querystring") as { parse(text: string): Record<string, unknown> };

/** The token of `/reset-password/<token>`: secret in a path segment, masked by a pattern. */
const RESET_TOKEN = { label: "reset-token", pattern: /(?<=\/reset-password\/)[^/?#]+/ };
const BEARER = { label: "bearer", pattern: /\bBearer\s+[A-Za-z0-9._~+/-]+=*/ };

/** Every route creates one event whose content and extraData hold secrets as well. */
async function audit(context: AuditContext, secret: string): Promise<void> {
  context.extraData.client_secret = `${secret}-extra`;
  await context.createEvent({ contentType: "Login", objectId: "1" }, { password: `${secret}-content`, note: "kept" });
}

interface Variant {
  name: string;
  start(): http.Server;
}

function expressVariant(name: string, express: typeof ExpressType, queryParser: "simple" | "extended", extended: boolean): Variant {
  return {
    name: `${name}, query parser ${queryParser}, urlencoded extended ${extended}`,
    start() {
      const app = express();
      app.set("query parser", queryParser);
      app.use(auditEvents(), express.json(), express.urlencoded({ extended }));
      app.all(/.*/, async (req, res) => {
        await audit(req.auditContext, String(req.headers["x-secret"]));
        res.json({ ok: true });
      });
      return http.createServer(app);
    },
  };
}

function koaVariant(name: string, Koa: typeof KoaType, parser: "koa-body" | "@koa/bodyparser"): Variant {
  return {
    name: `${name}, ${parser}`,
    start() {
      const app = new Koa();
      app.use(koaAuditEvents()).use(parser === "koa-body" ? koaBody() : bodyParser());
      app.use(async (ctx) => {
        await audit(ctx.state.auditContext as AuditContext, ctx.get("x-secret"));
        ctx.body = { ok: true };
      });
      return http.createServer(app.callback());
    },
  };
}

function fastifyVariant(name: string, Fastify: typeof FastifyType, form: "flat" | "nested"): Variant {
  return {
    name: `${name}, ${form} form keys`,
    start() {
      const app = Fastify();
      const parse = form === "nested" ? (body: string) => qs.parse(body) : (body: string) => fastQuerystring.parse(body);
      app.register(fastifyAuditEvents);
      if (app.version.startsWith("5.")) app.register(formBody, { parser: parse });
      // @fastify/formbody 9 is for Fastify 5; on Fastify 4 its parser is added as @fastify/formbody 7 does.
      else app.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "string" }, (_req, body, done) => done(null, parse(body as string)));
      app.all("/*", async (req) => {
        await audit(req.auditContext, String(req.headers["x-secret"]));
        return { ok: true };
      });
      const ready = app.ready();
      return http.createServer((req, res) => void ready.then(() => app.routing(req, res)));
    },
  };
}

const variants: Variant[] = [
  expressVariant("Express 5", express5, "simple", false),
  expressVariant("Express 5", express5, "extended", true),
  expressVariant("Express 4", express4, "extended", true),
  expressVariant("Express 4", express4, "simple", false),
  koaVariant("Koa 3", Koa3, "koa-body"),
  koaVariant("Koa 2", Koa2, "@koa/bodyparser"),
  fastifyVariant("Fastify 5", fastify5, "flat"),
  fastifyVariant("Fastify 4", fastify4, "nested"),
];

/** One way a client sends a secret: the request to make, given the secret. */
type Sender = (http: request.Agent, secret: string) => request.Test;

/** The failing inputs of issue 11 and more of their kinds. */
const SENDERS: Readonly<Record<string, Sender>> = {
  "bracket keys in query and form": (h, s) => h.post(`/login?user[password]=${s}q`).type("form").send(`user[password]=${s}b`),
  "dotted JSON keys": (h, s) => h.post("/login").send({ "user.password": s, user: { password: `${s}n` } }),
  "confirmation and current passwords": (h, s) =>
    h.post("/account").send({ passwordConfirmation: s, currentPassword: `${s}c`, new_password: `${s}n`, "new-password": `${s}k` }),
  "tokens and keys": (h, s) =>
    h.post("/oauth").send({ token: s, access_token: `${s}a`, api_key: `${s}k`, client_secret: `${s}c`, refreshToken: `${s}r` }),
  "card, national and one-time data": (h, s) => h.post("/pay").type("form").send(`card_number=${s}&cvv=${s}v&ssn=${s}s&otp=${s}o&name=ada`),
  "a token in the query string": (h, s) => h.get(`/cb?token=${s}&state=ok`),
  "a token in a redirect parameter": (h, s) => h.get(`/login?next=${encodeURIComponent(`/reset?token=${s}`)}`),
  "a password in the Referer": (h, s) => h.get("/page").set("referer", `https://h.example/?password=${s}`),
  "whitelisted credential headers": (h, s) =>
    h.get("/api").set("x-api-key", s).set("x-custom-token", `${s}t`).set("authorization", `Bearer ${s}b`).set("cookie", `sid=${s}c`),
  "a bearer token in a harmless header": (h, s) => h.get("/api").set("x-forwarded-authorization-hint", `Bearer ${s}`),
  "a token in a path segment": (h, s) => h.post(`/reset-password/${s}`).send({ note: "x" }),
  "a multi-valued password array": (h, s) => h.get(`/login?password[]=${s}a&password[]=${s}b`),
  "a secret key in an array of objects": (h, s) => h.post("/bulk").send({ users: [{ name: "a", Password: s }, { name: "b", PASSWORD: `${s}2` }] }),
  "GraphQL variables as JSON in the query string and the Referer": (h, s) =>
    h.get(`/graphql?variables=${encodeURIComponent(JSON.stringify({ input: { password: s } }))}`).set("referer", `https://h.example/graphql?variables={"token":"${s}r"}`),
  "a connection URL and a DSN in free text": (h, s) =>
    h.post("/settings").send({ note: `moved to jdbc:postgresql://app:${s}@db.example.com/x`, backup: `admin:${s}b@db:5432` }).set("referer", `https://h.example/?see=redis://:${s}r@cache:6379`),
  "a password with spaces around = in a text field": (h, s) => h.post("/support").type("form").send({ message: `db_password = ${s} and token : '${s}t x'` }),
  "a query key that holds the password": (h, s) => h.get(`/login?password%3D${s}&x=1`),
  "userinfo as query keys and form keys that qs cuts at the host's bracket": (h, s) =>
    h.post(`/proxy?user:${s}@[2001:db8::7]:8443&:${s}r@[::1]`).type("form").send(`me@mail.example:${s}b@[fe80::1]=1`),
  "userinfo in the query whose password's characters the parser decodes": (h, s) =>
    h.get(`/proxy?next=//user:${s}+p${s}@evil.com/g&via=user%3A${s}%2Fs${s}%40proxy.example.com%3A3128&target=user:${s}%23h${s}@db.example.com`),
};

/** A unique secret, so finding it in any stored text is a leak. */
let counter = 0;
const newSecret = () => `Sx${(counter++).toString(36)}x${Math.random().toString(36).slice(2, 10)}`;

describe.each(providers)("masking on %s", (provider) => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await openDatabase(provider, { name: `masking_${provider}` });
  });

  beforeEach(async () => {
    await db.reset();
    configureAudit({
      store: prismaStore(db.prisma),
      includeQueryParams: true,
      includePostData: true,
      includeHeaders: ["referer", "x-api-key", "x-custom-token", "authorization", "cookie", "x-forwarded-authorization-hint", "user-agent"],
      sensitivePatterns: [RESET_TOKEN, BEARER],
    });
  });

  afterAll(async () => {
    configureAudit({});
    await db.close();
  });

  /** Every stored row, every column, as one text. */
  async function storedText(): Promise<{ text: string; rows: number }> {
    const rows = await db.prisma.auditEvent.findMany();
    return { text: JSON.stringify(rows), rows: rows.length };
  }

  describe.each(variants)("through $name", (variant) => {
    let server: http.Server;
    let agent: request.Agent;

    beforeAll(async () => {
      server = variant.start();
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      agent = request.agent(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    });

    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it.each(Object.keys(SENDERS))("stores no secret sent as %s", async (kind) => {
      const secret = newSecret();
      const res = await SENDERS[kind]!(agent, secret).set("x-secret", secret);
      expect(res.status).toBe(200);
      const { text, rows } = await storedText();
      expect(rows).toBe(1);
      expect(text).toContain(MASK.slice(0, 8));
      expect(text).toContain("kept");
      expect(text).not.toContain(secret);
    });

    it("stores no secret whatever the spelling of its key, in query, form or JSON", async () => {
      const words = fc.constantFrom(["password"], ["new", "password"], ["access", "token"], ["api", "key"], ["client", "secret"], ["card", "number"], ["cvv"], ["otp"], ["session", "id"]);
      const spell = fc.constantFrom(
        (w: readonly string[]) => w.join("_"),
        (w: readonly string[]) => w.join("-"),
        (w: readonly string[]) => w.join("."),
        (w: readonly string[]) => w[0] + w.slice(1).map((x) => x[0]!.toUpperCase() + x.slice(1)).join(""),
        (w: readonly string[]) => w.join("_").toUpperCase(),
        (w: readonly string[]) => `user[${w.join("_")}]`,
      );
      const place = fc.constantFrom("query", "form", "json");
      await fc.assert(
        fc.asyncProperty(words, spell, place, async (name, spelling, where) => {
          await db.reset();
          const key = spelling(name);
          const secret = newSecret();
          const pair = `${encodeURIComponent(key)}=${secret}`;
          const req =
            where === "query"
              ? agent.get(`/p?${pair}&x=1`)
              : where === "form"
                ? agent.post("/p").type("form").send(`${pair}&x=1`)
                : agent.post("/p").send({ [key]: secret, x: 1 });
          expect((await req.set("x-secret", "none")).status).toBe(200);
          const { text, rows } = await storedText();
          expect(rows).toBe(1);
          expect(text).not.toContain(secret);
        }),
        { numRuns: 15 },
      );
    });
  });

  it("masks a job context's URL userinfo, query and headers as a request's", async () => {
    const secret = newSecret();
    const job = new AuditContext({
      url: `https://deploy:${secret}@h.example/hook?api_key=${secret}k#access_token=${secret}f`,
      headers: { referer: `https://h.example/r?password=${secret}r`, "x-session-token": `${secret}s` },
      postData: { credentials: { user: "a", pass: `${secret}p` } },
      extraData: { apiKey: `${secret}e` },
    });
    await job.createEvent({ contentType: "Deploy", objectId: "1" }, { note: "kept", nested: { secret: `${secret}c` } });
    const { text } = await storedText();
    expect(text).toContain("kept");
    expect(text).not.toContain(secret);
  });
});
