// A job outside HTTP: its events carry the job's own context.
import { AuditContext, runWithAuditContext, currentAuditContext } from "audit-events";
import type { PrismaClient } from "./sqlite-database";

/** Marks every new order as paid, recording one event per order under the job's context. */
export async function nightlyPaymentSync(prisma: PrismaClient): Promise<number> {
  const job = new AuditContext({ user: "system", extraData: { job: "nightly-payment-sync" } });
  return runWithAuditContext(job, async () => {
    const orders = await prisma.order.findMany({ where: { status: "new" } });
    for (const order of orders) {
      await prisma.order.update({ where: { id: order.id }, data: { status: "paid" } });
      await currentAuditContext().createEvent({ contentType: "Order", objectId: order.id }, {}, { action: "mark-paid" });
    }
    return orders.length;
  });
}
