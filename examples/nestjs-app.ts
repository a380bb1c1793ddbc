// The NestJS example of the README, run by test/nestjs/example-app.test.ts on the Express and Fastify platforms.
import { Controller, Injectable, Module, Param, Post, Req } from "@nestjs/common";
import type { AuditContext } from "audit-events";
import { AuditContextService, AuditEventsModule } from "audit-events/nestjs";

@Injectable()
export class ShippingService {
  constructor(private readonly audit: AuditContextService) {}

  async ship(orderId: string) {
    // No request at hand: the service finds the request's context by itself.
    return this.audit.current().createEvent({ contentType: "Order", objectId: orderId }, { carrier: "ups" }, { action: "order.ship" });
  }
}

@Controller("orders")
export class OrdersController {
  constructor(private readonly shipping: ShippingService) {}

  @Post(":id/ship")
  async ship(@Param("id") id: string, @Req() req: { auditContext: AuditContext }) {
    await req.auditContext.createEvent({ contentType: "Order", objectId: id }, {}, { action: "order.ship.requested" });
    return this.shipping.ship(id);
  }
}

@Module({
  imports: [AuditEventsModule.forRoot({ includeHeaders: ["user-agent"] })],
  controllers: [OrdersController],
  providers: [ShippingService],
})
export class AppModule {}
