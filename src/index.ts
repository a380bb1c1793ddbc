export { auditAccess, auditEvents, type ExpressLikeRequest } from "./adapters/express";
export { koaAuditAccess, koaAuditEvents, type KoaLikeContext } from "./adapters/koa";
export { fastifyAuditAccess, fastifyAuditEvents, type FastifyLikeRequest } from "./adapters/fastify";
export {
  accessDecisionOf,
  ACCESS_FAILED_BODY,
  ACCESS_REQUEST_ACTION,
  DEFAULT_HOOK_TIMEOUT_MS,
  MAX_REASON_CHARS,
  type AccessDecision,
  type AuditAccessOptions,
} from "./access";
export {
  CLIENT_CLOSED_REQUEST,
  REQUEST_TIMEOUT,
  REQUEST_CONTENT_TYPE,
  requestEventLevel,
  skipRequestEvent,
  UNKNOWN_ROUTE,
  UNMATCHED_ROUTE,
} from "./request-events";
export { ANSWER_WAITS_FOR_EVENT_MS } from "./bounded-event-write";
export type { RequestEventsOption, RequestEventsOptions } from "./config/request-events-options";
export type { AuditMiddlewareOptions } from "./middleware-options";
export {
  archiveOldEvents,
  countArchivableEvents,
  AuditArchiveError,
  DEFAULT_ARCHIVE_BATCH_SIZE,
  DEFAULT_ARCHIVE_CONCURRENCY,
  DEFAULT_OLDER_THAN_DAYS,
  MAX_ARCHIVE_BATCH_SIZE,
  MAX_ARCHIVE_CONCURRENCY,
  type ArchiveOptions,
  type ArchiveProgress,
  type ArchiveResult,
} from "./archive/archive";
export {
  scheduleArchival,
  DEFAULT_ARCHIVE_CRON,
  type ArchivalSchedule,
  type ArchiveLogger,
  type ScheduleArchivalOptions,
} from "./archive/schedule";
export { currentAuditContext, runWithAuditContext } from "./async-context";
export { normalizeClientIp } from "./client-ip";
export { CONTENT_WALK_MAX_BYTES } from "./serialize";
export {
  ACTION_MAX_CHARS,
  CONTENT_TYPE_MAX_CHARS,
  CUT_MARKER,
  JSON_COLUMN_MAX_BYTES,
  JSON_COLUMN_MAX_DEPTH,
  JSON_DEPTH_MARKER,
  METHOD_MAX_CHARS,
  OBJECT_ID_MAX_CHARS,
  REMOTE_ADDR_MAX_CHARS,
  REQUEST_ID_MAX_CHARS,
  TENANT_ID_MAX_CHARS,
  URL_MAX_BYTES,
  USER_ID_MAX_CHARS,
} from "./column-limits";
export { auditModels, type AccessInfo, type AuditModelsExtension, type AuditModelsOptions, type AuditModelsQuery, type ModelAccess, type ReadDecision } from "./audit-models";
export { configureAudit, getAuditConfig } from "./config/configure";
export {
  DEFAULT_INCLUDE_HEADERS,
  DEFAULT_INCLUDE_POST_DATA,
  DEFAULT_INCLUDE_QUERY_PARAMS,
  DEFAULT_MASK_POST_FIELDS,
  DEFAULT_MAX_POST_DATA_BYTES,
  DEFAULT_WRITE_MODE,
  DEFAULT_FLUSH_INTERVAL_MS,
  DEFAULT_MAX_BATCH_SIZE,
  DEFAULT_MAX_BUFFERED_EVENTS,
  DEFAULT_ON_SPOOL_FULL,
  DEFAULT_DISABLED,
  DEFAULT_REQUEST_ID_HEADER,
  DEFAULT_LOGGER,
  DEFAULT_CHECKPOINT_EVERY,
  DEFAULT_CHECKPOINT_INTERVAL_MS,
} from "./config/defaults";
export type { AuditOptions, SpoolFullPolicy, WriteMode, ResolvedAuditConfig, ResolverRequest, IntegrityOptions, ResolvedIntegrity } from "./config/options";
export type { AuditCheckpointRecord, CheckpointQuery } from "./model/checkpoint";
export type { ContentObjectRef, ContentObjectResolver } from "./content-object";
export {
  AuditContext,
  AuditEventDraft,
  type AuditContextInit,
  type CreateEventOptions,
  type CreateEventsItem,
  type RequestSnapshot,
} from "./context";
export type { Enricher, EnricherContext, EnricherEvent } from "./enrichers";
export { AuditAccessDeniedError, AuditConfigError, AuditError, AuditStoreError, type AuditErrorCode } from "./errors";
export {
  DEFAULT_OUTCOME,
  DEFAULT_SEVERITY,
  EVENT_OUTCOMES,
  EVENT_SEVERITIES,
  type ArchivedAuditEventRecord,
  type AuditEventRecord,
  type EventOutcome,
  type EventSeverity,
} from "./model/event-record";
export type { JsonObject, JsonValue } from "./model/json";
export {
  countEvents,
  eventsOfUser,
  findEvents,
  historyOf,
  iterateEvents,
  summarizeEvents,
  ITERATION_PAGE_SIZE,
  type EventPage,
} from "./query/find-events";
export type { AuditQuery, FindEventsQuery } from "./query/audit-query";
export type {
  ContentValue,
  EventFilter,
  EventOrder,
  EventPageRequest,
  EventPosition,
  EventSource,
  EventSummary,
  JsonEventPage,
} from "./model/event-filter";
export { parseEventFilter, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from "./query/parse-query";
export { AuditQueryError } from "./query/query-error";
export { tenantScopedStore } from "./query/tenant-scope";
export { EARLIEST_INSTANT, LATEST_INSTANT } from "./query/instant-range";
export type { CursorSecret } from "./query/cursor";
export {
  exportEvents,
  EXPORT_FORMATS,
  type ExportFormat,
  type ExportOptions,
  type ExportQuery,
} from "./export/export-events";
export { auditRouter } from "./http/express-router";
export { koaAuditRouter, type KoaAuditRouterOptions, type KoaRouterContext } from "./http/koa-router";
export type { AuditRouterOptions } from "./http/read-handler";
export type { AuthorizeResult } from "./http/read-grant";
export { MAX_HTTP_PAGE_SIZE } from "./http/http-query-params";
export { restoreAuditContext, serializeAuditContext, type SerializedAuditContext } from "./job-context";
export { MASK, MAX_DECLARED_TO_CAP_RATIO, type TruncatedData } from "./masking";
export { DEFAULT_MASK_FIELDS, DEFAULT_MASK_HEADERS, SUFFIX_MATCHED_NAMES, type SensitivePattern } from "./mask-rules";
export { memoryStore, type MemoryStore } from "./stores/memory-store";
export {
  prismaStore,
  type PrismaClientLike,
  type PrismaDelegateLike,
  type PrismaStore,
  type PrismaStoreOptions,
} from "./stores/prisma-store";
export type { PgPoolClientLike, PgPoolLike } from "./stores/pg-pool";
export type { ArchiveBatchResult, ArchivePosition, AuditStore, EventRow, InsertOptions } from "./stores/store";
export { auditMetrics, type AuditMetrics, type AuditMetricsEvent, type AuditMetricsHook } from "./writer/metrics";
export { fileSpool, type FileSpoolOptions } from "./writer/file-spool";
export { redisSpool, type RedisSpoolOptions } from "./writer/redis-spool";
export { DEFAULT_SPOOL_MAX_BYTES, SpoolLinesLost, type AuditLogger, type AuditSpool, type SpoolBatch } from "./writer/spool";
export { closeAudit, flushAudit } from "./writer/write-path";
export {
  toCloudEvent,
  CLOUD_EVENT_TYPE_PREFIX,
  DEFAULT_CLOUD_EVENT_SOURCE,
  type AuditCloudEvent,
  type CloudEventOptions,
} from "./integrity/cloud-event";
export { sealEvent, verifySeal, type EventSeal } from "./integrity/seal";
export { verifyAuditTrail, VERIFY_PAGE_SIZE, type VerifyOptions } from "./integrity/verify-trail";
export type { VerifyProblem, VerifyProblemKind, VerifyReport } from "./integrity/verify-report";
export { checkpointLine, iterateCheckpoints, parseCheckpointLines } from "./integrity/verify-checkpoints";
