/**
 * CPU per `createEvent` on the request path in buffered mode.
 *
 *   npx tsx bench/create-event.ts [--calls 20000] [--rounds 7] [--smoke]
 *
 * A request goes through the real `auditEvents()` middleware (a Node IncomingMessage and
 * ServerResponse, with the body, user and headers an Express app would have), then
 * `req.auditContext.createEvent(order, content)` is called in windows of 200 calls
 * without awaiting, as the requests of one 200 ms flush window would (1000 requests a
 * second); only the calls are timed, then the writer flushes them to a memory store
 * (untimed) and they are counted. CPU is `process.cpuUsage()` (user + system) divided by the calls; the median
 * of the rounds is reported, against a baseline measured in the same rounds: building
 * the same event as a plain object (uuid, Date, spread content, JSON.stringify) and
 * pushing it on an array, the least any buffered audit log does.
 */
import { IncomingMessage, ServerResponse } from "node:http";
import { Socket } from "node:net";
import { randomUUID } from "node:crypto";
import { auditEvents, closeAudit, configureAudit, flushAudit, memoryStore, type AuditContext } from "../src";

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
}

const smoke = process.argv.includes("--smoke");
/** Events per flush window: 1000 requests a second, each with one event, flushed every 200 ms. */
const WINDOW = 200;
const calls = option("calls", smoke ? 2000 : 20_000);
const rounds = option("rounds", smoke ? 2 : 7);
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const cpuMicros = (start: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(start);
  return used.user + used.system;
};

const fail = (error: unknown) => {
  console.error("createEvent failed:", error);
  process.exit(1);
};

/** A model instance, as an app's ORM would return it: the class names the content type. */
class Order {
  constructor(
    readonly id: number,
    readonly status: string,
  ) {}
}
const order = new Order(42, "refunded");
const content = { action: "refund", amount: "12.50", reason: "damaged" };

/** A request as Express hands it to middleware, and the context the middleware gives it. */
function requestContext(): Promise<AuditContext> {
  const req = new IncomingMessage(new Socket()) as IncomingMessage & Record<string, unknown>;
  Object.assign(req, {
    method: "POST",
    url: "/orders/42/refund?reason=damaged",
    originalUrl: "/orders/42/refund?reason=damaged",
    headers: { host: "shop.example", "user-agent": "bench", "content-type": "application/json" },
    ip: "203.0.113.7",
    body: { password: "secret", note: "x", items: [1, 2, 3] },
    query: { reason: "damaged" },
    user: { id: "user-1" },
  });
  const res = new ServerResponse(req);
  return new Promise((resolve) => auditEvents()(req, res, () => resolve(req.auditContext as AuditContext)));
}

async function main(): Promise<void> {
  const store = memoryStore();
  configureAudit({
    store,
    writeMode: "buffered",
    includePostData: true,
    includeQueryParams: true,
    includeHeaders: ["user-agent"],
    flushIntervalMs: 600_000,
    maxBatchSize: 10_000,
  });
  const ours: number[] = [];
  const baseline: number[] = [];
  let stored = 0;
  for (let round = 0; round < rounds; round++) {
    // As in a server: events of a flush window are created, then the writer flushes them.
    let spent = 0;
    for (let done = 0; done < calls; done += WINDOW) {
      const context = await requestContext();
      const start = process.cpuUsage();
      for (let i = 0; i < WINDOW; i++) context.createEvent(order, content).catch(fail);
      spent += cpuMicros(start);
      await flushAudit();
      stored += store.list().length;
      store.clear();
    }
    ours.push(spent / calls);

    let plainSpent = 0;
    let plainCount = 0;
    for (let done = 0; done < calls; done += WINDOW) {
      const plain: unknown[] = [];
      const start = process.cpuUsage();
      for (let i = 0; i < WINDOW; i++) {
        plain.push({ id: randomUUID(), timestamp: new Date(), contentType: "Order", objectId: String(order.id), content: JSON.parse(JSON.stringify({ ...content })) });
      }
      plainSpent += cpuMicros(start);
      plainCount += plain.length;
    }
    baseline.push(plainSpent / calls);
    if (plainCount !== calls) throw new Error("baseline lost events");
  }
  await closeAudit();
  if (stored !== calls * rounds) {
    console.error(`SANITY CHECK FAILED: ${stored} events stored, expected ${calls * rounds}`);
    process.exit(1);
  }
  const ourMedian = median(ours);
  const baseMedian = median(baseline);
  console.log(`createEvent on the request path, buffered mode: ${calls} calls x ${rounds} rounds, Node ${process.version}`);
  console.log("| | CPU µs per call (median) | rounds |");
  console.log("|---|---:|---|");
  console.log(`| createEvent (buffered) | ${ourMedian.toFixed(2)} | ${ours.map((v) => v.toFixed(2)).join(", ")} |`);
  console.log(`| baseline: plain object + push | ${baseMedian.toFixed(2)} | ${baseline.map((v) => v.toFixed(2)).join(", ")} |`);
  console.log(`ratio to baseline: ${(ourMedian / baseMedian).toFixed(2)}x; goal <= 20 µs: ${ourMedian <= 20 ? "met" : "MISSED"}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
