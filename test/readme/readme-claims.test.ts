// The results the README's examples state in comments ("// 1", "// content = ..."), checked
// by running the same calls: a new user found several that were false (an event's action
// said to be in its content, so the README's filters on content.action found nothing).
import { AuditContext, configureAudit, countEvents, currentAuditContext, findEvents, memoryStore } from "../../src";

afterEach(() => configureAudit({}));

describe("README claims", () => {
  it("Testing: the event's action is its own field, its content empty; countEvents by action finds it", async () => {
    const store = memoryStore();
    configureAudit({ store });
    await currentAuditContext().createEvent({ contentType: "Order", objectId: 42 }, {}, { action: "ship" });
    const [event] = store.list();
    expect(event!.action).toBe("ship");
    expect(event!.content).toEqual({});
    expect(await countEvents({ store, action: "ship" })).toBe(1);
    // What the README used to say: the action is not in content.
    expect(await countEvents({ store, content: { action: "ship" } })).toBe(0);
  });

  it("Writing events: createFieldsEvent's content holds extraData and the fields, not the action", async () => {
    const store = memoryStore();
    configureAudit({ store });
    const ctx = new AuditContext({ extraData: { tenant: "acme" } });
    const order = { contentType: "Order", objectId: 7, status: "paid", total: "12.50" };
    const record = await ctx.createFieldsEvent(order, ["status", "total"], {}, { action: "update" });
    expect(record.content).toEqual({ tenant: "acme", status: "paid", total: "12.50" });
    expect(record.action).toBe("update");
  });

  it("Reading events: findEvents and countEvents filter on the action column, with search over content", async () => {
    const store = memoryStore();
    configureAudit({ store });
    const ctx = new AuditContext();
    await ctx.createEvent({ contentType: "Order", objectId: 1 }, { reason: "damaged" }, { action: "refund" });
    await ctx.createEvent({ contentType: "Order", objectId: 2 }, { reason: "late" }, { action: "refund" });
    await ctx.createEvent({ contentType: "Order", objectId: 3 }, { reason: "damaged" }, { action: "ship" });
    expect(await countEvents({ store, action: "refund", search: "damaged" })).toBe(1);
    const page = await findEvents({ store, contentType: "Order", since: new Date("2026-01-01"), action: "refund", limit: 20 });
    expect(page.events.map((event) => event.objectId).sort()).toEqual(["1", "2"]);
  });
});
