// One server process of the HTTP benchmark: `server.ts <framework> <variant>`, started by
// bench/http.ts over IPC (pinned to its own core), on whichever Node is being measured.
// Variants that write events connect to AUDIT_BENCH_DB_URL through one `pg` Pool, which
// PrismaPg and (buffered mode) the store's `pgPool` share. On "mark" (after the warm-up) it
// flushes what the warm-up buffered and starts counting its CPU; on "stop" it closes, flushes
// (buffered mode), reports its tally, the CPU it spent since the mark and how busy its event
// loop was under the load, and exits.
import { createServer } from "node:http";
import { performance, PerformanceObserver } from "node:perf_hooks";

import { PrismaPg } from "@prisma/adapter-pg";
import { Pool } from "pg";

import { PrismaClient } from "../../generated/postgresql/client/client";
import { auditMetrics, closeAudit, configureAudit, flushAudit, prismaStore } from "../../src/index";
import { expressApp } from "./express-app";
import { fastifyApp } from "./fastify-app";
import { koaApp } from "./koa-app";
import { RequestTally } from "./request-tally";
import { FRAMEWORKS, VARIANT_NAMES, VARIANTS, type Framework, type ServerMessage, type Variant } from "./variants";

function send(message: ServerMessage): void {
  process.send!(message);
}

async function main(): Promise<void> {
  const [framework, variant] = process.argv.slice(2) as [Framework, Variant];
  if (process.send === undefined) throw new Error("bench/http/server.ts runs as a child of bench/http.ts (it needs an IPC channel)");
  if (!FRAMEWORKS.includes(framework) || !VARIANT_NAMES.includes(variant)) throw new Error(`unknown framework or variant: ${framework} ${variant}`);

  const writes = VARIANTS[variant].writes;
  let prisma: PrismaClient | undefined;
  let pool: Pool | undefined;
  if (writes !== undefined) {
    const url = process.env.AUDIT_BENCH_DB_URL;
    if (!url) throw new Error("AUDIT_BENCH_DB_URL is not set");
    pool = new Pool({ connectionString: url });
    prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
    await prisma.$connect();
    // Buffered: the store writes its batches through the pool PrismaPg uses (COPY where the store does).
    const store = writes === "buffered" ? prismaStore(prisma, { pgPool: pool }) : prismaStore(prisma);
    configureAudit({ store, ...(writes === "buffered" ? { writeMode: "buffered" as const } : {}) });
  }

  const tally = new RequestTally();
  let listener: Parameters<typeof createServer>[1];
  if (framework === "express") listener = expressApp(variant, tally);
  else if (framework === "koa") listener = koaApp(variant, tally).callback();
  else {
    // Fastify's own request handler, on the same kind of server as the others.
    const app = await fastifyApp(variant, tally);
    listener = (req, res) => app.routing(req, res);
  }
  const server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  send({ type: "ready", port: (server.address() as { port: number }).port, node: process.version });

  /** The garbage collector's pauses on the main thread since the mark (ms, summed). */
  let gcMillis = 0;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) gcMillis += entry.duration;
  }).observe({ entryTypes: ["gc"] });
  /** The CPU and requests at the mark: what the measured load (and its flush) is counted from. */
  let mark = { cpu: process.cpuUsage(), handled: 0, loop: performance.eventLoopUtilization() };
  process.on("message", async (message: { type?: string }) => {
    if (message.type === "mark") {
      await tally.idle();
      if (writes === "buffered") await flushAudit();
      mark = { cpu: process.cpuUsage(), handled: tally.handled, loop: performance.eventLoopUtilization() };
      gcMillis = 0;
      send({ type: "marked" });
      return;
    }
    if (message.type !== "stop") return;
    // Read before the close and its flush: the share of the measured load's wall time the event loop worked.
    const busy = performance.eventLoopUtilization(mark.loop).utilization;
    await new Promise((resolve) => {
      server.close(resolve);
      server.closeAllConnections();
    });
    await tally.idle();
    // Request events are written after the responses: wait for the last ones to land.
    if (VARIANTS[variant].event === "request") {
      const deadline = Date.now() + 10_000;
      while (auditMetrics().written + auditMetrics().buffered < tally.handled && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    }
    if (writes === "buffered") await closeAudit();
    const cpu = process.cpuUsage(mark.cpu);
    // The observer's last entries come in a later task.
    await new Promise((resolve) => setImmediate(resolve));
    await prisma?.$disconnect();
    await pool?.end();
    send({ type: "stopped", handled: tally.handled, failed: tally.failed, firstError: tally.firstError, measuredHandled: tally.handled - mark.handled, cpuMicros: cpu.user + cpu.system, systemMicros: cpu.system, gcMicros: Math.round(gcMillis * 1000), busy });
    process.disconnect();
  });
}

main().catch((error: unknown) => {
  console.error("bench/http/server.ts:", error);
  process.exit(1);
});
