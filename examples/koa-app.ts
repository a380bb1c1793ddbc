// The same shop on Koa: run it through `npm run demo`.
import Koa from "koa";
import { bodyParser } from "@koa/bodyparser";
import { koaAuditEvents, auditModels, currentAuditContext } from "audit-events";
import type { PrismaClient } from "./sqlite-database";

/** Business code deep in the call tree: it finds the request's context by itself. */
async function shipOrder(prisma: PrismaClient, id: number) {
  const db = prisma.$extends(auditModels());
  const order = await db.order.update({ where: { id }, data: { status: "shipped" } });
  await currentAuditContext().createEvent(order, {}, { action: "ship" });
  return order;
}

/** Builds the example app on `prisma`; `configureAudit()` must have been called. */
export function createKoaApp(prisma: PrismaClient) {
  const app = new Koa();
  app.use(koaAuditEvents());
  app.use(bodyParser());
  app.use(async (ctx, next) => {
    const user = ctx.get("x-user");
    if (user) ctx.state.user = { id: user };
    await next();
  });
  app.use(async (ctx) => {
    const match = /^\/orders\/(\d+)\/ship$/.exec(ctx.path);
    if (ctx.method !== "POST" || !match) {
      ctx.status = 404;
      return;
    }
    ctx.body = await shipOrder(prisma, Number(match[1]));
  });
  return app;
}
