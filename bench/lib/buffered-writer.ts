import * as audit from "../../src/index";

/** Whether this build has the buffered writer of API.md ("Write path"), and why not. */
export type BufferedWriterSupport = { available: true } | { available: false; reason: string };

/** `closeAudit()` of API.md, looked up by name so this compiles before the writer exists. */
export function closeAuditFunction(): (() => Promise<void>) | undefined {
  const closeAudit = (audit as Record<string, unknown>).closeAudit;
  return typeof closeAudit === "function" ? (closeAudit as () => Promise<void>) : undefined;
}

/**
 * Asks the library itself: a build without the writer rejects `writeMode` as an unknown
 * option (AuditConfigError) or lacks `closeAudit()`. Either way it leaves the configuration
 * at its defaults. A benchmark prints "not available on this build" for the buffered rows then,
 * never a figure.
 *
 * @example
 * ```ts
 * const buffered = await bufferedWriterSupport();
 * if (!buffered.available) log("writer", `buffered writer: ${buffered.reason}`);
 * ```
 */
export async function bufferedWriterSupport(): Promise<BufferedWriterSupport> {
  const closeAudit = closeAuditFunction();
  try {
    if (closeAudit === undefined) return { available: false, reason: "audit-events exports no closeAudit()" };
    audit.configureAudit({ store: audit.memoryStore(), writeMode: "buffered" } as audit.AuditOptions);
    await closeAudit();
    return { available: true };
  } catch (error) {
    if (error instanceof audit.AuditConfigError) return { available: false, reason: error.message };
    throw error;
  } finally {
    audit.configureAudit({});
  }
}
