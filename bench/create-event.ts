/**
 * CPU per `createEvent` on the request path in buffered mode, and the event-loop stall of
 * one `createEvent` on a large request body.
 *
 *   npx tsx bench/create-event.ts [--calls 20000] [--rounds 7] [--samples 15] [--smoke]
 *
 * A request goes through the real `auditEvents()` middleware (a Node IncomingMessage and
 * ServerResponse, with the body, user and headers an Express app would have), then
 * `req.auditContext.createEvent(order, content)` is called in windows of 200 calls
 * without awaiting, as the requests of one 200 ms flush window would (1000 requests a
 * second); only the calls are timed, then the writer flushes them to a memory store
 * (untimed) and they are counted. CPU is `process.cpuUsage()` (user + system) divided by the calls; the median
 * of the rounds is reported, against a baseline measured in the same rounds: building
 * the same event as a plain object (uuid, Date, spread content, JSON.stringify) and
 * pushing it on an array, the least any buffered audit log does. A second row times what
 * a server does per request: each of a window's 200 fresh requests goes through one
 * `auditEvents()` middleware and creates one event (so nothing is reused between events:
 * the URL, query, body and headers are masked for each), the middleware's work included.
 *
 * Large bodies: a request whose parsed body is 100 KB, 1 MB or 10 MB of JSON, a 10 MB text
 * body, or 100 000 keys (JSON and urlencoded), with `includePostData` and the default
 * `maxPostDataBytes` (16 KB). The wall time of one `createEvent` call (its synchronous part,
 * which is what blocks the event loop: the record is built there) is the median of the
 * samples, against a body of the cap's own size in the same run; goal: under 5 ms for any
 * body. Rows "without Content-Length" are requests that declare no size (chunked), which
 * the masking walk cannot skip by their declared size.
 *
 * Chaining (`integrity`): the CPU per event of creating and writing it into a memory store,
 * with and without `integrity`, in the same rounds: buffered (the calls and the flush that
 * chains them, both timed, since chain positions are taken when a batch is written) and
 * sync (each call awaited: chained in a lane). The difference is what chaining costs an
 * event (its canonical JSON and SHA-256, the checkpoints); goal: at most 5 µs.
 */
import { IncomingMessage, ServerResponse } from "node:http";
import { Socket } from "node:net";
import { randomUUID } from "node:crypto";
import { parseArgs } from "node:util";
import { EXAMPLE_SENSITIVE_PATTERNS } from "../examples/sensitive-patterns";
import { goalLine } from "./lib/goals";
import { auditEvents, closeAudit, configureAudit, flushAudit, getAuditConfig, memoryStore, type AuditContext } from "../src";

const USAGE = "usage: npx tsx bench/create-event.ts [--calls 20000] [--rounds 7] [--samples 15] [--smoke]";
/** The command line, read by node:util's parseArgs (strict: an unknown or malformed argument prints the usage and exits 2). */
const args = (() => {
  try {
    return parseArgs({
      options: { calls: { type: "string" }, rounds: { type: "string" }, samples: { type: "string" }, smoke: { type: "boolean" }, help: { type: "boolean", short: "h" } },
      strict: true,
    }).values;
  } catch (error) {
    console.error(`${(error as Error).message}\n${USAGE}`);
    process.exit(2);
  }
})();
if (args.help) {
  console.log(USAGE);
  process.exit(0);
}

function option(name: "calls" | "rounds" | "samples", fallback: number): number {
  const text = args[name];
  if (text === undefined) return fallback;
  const value = Number(text.replaceAll("_", ""));
  if (!Number.isSafeInteger(value) || value < 1) {
    console.error(`--${name} needs a whole number of 1 or more (got ${text})\n${USAGE}`);
    process.exit(2);
  }
  return value;
}

const smoke = args.smoke === true;
/** Events per flush window: 1000 requests a second, each with one event, flushed every 200 ms. */
const WINDOW = 200;
const calls = option("calls", smoke ? 2000 : 20_000);
const rounds = option("rounds", smoke ? 2 : 7);
const samples = option("samples", smoke ? 3 : 15);
/** Goal of the large-body rows: one createEvent blocks the event loop for less than this. */
const STALL_GOAL_MS = 5;
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

type BenchRequest = IncomingMessage & Record<string, unknown>;

/** A request as Express hands it to middleware, with its response. */
function freshRequest(): { req: BenchRequest; res: ServerResponse } {
  const req = new IncomingMessage(new Socket()) as BenchRequest;
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
  return { req, res: new ServerResponse(req) };
}

/** A request's context, as the middleware gives it. */
function requestContext(): Promise<AuditContext> {
  const { req, res } = freshRequest();
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
  const perRequest: number[] = [];
  const baseline: number[] = [];
  const middleware = auditEvents();
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

    // As in a server: each request gets its context from the middleware and creates one event.
    let requestSpent = 0;
    for (let done = 0; done < calls; done += WINDOW) {
      const requests = Array.from({ length: WINDOW }, freshRequest);
      const start = process.cpuUsage();
      for (const { req, res } of requests) middleware(req, res, () => void (req.auditContext as AuditContext).createEvent(order, content).catch(fail));
      requestSpent += cpuMicros(start);
      await flushAudit();
      stored += store.list().length;
      store.clear();
    }
    perRequest.push(requestSpent / calls);

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
  if (stored !== 2 * calls * rounds) {
    console.error(`SANITY CHECK FAILED: ${stored} events stored, expected ${2 * calls * rounds}`);
    process.exit(1);
  }
  const ourMedian = median(ours);
  const requestMedian = median(perRequest);
  const baseMedian = median(baseline);
  console.log("## createEvent on the request path: `bench/create-event.ts`", "\n");
  console.log(`createEvent on the request path, buffered mode: ${calls} calls x ${rounds} rounds, Node ${process.version}`);
  console.log("| | CPU µs per call (median) | rounds |");
  console.log("|---|---:|---|");
  console.log(`| createEvent (buffered) | ${ourMedian.toFixed(2)} | ${ours.map((v) => v.toFixed(2)).join(", ")} |`);
  console.log(`| \`auditEvents()\` + createEvent, one event per request | ${requestMedian.toFixed(2)} | ${perRequest.map((v) => v.toFixed(2)).join(", ")} |`);
  console.log(`| baseline: plain object + push | ${baseMedian.toFixed(2)} | ${baseline.map((v) => v.toFixed(2)).join(", ")} |`);
  console.log(`ratio to baseline: ${(ourMedian / baseMedian).toFixed(2)}x`);
  console.log(
    goalLine({
      issue: "#4",
      goal: "a buffered `createEvent` on the request path <= 20 µs of CPU a call (median)",
      measured: `${ourMedian.toFixed(2)} µs, ${(ourMedian / baseMedian).toFixed(2)}x the baseline`,
      anchor: `a plain object built and pushed ${baseMedian.toFixed(2)} µs`,
      met: ourMedian <= 20,
    }),
  );
  console.log(
    `one event per request (the middleware's work included; a request's masked URL, query, body and headers are not shared with other events): ${requestMedian.toFixed(2)} µs, ` +
      `${(requestMedian / baseMedian).toFixed(2)}x the baseline; the flush's share is measured by bench:http (server CPU per event)`,
  );
}

/** A request body as a parser hands it over, and what the request said of its size. */
interface LargeBody {
  name: string;
  body: unknown;
  contentType: string;
  /** The raw body's size, sent as Content-Length; undefined for a chunked request. */
  contentLength: number | undefined;
  /**
   * What the stored post data must be: the whole body (the cap-sized baseline), the
   * truncation marker, or (a text body, which cannot be masked) its type and size.
   */
  stored: "whole" | "truncated" | "size";
  /** The request's path, when not the default. */
  path?: string;
  /** Headers to record besides the defaults. */
  headers?: Record<string, string>;
  /** Configure the README's example sensitivePatterns for this row. */
  patterns?: boolean;
}

/** A JSON array of order lines whose text is about `bytes` long, parsed as express.json() would. */
function jsonOfSize(bytes: number): { body: unknown; raw: number } {
  const line = { sku: "SKU-000000", quantity: 3, price: "12.50", note: "gift wrap, leave at the door" };
  const lineBytes = JSON.stringify(line).length + 1;
  const text = JSON.stringify({ lines: Array.from({ length: Math.max(1, Math.floor((bytes - 12) / lineBytes)) }, (_, i) => ({ ...line, sku: `SKU-${String(i).padStart(6, "0")}` })) });
  return { body: JSON.parse(text), raw: Buffer.byteLength(text) };
}

/** How long express.json()'s JSON.parse of the 100 000-key body takes: the stall an app pays before ours. */
let keysParseMs = NaN;

function largeBodies(cap: number): LargeBody[] {
  const atCap = jsonOfSize(cap - 200);
  const kb100 = jsonOfSize(100 * 1024);
  const mb1 = jsonOfSize(1024 * 1024);
  const mb10 = jsonOfSize(10 * 1024 * 1024);
  const text = "x".repeat(10 * 1024 * 1024);
  const keysText = JSON.stringify(Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`field${i}`, `value${i}`])));
  const keysJson: unknown = JSON.parse(keysText);
  keysParseMs = median(Array.from({ length: samples }, () => {
    const start = performance.now();
    JSON.parse(keysText);
    return performance.now() - start;
  }));
  const form = Array.from({ length: 100_000 }, (_, i) => `field${i}=value${i}`).join("&");
  const formBody = Object.assign(Object.create(null) as object, keysJson);
  const json = "application/json";
  return [
    { name: `JSON at the cap (${(atCap.raw / 1024).toFixed(1)} KB), baseline`, body: atCap.body, contentType: json, contentLength: atCap.raw, stored: "whole" },
    { name: "JSON, 100 KB", body: kb100.body, contentType: json, contentLength: kb100.raw, stored: "truncated" },
    { name: "JSON, 1 MB", body: mb1.body, contentType: json, contentLength: mb1.raw, stored: "truncated" },
    { name: "JSON, 10 MB", body: mb10.body, contentType: json, contentLength: mb10.raw, stored: "truncated" },
    { name: "text, 10 MB", body: text, contentType: "text/plain", contentLength: text.length, stored: "size" },
    { name: "JSON, 100 000 keys", body: keysJson, contentType: json, contentLength: keysText.length, stored: "truncated" },
    { name: "urlencoded, 100 000 params", body: formBody, contentType: "application/x-www-form-urlencoded", contentLength: form.length, stored: "truncated" },
    { name: "15 KB word characters in the URL, README's sensitivePatterns", body: {}, contentType: json, contentLength: 2, stored: "whole", path: `/${"a".repeat(15_000)}`, patterns: true },
    { name: "15 KB word characters in a recorded header, README's sensitivePatterns", body: {}, contentType: json, contentLength: 2, stored: "whole", headers: { "user-agent": "a".repeat(15_000) }, patterns: true },
    { name: "15 KB digits in a body field, README's sensitivePatterns", body: { s: "1".repeat(15_000) }, contentType: json, contentLength: 15_010, stored: "whole", patterns: true },
    { name: "JSON, 10 MB, without Content-Length", body: mb10.body, contentType: json, contentLength: undefined, stored: "truncated" },
    { name: "JSON, 100 000 keys, without Content-Length", body: keysJson, contentType: json, contentLength: undefined, stored: "truncated" },
  ];
}

function bodyContext(large: LargeBody): Promise<AuditContext> {
  const req = new IncomingMessage(new Socket()) as IncomingMessage & Record<string, unknown>;
  const headers: Record<string, string> = { host: "shop.example", "content-type": large.contentType, ...large.headers };
  if (large.contentLength !== undefined) headers["content-length"] = String(large.contentLength);
  const url = large.path ?? "/orders/42";
  Object.assign(req, { method: "POST", url, originalUrl: url, headers, ip: "203.0.113.7", body: large.body, user: { id: "user-1" } });
  return new Promise((resolve) => auditEvents()(req, new ServerResponse(req), () => resolve(req.auditContext as AuditContext)));
}

/** The stall of one createEvent per large body, as a Markdown table. */
async function largeBodyStalls(): Promise<string[]> {
  const store = memoryStore();
  configureAudit({ store, writeMode: "buffered", includePostData: true, flushIntervalMs: 600_000 });
  const cap = getAuditConfig().maxPostDataBytes;
  const rows: { name: string; median: number; max: number }[] = [];
  for (const large of largeBodies(cap)) {
    configureAudit({
      store,
      writeMode: "buffered",
      includePostData: true,
      includeHeaders: ["user-agent"],
      flushIntervalMs: 600_000,
      sensitivePatterns: large.patterns === true ? EXAMPLE_SENSITIVE_PATTERNS : [],
    });
    const times: number[] = [];
    for (let i = 0; i < samples; i++) {
      const context = await bodyContext(large);
      const start = performance.now();
      const written = context.createEvent(order, content);
      times.push(performance.now() - start);
      const record = await written;
      const postData = record.postData as { _truncated?: boolean; _contentType?: string; _bytes?: number };
      const stored = postData._truncated === true ? "truncated" : postData._contentType !== undefined && postData._bytes !== undefined ? "size" : "whole";
      if (stored !== large.stored) throw new Error(`SANITY CHECK FAILED: ${large.name}: post data stored as ${stored}, expected ${large.stored}`);
    }
    await flushAudit();
    if (store.list().length !== samples) throw new Error(`SANITY CHECK FAILED: ${large.name}: ${store.list().length} events stored, expected ${samples}`);
    store.clear();
    rows.push({ name: large.name, median: median(times), max: Math.max(...times) });
  }
  await closeAudit();
  const baseline = rows[0]!.median;
  const lines = [
    "",
    `One createEvent on a large body, maxPostDataBytes ${cap}: wall time of the call (the event-loop stall), median of ${samples} samples, Node ${process.version}`,
    "| body | ms (median) | ms (max) | vs body at the cap | goal < 5 ms |",
    "|---|---:|---:|---:|---|",
  ];
  for (const row of rows) {
    lines.push(`| ${row.name} | ${row.median.toFixed(3)} | ${row.max.toFixed(3)} | ${(row.median / baseline).toFixed(2)}x | ${row.median < STALL_GOAL_MS ? "met" : "MISSED"} |`);
  }
  lines.push(
    "",
    `For scale: JSON.parse of the 100 000-key body (what express.json() does before any middleware sees it) took ${keysParseMs.toFixed(3)} ms (median) in this run. ` +
      "Without a declared size, the walk must list the object's keys, which V8 does whole (Object.keys, for-in and JSON.stringify alike).",
  );
  const slowest = rows.reduce((a, b) => (b.median > a.median ? b : a));
  lines.push(
    "",
    goalLine({
      issue: "#11",
      goal: `one \`createEvent\` on any body stalls the event loop < ${STALL_GOAL_MS} ms (median), maxPostDataBytes ${cap}`,
      measured: `slowest ${slowest.median.toFixed(3)} ms (${slowest.name}); ${rows.filter((row) => row.median < STALL_GOAL_MS).length} of ${rows.length} bodies under`,
      anchor: `a JSON body at the cap ${baseline.toFixed(3)} ms`,
      met: rows.every((row) => row.median < STALL_GOAL_MS),
    }),
  );
  return lines;
}

/** Goal of issue #13: what chaining adds to an event's CPU, in µs. */
const CHAINING_GOAL_MICROS = 5;
const INTEGRITY = { key: "bench-integrity-key-0123456789abcdef" };

/** CPU µs per event created and written to a memory store, buffered (calls and flush) or sync. */
async function writeCost(mode: "buffered" | "sync", chained: boolean): Promise<number> {
  const store = memoryStore();
  configureAudit({
    store,
    writeMode: mode,
    includePostData: true,
    includeQueryParams: true,
    includeHeaders: ["user-agent"],
    flushIntervalMs: 600_000,
    maxBatchSize: 10_000,
    ...(chained && { integrity: INTEGRITY }),
  });
  let spent = 0;
  let checkpoints = 0;
  for (let done = 0; done < calls; done += WINDOW) {
    const context = await requestContext();
    const start = process.cpuUsage();
    if (mode === "buffered") {
      for (let i = 0; i < WINDOW; i++) context.createEvent(order, content).catch(fail);
      await flushAudit();
    } else {
      for (let i = 0; i < WINDOW; i++) await context.createEvent(order, content);
    }
    spent += cpuMicros(start);
    const events = store.list();
    if (events.length !== WINDOW || events.some((e) => (e.hash !== null) !== chained)) {
      console.error(`SANITY CHECK FAILED: ${events.length} events stored (expected ${WINDOW}), chained: ${events.filter((e) => e.hash !== null).length}`);
      process.exit(1);
    }
    checkpoints += store.listCheckpoints().length;
    store.clear();
  }
  await closeAudit();
  checkpoints += store.listCheckpoints().length;
  if (chained && checkpoints === 0) {
    console.error("SANITY CHECK FAILED: no checkpoint was written with integrity");
    process.exit(1);
  }
  return spent / calls;
}

async function chainingCost(): Promise<string[]> {
  const lines = ["", `Chaining (\`integrity\`): CPU µs per event created and written to a memory store, ${calls} events x ${rounds} rounds, medians`, "| mode | without integrity | with integrity | chaining costs | rounds (with - without) |", "|---|---:|---:|---:|---|"];
  const goals: string[] = [];
  for (const mode of ["buffered", "sync"] as const) {
    const plain: number[] = [];
    const chained: number[] = [];
    for (let round = 0; round < rounds; round++) {
      plain.push(await writeCost(mode, false));
      chained.push(await writeCost(mode, true));
    }
    const differences = chained.map((value, i) => value - plain[i]!);
    const cost = median(differences);
    lines.push(`| ${mode} | ${median(plain).toFixed(2)} | ${median(chained).toFixed(2)} | ${cost.toFixed(2)} (goal <= ${CHAINING_GOAL_MICROS}: ${cost <= CHAINING_GOAL_MICROS ? "met" : "MISSED"}) | ${differences.map((v) => v.toFixed(2)).join(", ")} |`);
    goals.push(
      goalLine({
        issue: "#13",
        goal: `chaining (\`integrity\`) adds <= ${CHAINING_GOAL_MICROS} µs of CPU an event, ${mode} mode`,
        measured: `${cost.toFixed(2)} µs`,
        anchor: `the same event without integrity ${median(plain).toFixed(2)} µs`,
        met: cost <= CHAINING_GOAL_MICROS,
      }),
    );
  }
  lines.push("", ...goals);
  configureAudit({});
  return lines;
}

main()
  .then(largeBodyStalls)
  .then(async (lines) => [...lines, ...(await chainingCost())])
  .then((lines) => console.log(lines.join("\n")))
  .catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
