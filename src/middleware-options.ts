import { LayeredConfig } from "./config/configure";
import { PROCESS_WIDE_OPTIONS, validateOptions } from "./config/validate-options";
import { AuditConfigError } from "./errors";

/**
 * Validates a middleware factory's options once, at creation, and catches the
 * factory itself being registered as middleware (`app.use(auditEvents)`).
 *
 * @throws {AuditConfigError} naming the fix.
 */
export function middlewareConfig(factory: string, options: unknown, extraArgs: number): LayeredConfig {
  if (extraArgs > 0 || (typeof options === "object" && options !== null && ("headers" in options || "req" in options))) {
    throw new AuditConfigError(`${factory} was registered without being called: write app.use(${factory}()), not app.use(${factory}).`);
  }
  const validated = validateOptions(options, `${factory}()`);
  const processWide = PROCESS_WIDE_OPTIONS.filter((key) => validated[key] !== undefined);
  if (processWide.length > 0) {
    throw new AuditConfigError(
      `${factory}(): ${processWide.join(", ")} set(s) up the process's one write path; pass it to configureAudit() instead.`,
    );
  }
  return new LayeredConfig(validated);
}
