import "reflect-metadata";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Controller, Get, Module, Param, type INestApplication } from "@nestjs/common";
import { NestFactory } from "@nestjs/core";
import { FastifyAdapter } from "@nestjs/platform-fastify";

import { CLIENT_CLOSED_REQUEST, configureAudit, memoryStore, type MemoryStore } from "../../src";
import { AuditEventsModule } from "../../src/nestjs";
import { EARLY_KINDS, earlyMiddleware, type EarlyKind } from "../support/request-event-apps";

@Controller("orders")
class OrdersController {
  @Get(":id")
  show(@Param("id") id: string) {
    return { id };
  }
}

@Module({ imports: [AuditEventsModule.forRoot({ requestEvents: true })], controllers: [OrdersController] })
class AppModule {}

/** How to make the client of a waiting request go away, by request id. */
const leave = new Map<string, () => void>();
const earlier = { waiting: (id: string) => leave.get(id)?.() };

/**
 * The platforms, each with a global middleware (`app.use`, which Nest runs before any
 * module's middleware) that is done with `/early/<kind>` requests before passing them on,
 * and the kinds that reach the audit middleware: on Fastify, Nest runs that middleware in
 * an `onRequest` hook added before the plugin's, and Fastify runs no later hook of an
 * answered request.
 */
const platforms: [string, () => Promise<INestApplication>, EarlyKind[]][] = [
  ["Express", async () => NestFactory.create(AppModule, { logger: false }), [...EARLY_KINDS]],
  ["Fastify", async () => NestFactory.create(AppModule, new FastifyAdapter(), { logger: false }), ["client-left", "client-left-midway"]],
];

describe.each(platforms)("AuditEventsModule.forRoot({ requestEvents }) on %s, for a request a global middleware was done with", (platform, create, kinds) => {
  let app: INestApplication;
  let store: MemoryStore;
  let port: number;

  beforeAll(async () => {
    app = await create();
    app.use(earlyMiddleware(earlier));
    await app.listen(0, "127.0.0.1");
    port = (app.getHttpServer().address() as AddressInfo).port;
  });
  afterAll(async () => {
    await app.close();
    configureAudit({});
  });
  beforeEach(() => {
    store = memoryStore();
    // Fastify warns of the hooks Nest adds before the plugin's.
    configureAudit({ store, logger: { warn: () => undefined } });
  });

  it.each(kinds)("records the request once, as it ended: %s", async (kind) => {
    const id = `nest-${platform}-${kind}`;
    const answered = await new Promise<number | null>((resolve) => {
      const req = http.get({ host: "127.0.0.1", port, path: `/early/${kind}`, agent: false, headers: { "x-request-id": id } }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? null));
      });
      leave.set(id, () => req.destroy());
      req.on("error", () => undefined);
      req.on("close", () => resolve(null));
    });
    const left = kind.startsWith("client-left");
    expect(answered).toBe(left ? null : 200);
    const deadline = Date.now() + 3000;
    while (store.list().length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    // Time for a second event, if one were coming.
    await new Promise((resolve) => setTimeout(resolve, 60));
    const status = kind === "client-left" ? CLIENT_CLOSED_REQUEST : 200;
    const events = store.list();
    expect(events).toEqual([expect.objectContaining({ contentType: "HttpRequest", objectId: id, action: "GET (unmatched)", outcome: left ? "failure" : "success" })]);
    expect([events[0]!.content.status, events[0]!.content.aborted]).toEqual([status, left ? true : undefined]);
  });
});
