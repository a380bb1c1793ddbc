import "reflect-metadata";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Controller, Get, Module, Param, type INestApplication } from "@nestjs/common";
import { NestFactory } from "@nestjs/core";
import { FastifyAdapter } from "@nestjs/platform-fastify";

import { CLIENT_CLOSED_REQUEST, configureAudit, memoryStore, type MemoryStore } from "../../src";
import { AuditEventsModule } from "../../src/nestjs";
import { EARLY_KINDS, earlyMiddleware } from "../support/request-event-apps";

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
 * The platforms. Each app has a global middleware (`app.use`) that is done with
 * `/early/<kind>` requests before passing them on: Nest runs it before any module's
 * middleware on Express, and on Fastify (through @fastify/middie) in an `onRequest` hook
 * added before the plugin's, which Fastify skips once a hook has answered.
 */
const platforms: [string, () => Promise<INestApplication>][] = [
  ["Express", async () => NestFactory.create(AppModule, { logger: false })],
  ["Fastify", async () => NestFactory.create(AppModule, new FastifyAdapter(), { logger: false })],
];

describe.each(platforms)("AuditEventsModule.forRoot({ requestEvents }) on %s, for a request a global middleware was done with", (platform, create) => {
  let app: INestApplication;
  let store: MemoryStore;
  let port: number;

  // Fastify warns, when the module registers the plugin, of the hooks Nest added before it.
  const logger = { warn: () => undefined };

  beforeAll(async () => {
    configureAudit({ logger });
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
    configureAudit({ store, logger });
  });

  it.each([...EARLY_KINDS])("records the request once, as it ended: %s", async (kind) => {
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
