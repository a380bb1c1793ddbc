import { DEFAULT_MASK_FIELDS, DEFAULT_MASK_HEADERS, MaskRules } from "../mask-rules";
import {
  DEFAULT_CHECKPOINT_EVERY,
  DEFAULT_CHECKPOINT_INTERVAL_MS,
  DEFAULT_DISABLED,
  DEFAULT_FLUSH_INTERVAL_MS,
  DEFAULT_INCLUDE_HEADERS,
  DEFAULT_INCLUDE_POST_DATA,
  DEFAULT_INCLUDE_QUERY_PARAMS,
  DEFAULT_LOGGER,
  DEFAULT_MAX_BATCH_SIZE,
  DEFAULT_MAX_BUFFERED_EVENTS,
  DEFAULT_MAX_POST_DATA_BYTES,
  DEFAULT_ON_SPOOL_FULL,
  DEFAULT_REQUEST_ID_HEADER,
  DEFAULT_WRITE_MODE,
} from "./defaults";
import type { Enricher } from "../enrichers";
import type { AuditOptions, IntegrityOptions, ResolvedAuditConfig, ResolvedIntegrity } from "./options";
import { resolveIntegrityKeys } from "../integrity/integrity-keys";

const NO_ENRICHERS: readonly Enricher[] = Object.freeze([]);

type MaskingConfig = Pick<ResolvedAuditConfig, "maskFields" | "maskPostFields" | "maskHeaders" | "sensitivePatterns" | "masking">;

/** The masking options, compiled once; a layer that sets none of them keeps its base's rules. */
function resolveMasking(options: Partial<AuditOptions>, base: ResolvedAuditConfig | undefined): MaskingConfig {
  const { maskFields: fields, maskPostFields, maskHeaders: headers, sensitivePatterns: patterns } = options;
  if (base !== undefined && fields === undefined && maskPostFields === undefined && headers === undefined && patterns === undefined) {
    const { maskFields, maskHeaders, sensitivePatterns, masking } = base;
    return { maskFields, maskPostFields: maskFields, maskHeaders, sensitivePatterns, masking };
  }
  const maskFields = Object.freeze([...(fields ?? maskPostFields ?? base?.maskFields ?? DEFAULT_MASK_FIELDS)]);
  const maskHeaders = Object.freeze((headers ?? base?.maskHeaders ?? DEFAULT_MASK_HEADERS).map((h) => h.toLowerCase()));
  const sensitivePatterns = Object.freeze([...(patterns ?? base?.sensitivePatterns ?? [])]);
  const masking = new MaskRules(maskFields, maskHeaders, sensitivePatterns);
  return { maskFields, maskPostFields: maskFields, maskHeaders, sensitivePatterns, masking };
}

/** The `integrity` option, its keys resolved once (and checked: `ERR_AUDIT_CONFIG` naming the fix). */
function resolveIntegrity(integrity: IntegrityOptions): ResolvedIntegrity {
  return Object.freeze({
    keys: resolveIntegrityKeys(integrity.key, "configureAudit(): integrity.key"),
    checkpointEvery: integrity.checkpointEvery ?? DEFAULT_CHECKPOINT_EVERY,
    checkpointIntervalMs: integrity.checkpointIntervalMs ?? DEFAULT_CHECKPOINT_INTERVAL_MS,
  });
}

/** Resolves validated options over `base` (or over the defaults). */
export function resolveOptions(options: Partial<AuditOptions>, base?: ResolvedAuditConfig): ResolvedAuditConfig {
  const maskingOptions = resolveMasking(options, base);
  const includeHeaders = Object.freeze(
    (options.includeHeaders ?? base?.includeHeaders ?? DEFAULT_INCLUDE_HEADERS).map((h) => h.toLowerCase()),
  );
  return Object.freeze({
    store: options.store ?? base?.store,
    cursorSecret: options.cursorSecret ?? base?.cursorSecret,
    includeQueryParams: options.includeQueryParams ?? base?.includeQueryParams ?? DEFAULT_INCLUDE_QUERY_PARAMS,
    includePostData: options.includePostData ?? base?.includePostData ?? DEFAULT_INCLUDE_POST_DATA,
    ...maskingOptions,
    includeHeaders,
    clientIpResolver: options.clientIpResolver ?? base?.clientIpResolver,
    userResolver: options.userResolver ?? base?.userResolver,
    tenantResolver: options.tenantResolver ?? base?.tenantResolver,
    requestIdHeader: options.requestIdHeader?.toLowerCase() ?? base?.requestIdHeader ?? DEFAULT_REQUEST_ID_HEADER,
    enrichers: options.enrichers !== undefined ? Object.freeze([...options.enrichers]) : (base?.enrichers ?? NO_ENRICHERS),
    maxPostDataBytes: options.maxPostDataBytes ?? base?.maxPostDataBytes ?? DEFAULT_MAX_POST_DATA_BYTES,
    contentTypeResolver: options.contentTypeResolver ?? base?.contentTypeResolver,
    writeMode: options.writeMode ?? base?.writeMode ?? DEFAULT_WRITE_MODE,
    flushIntervalMs: options.flushIntervalMs ?? base?.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS,
    maxBatchSize: options.maxBatchSize ?? base?.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE,
    maxBufferedEvents: options.maxBufferedEvents ?? base?.maxBufferedEvents ?? DEFAULT_MAX_BUFFERED_EVENTS,
    spool: options.spool ?? base?.spool,
    onSpoolFull: options.onSpoolFull ?? base?.onSpoolFull ?? DEFAULT_ON_SPOOL_FULL,
    onMetrics: options.onMetrics ?? base?.onMetrics,
    logger: options.logger ?? base?.logger ?? DEFAULT_LOGGER,
    disabled: options.disabled ?? base?.disabled ?? DEFAULT_DISABLED,
    integrity: options.integrity !== undefined ? resolveIntegrity(options.integrity) : base?.integrity,
  });
}
