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
 * What wraps the same handler, from nothing to the familiar peer. `writes`: how many audit
 * events each request creates, and in which write mode.
 */
export const VARIANTS = {
  bare: { writes: undefined },
  audit: { writes: undefined },
  "audit-buffered-event": { writes: "buffered" },
  "audit-sync-event": { writes: "sync" },
  pino: { writes: undefined },
} as const satisfies Record<string, { writes: "sync" | "buffered" | undefined }>;
export type Variant = keyof typeof VARIANTS;
export const VARIANT_NAMES = Object.keys(VARIANTS) as Variant[];

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
    case "pino":
      if (framework === "fastify") return "Fastify's own pino request logging to /dev/null";
      return framework === "express" ? "pino-http to /dev/null" : "pino-http to /dev/null (wrapped as koa-pino-logger does)";
  }
}

/** The messages between the benchmark and a server process. */
export type ServerMessage =
  | { type: "ready"; port: number; node: string }
  | { type: "stopped"; handled: number; failed: number; firstError: string | null };
