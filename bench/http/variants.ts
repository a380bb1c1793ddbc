/** The web frameworks the HTTP benchmark serves the same app on. */
export const FRAMEWORKS = ["express", "koa"] as const;
export type Framework = (typeof FRAMEWORKS)[number];

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
  const middleware = framework === "express" ? "`auditEvents()`" : "`koaAuditEvents()`";
  switch (variant) {
    case "bare":
      return `bare ${framework === "express" ? "Express" : "Koa"}`;
    case "audit":
      return `${middleware} only`;
    case "audit-buffered-event":
      return `${middleware} + 1 buffered \`createEvent\``;
    case "audit-sync-event":
      return `${middleware} + 1 sync \`createEvent\` (a database round trip per request)`;
    case "pino":
      return framework === "express" ? "pino-http to /dev/null" : "pino-http to /dev/null (wrapped as koa-pino-logger does)";
  }
}

/** The messages between the benchmark and a server process. */
export type ServerMessage =
  | { type: "ready"; port: number; node: string }
  | { type: "stopped"; handled: number; failed: number; firstError: string | null };
