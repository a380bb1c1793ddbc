import type { AuditOptions, ResolvedAuditConfig } from "./options";
import { resolveOptions } from "./resolve-options";
import { validateOptions } from "./validate-options";
import { requireIntegrityStore } from "../integrity/integrity-store";

let current: ResolvedAuditConfig = resolveOptions({});
let version = 0;
const listeners: ((config: ResolvedAuditConfig) => void)[] = [];

/** Calls `listener` with the new configuration after each `configureAudit()`. */
export function onConfigure(listener: (config: ResolvedAuditConfig) => void): void {
  listeners.push(listener);
}

/**
 * Sets the process-wide configuration. Each call replaces the last one entirely:
 * options not given take their defaults.
 *
 * @example
 * ```ts
 * configureAudit({ store: prismaStore(prisma), includePostData: true, includeHeaders: ["user-agent"] });
 * ```
 * @throws {AuditConfigError} for unknown options or values of the wrong type;
 * `ERR_AUDIT_STORE_SCHEMA` when `integrity` is given with a store whose model lacks the
 * chain columns or the checkpoint model (naming the migration
 * `20261202000000_audit_events_integrity`), `ERR_AUDIT_CONFIG` with a store that keeps no
 * checkpoints.
 */
export function configureAudit(options: AuditOptions): void {
  const resolved = resolveOptions(validateOptions(options, "configureAudit()"));
  // A store that cannot keep chains is refused now, not at the first event.
  if (resolved.integrity !== undefined && resolved.store !== undefined && !resolved.disabled) requireIntegrityStore(resolved.store);
  current = resolved;
  version++;
  for (const listener of listeners) listener(current);
}

/**
 * Returns the configuration in force, every option resolved.
 *
 * @example
 * ```ts
 * getAuditConfig().maskFields // DEFAULT_MASK_FIELDS
 * ```
 */
export function getAuditConfig(): ResolvedAuditConfig {
  return current;
}

/**
 * Middleware options laid over whatever `configureAudit()` has set, re-resolved only
 * when the process-wide configuration changes, so a request pays a comparison.
 */
export class LayeredConfig {
  private resolvedFor = -1;
  private resolved: ResolvedAuditConfig = current;

  constructor(private readonly overrides: Partial<AuditOptions>) {}

  /** The configuration a request context uses now. */
  get(): ResolvedAuditConfig {
    if (this.resolvedFor !== version) {
      this.resolved = resolveOptions(this.overrides, current);
      this.resolvedFor = version;
    }
    return this.resolved;
  }
}
