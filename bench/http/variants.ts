/** The web frameworks the HTTP benchmark serves the same app on. */
export const FRAMEWORKS = ["express", "koa", "fastify"] as const;
export type Framework = (typeof FRAMEWORKS)[number];

/** A framework's name as the report prints it. */
export const FRAMEWORK_NAMES: Readonly<Record<Framework, string>> = { express: "Express", koa: "Koa", fastify: "Fastify" };

const MIDDLEWARE: Readonly<Record<Framework, string>> = {
  express: "`auditEvents()`",
  koa: "`koaAuditEvents()`",
  fastify: "`fastifyAuditEvents` plugin",
};

/**
 * What wraps the same handler, from nothing to the familiar peer. `writes`: the write
 * mode of the one audit event each request creates, if any; `event`: who creates it, the
 * handler (`createEvent` before it answers) or `requestEvents` (after the response).
 */
export const VARIANTS = {
  bare: { writes: undefined, event: undefined },
  audit: { writes: undefined, event: undefined },
  "audit-buffered-event": { writes: "buffered", event: "handler" },
  "audit-sync-event": { writes: "sync", event: "handler" },
  "request-events-buffered": { writes: "buffered", event: "request" },
  "request-events-sync": { writes: "sync", event: "request" },
  pino: { writes: undefined, event: undefined },
} as const satisfies Record<string, { writes: "sync" | "buffered" | undefined; event: "handler" | "request" | undefined }>;
export type Variant = keyof typeof VARIANTS;
export const VARIANT_NAMES = Object.keys(VARIANTS) as Variant[];

/** The options the variant gives the audit middleware. */
export function middlewareOptions(variant: Variant): { requestEvents?: true } {
  return VARIANTS[variant].event === "request" ? { requestEvents: true } : {};
}

/** A variant's row label on one framework. */
export function variantLabel(variant: Variant, framework: Framework): string {
  const middleware = MIDDLEWARE[framework];
  switch (variant) {
    case "bare":
      return `bare ${FRAMEWORK_NAMES[framework]}`;
    case "audit":
      return `${middleware} only`;
    case "audit-buffered-event":
      return `${middleware} + 1 buffered \`createEvent\``;
    case "audit-sync-event":
      return `${middleware} + 1 sync \`createEvent\` (a database round trip per request)`;
    case "request-events-buffered":
      return `${middleware} with \`requestEvents\`, buffered`;
    case "request-events-sync":
      return `${middleware} with \`requestEvents\`, sync (a database round trip per request, after the response)`;
    case "pino":
      if (framework === "fastify") return "Fastify's own pino request logging to /dev/null";
      return framework === "express" ? "pino-http to /dev/null" : "pino-http to /dev/null (wrapped as koa-pino-logger does)";
  }
}

/** The messages between the benchmark and a server process. */
export type ServerMessage =
  | { type: "ready"; port: number; node: string }
  | { type: "marked" }
  | {
      type: "stopped";
      handled: number;
      failed: number;
      firstError: string | null;
      /** Requests handled since the "mark" message (the measured load). */
      measuredHandled: number;
      /** The server process's CPU (user + system, µs) from the mark to the end of its last flush. */
      cpuMicros: number;
      /** The system (kernel) part of `cpuMicros` (µs): socket reads and writes, mostly. */
      systemMicros: number;
      /** The garbage collector's pauses of the main thread over the same span (µs, summed from `gc` performance entries). */
      gcMicros: number;
      /**
       * The event loop's utilization from the mark to the stop (0-1, Node's
       * `performance.eventLoopUtilization()`): below 1, the server waited for requests,
       * so its req/s was bounded by the load generator (or whatever shared its core).
       */
      busy: number;
    };
