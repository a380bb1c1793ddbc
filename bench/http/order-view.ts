import { setImmediate as nextTurn } from "node:timers/promises";

import { currentAuditContext } from "../../src/index";

/** The JSON body every variant answers with. */
export interface OrderView {
  id: string;
  status: string;
  total: number;
  lines: { sku: string; quantity: number }[];
  /** The id of the audit event the request created, in the variants that create one. */
  eventId?: string;
}

async function loadOrder(id: string): Promise<Omit<OrderView, "eventId">> {
  await nextTurn();
  return { id, status: "paid", total: 129.9, lines: [{ sku: "A-1", quantity: 2 }, { sku: "B-7", quantity: 1 }] };
}

/**
 * The handler's work, the same in every variant: an event-loop turn standing in for a
 * database read, two more awaits, and, when asked, one audit event written through
 * `currentAuditContext()` (so the request's context must have survived the awaits).
 *
 * @throws Error when the event was written outside the request's context.
 */
export async function viewOrder(id: string, withEvent: boolean): Promise<OrderView> {
  const order = await loadOrder(id);
  await Promise.resolve();
  if (!withEvent) return order;
  const event = await currentAuditContext().createEvent({ contentType: "Order", objectId: order.id }, { action: "view", total: order.total });
  if (event.method !== "GET" || event.url === null) throw new Error("the event lost the request's audit context");
  return { ...order, eventId: event.id };
}
