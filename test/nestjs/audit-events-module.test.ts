import "reflect-metadata";
import { Body, Controller, Injectable, Module, Param, Post, Req, UseGuards, type CanActivate, type ExecutionContext } from "@nestjs/common";
import request from "supertest";
import { AuditContext, AuditConfigError, configureAudit, MASK, memoryStore, type AuditEventRecord, type MemoryStore } from "../../src";
import { AuditContextService, AuditEventsModule } from "../../src/nestjs";
import { nestPlatforms, useNestApp } from "../support/nest-apps";

const hop = () => new Promise((resolve) => setTimeout(resolve, Math.random() * 5));

/** Authentication as Nest's AuthGuard leaves it: the user on the request, after middleware ran. */
@Injectable()
class HeaderAuthGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<{ headers: Record<string, string | undefined>; user?: unknown }>();
    if (req.headers["x-user"]) req.user = { id: req.headers["x-user"] };
    return true;
  }
}

@Injectable()
class ShippingService {
  constructor(private readonly audit: AuditContextService) {}

  async ship(id: string): Promise<AuditEventRecord> {
    await hop();
    return this.audit.current().createEvent({ contentType: "Order", objectId: id }, { step: "service" }, { action: "order.ship" });
  }
}

@Controller("orders")
@UseGuards(HeaderAuthGuard)
class OrdersController {
  constructor(private readonly shipping: ShippingService) {}

  @Post(":id/ship")
  async ship(@Param("id") id: string, @Req() req: { auditContext: AuditContext }, @Body() body: unknown) {
    const fromController = await req.auditContext.createEvent({ contentType: "Order", objectId: id }, { step: "controller", body }, { action: "order.view" });
    const fromService = await this.shipping.ship(id);
    return { fromController, fromService };
  }
}

@Module({
  imports: [AuditEventsModule.forRoot({ includeHeaders: ["x-request-id"], includePostData: true })],
  controllers: [OrdersController],
  providers: [ShippingService, HeaderAuthGuard],
})
class AppModule {}

const platforms = nestPlatforms(AppModule);

let store: MemoryStore;
beforeEach(() => {
  store = memoryStore();
  configureAudit({ store });
});
afterEach(() => configureAudit({}));

describe.each(platforms)("AuditEventsModule on the %s platform", (platform, create) => {
  const nest = useNestApp(platform, create);

  it("gives events from a controller and from a service the request's user, URL, request id and masked body", async () => {
    const res = await request(nest().getHttpServer())
      .post("/orders/7/ship?via=api")
      .set("x-user", "u-1")
      .set("x-request-id", "req-7")
      .send({ carrier: "ups", password: "s3cret" });
    expect(res.status).toBe(201);
    const { fromController, fromService } = res.body as Record<"fromController" | "fromService", AuditEventRecord>;
    for (const record of [fromController, fromService]) {
      expect(record).toMatchObject({
        userId: "u-1",
        requestId: "req-7",
        method: "POST",
        url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/orders\/7\/ship\?via=api$/),
        remoteAddr: "127.0.0.1",
        headers: { "x-request-id": "req-7" },
        postData: { carrier: "ups", password: MASK },
      });
    }
    expect([fromController.action, fromService.action]).toEqual(["order.view", "order.ship"]);
    expect(store.list().map((e) => e.id)).toEqual([fromController.id, fromService.id]);
    expect(JSON.stringify(store.list())).not.toContain("s3cret");
  });

  it("never mixes the contexts of 100 concurrent requests", async () => {
    const server = nest().getHttpServer();
    const responses = await Promise.all(
      Array.from({ length: 100 }, (_, i) => request(server).post(`/orders/${i}/ship`).set("x-user", `user-${i}`).set("x-request-id", `r-${i}`).send({ n: i })),
    );
    responses.forEach((res, i) => {
      expect(res.status).toBe(201);
      for (const record of Object.values(res.body as Record<string, AuditEventRecord>)) {
        expect(record).toMatchObject({ objectId: String(i), userId: `user-${i}`, requestId: `r-${i}`, postData: { n: i } });
      }
    });
    expect(new Set(store.list().map((e) => e.requestId)).size).toBe(100);
  });

  it("gives a blank context outside a request", () => {
    const service = nest().get(AuditContextService);
    expect(service.current()).toBeInstanceOf(AuditContext);
    expect(service.current().requestId).toBeNull();
  });
});

@Module({
  imports: [AuditEventsModule.forRoot({ requestEvents: { skipPaths: ["/orders/0/ship"] } })],
  controllers: [OrdersController],
  providers: [ShippingService, HeaderAuthGuard],
})
class RequestEventsModule {}

describe.each(nestPlatforms(RequestEventsModule))("AuditEventsModule.forRoot({ requestEvents }) on the %s platform", (platform, create) => {
  const nest = useNestApp(platform, create);

  it("writes one event per request, named by the Nest route's template from the app's first request, with the user the guard set", async () => {
    // The app's first request: on Express, Nest registers the middleware through a
    // function of its own, so only where the route runs can name it.
    await request(nest().getHttpServer()).post("/orders/31/ship").set("x-user", "u-9").set("x-request-id", "nest-1").send({}).expect(201);
    await request(nest().getHttpServer()).post("/orders/0/ship").send({}).expect(201);
    const deadline = Date.now() + 3000;
    const requestEvents = () => store.list().filter((e) => e.contentType === "HttpRequest");
    while (requestEvents().length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(requestEvents()).toEqual([
      expect.objectContaining({ action: "POST /orders/:id/ship", objectId: "nest-1", userId: "u-9", outcome: "success", content: expect.objectContaining({ status: 201, route: "/orders/:id/ship" }) }),
    ]);
  });
});

describe("AuditEventsModule.forRoot", () => {
  it("refuses bad options at once, naming the fix", () => {
    expect(() => AuditEventsModule.forRoot({ includeHeader: ["x"] } as never)).toThrow(AuditConfigError);
    expect(() => AuditEventsModule.forRoot({ includeHeader: ["x"] } as never)).toThrow(/AuditEventsModule\.forRoot\(\): unknown option "includeHeader"\. Did you mean "includeHeaders"\?/);
    expect(() => AuditEventsModule.forRoot({ requestEvents: { skipPaths: ["health"] } })).toThrow(/skipPaths must be an array of paths starting with "\/"/);
  });
});
