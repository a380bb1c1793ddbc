// An Express shop whose order changes are audited: run it through `npm run demo`.
import express from "express";
import { auditEvents, auditModels } from "audit-events";
import type { PrismaClient } from "./sqlite-database";

/** Stands in for your authentication: the user id comes from the `x-user` header. */
function fakeAuthentication(req: express.Request, _res: express.Response, next: express.NextFunction) {
  const user = req.header("x-user");
  if (user) (req as express.Request & { user?: { id: string } }).user = { id: user };
  next();
}

/** Builds the example app on `prisma`; `configureAudit()` must have been called. */
export function createExpressApp(prisma: PrismaClient) {
  const db = prisma.$extends(auditModels());
  const app = express();
  app.use(auditEvents());
  app.use(express.json());
  app.use(fakeAuthentication);

  app.post("/orders", async (req, res) => {
    const order = await db.order.create({ data: { reference: req.body.reference, status: "new", total: req.body.total } });
    await req.auditContext.createEvent(order, {}, { action: "create" });
    res.status(201).json(order);
  });

  app.post("/orders/:id/refund", async (req, res) => {
    const order = await db.$transaction(async (tx) => {
      const refunded = await tx.order.update({ where: { id: Number(req.params.id) }, data: { status: "refunded" } });
      await req.auditContext.createFieldsEvent(refunded, ["status", "total"], { reason: req.body.reason }, { tx, action: "refund" });
      return refunded;
    });
    res.json(order);
  });

  return app;
}
