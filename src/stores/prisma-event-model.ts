import { AuditConfigError } from "../errors";
import { CHAIN_FIELDS, DEFAULT_OUTCOME, DEFAULT_SEVERITY, EVENT_MODEL_FIELDS } from "../model/event-record";
import type { EventFilter } from "../model/event-filter";
import type { ModelTable, SqlProvider } from "./prisma-metadata";
import { UNSTORED_FIELD_VALUES, type ChainField, type EventModelField, type OptionalField } from "./stored-record";

/** The folder of the migration that adds the {@link EventModelField}s, the same on every provider. */
export const EVENT_MODEL_MIGRATION = "20261201000000_audit_events_event_model";

/** The folder of the migration that adds the hash chain's columns and `audit_checkpoints`, the same on every provider. */
export const INTEGRITY_MIGRATION = "20261202000000_audit_events_integrity";

/** The path of the integrity migration of `provider`, as a user's project sees it. */
export function integrityMigration(provider: SqlProvider): string {
  return `node_modules/audit-events/prisma/${provider}/migrations/${INTEGRITY_MIGRATION}`;
}

/**
 * Refuses `integrity` on models that cannot keep hash chains: a live or archive model
 * without the chain columns, or no checkpoint model. Writing such events without their
 * chain fields would be a silent unsigned trail.
 *
 * @throws {AuditConfigError} `ERR_AUDIT_STORE_SCHEMA` naming what is missing and the migration.
 */
export function requireChainFields(provider: SqlProvider, tables: readonly ModelTable[], checkpoint: ModelTable | null, checkpointModel: string): void {
  const lacking = tables.map((table) => ({ model: table.model, missing: CHAIN_FIELDS.filter((field) => !table.columns.has(field)) })).filter(({ missing }) => missing.length > 0);
  const problems = lacking.map(({ model, missing }) => `the Prisma model ${model} has no field(s) ${missing.join(", ")}`);
  if (checkpoint === null) problems.push(`the Prisma client has no checkpoint model for the delegate "${checkpointModel}" (AuditCheckpoint)`);
  if (problems.length === 0) return;
  throw new AuditConfigError(
    `integrity is configured, but ${problems.join("; ")}, so events cannot be chained and signed (they are never written unsigned instead). ` +
      `Apply the migration ${INTEGRITY_MIGRATION} (copy ${integrityMigration(provider)} into prisma/migrations, then \`npx prisma migrate deploy\`), ` +
      `add the fields and the AuditCheckpoint model as node_modules/audit-events/prisma/${provider}/schema.prisma declares them, and run \`npx prisma generate\`; or remove the integrity option.`,
    "ERR_AUDIT_STORE_SCHEMA",
  );
}

/**
 * The event-model fields a `toRecord` may still return, as it did for a column of the
 * user's own before the library had them: each is used only when the event's own value is
 * null. `outcome` and `severity` are never null, so a value for them could never be used;
 * they stay reserved like the other stored fields.
 */
export const TO_RECORD_FALLBACK_FIELDS: ReadonlySet<string> = new Set<EventModelField>(["action", "tenantId", "requestId"]);

/** The path of the event-model migration of `provider`, as a user's project sees it. */
export function eventModelMigration(provider: SqlProvider): string {
  return `node_modules/audit-events/prisma/${provider}/migrations/${EVENT_MODEL_MIGRATION}`;
}

/** The event-model fields `table`'s model has no field for, in {@link EVENT_MODEL_FIELDS} order. */
export function missingEventFields(table: ModelTable): EventModelField[] {
  return EVENT_MODEL_FIELDS.filter((field) => !table.columns.has(field));
}

/** The models warned about in this process: each is named once, not per store or per call. */
const warned = new Set<string>();

/**
 * Warns, once per process for each model, that the audit models lack event-model
 * fields: which, what is not stored, what those fields read back as, and the migration
 * to apply. Nothing is said when every model has them all.
 */
export function warnMissingEventFields(provider: SqlProvider, tables: readonly ModelTable[], warn: (message: string) => void): void {
  const lacking = tables
    .filter((table) => !warned.has(table.model))
    .map((table) => ({ model: table.model, missing: missingEventFields(table) }))
    .filter(({ missing }) => missing.length > 0);
  if (lacking.length === 0) return;
  for (const { model } of lacking) warned.add(model);
  const models = lacking.map(({ model }) => model).join(" and ");
  warn(
    `audit-events: ${lacking.map(({ model, missing }) => `the Prisma model ${model} has no field(s) ${missing.join(", ")}`).join("; ")}, so events are stored without them ` +
      `(they read back as outcome "${DEFAULT_OUTCOME}", severity "${DEFAULT_SEVERITY}" and null for the others, and a query that filters by them is refused). ` +
      `Apply the migration ${eventModelMigration(provider)} (copy it into prisma/migrations, then \`npx prisma migrate deploy\`), ` +
      `add the fields to ${models} as node_modules/audit-events/prisma/${provider}/schema.prisma declares them, and run \`npx prisma generate\`.`,
  );
}

/**
 * The optional fields (event model and hash chain) `table`'s model has no field for:
 * what a row written to it must leave out.
 */
export function unstoredFields(table: ModelTable): OptionalField[] {
  return [...missingEventFields(table), ...CHAIN_FIELDS.filter((field: ChainField) => !table.columns.has(field))];
}

/** `row` without the fields of `missing`: what a model without them can take. */
export function withoutFields<T extends object>(row: T, missing: readonly string[]): T {
  if (missing.length === 0) return row;
  const kept = { ...row } as Record<string, unknown>;
  for (const field of missing) delete kept[field];
  return kept as T;
}

/**
 * Refuses a filter on an event-model field that a table it reads lacks: answering it
 * without the condition would return events the filter excludes (another tenant's, for
 * a tenant filter).
 *
 * @throws {AuditConfigError} `ERR_AUDIT_STORE_SCHEMA` naming the field and the migration.
 */
export function requireFilteredFields(provider: SqlProvider, tables: readonly ModelTable[], filter: EventFilter): void {
  const filtered = filter as Partial<Record<EventModelField, unknown>>;
  for (const table of tables) {
    const lacking = missingEventFields(table).filter((field) => filtered[field] !== undefined);
    if (lacking.length > 0) {
      throw new AuditConfigError(
        `prismaStore(): the query filters by ${lacking.join(", ")}, but the Prisma model ${table.model} has no such field; it is refused rather than answered without that filter. ` +
          `Apply the migration ${eventModelMigration(provider)} (\`npx prisma migrate deploy\`) and add the fields to ${table.model}, then run \`npx prisma generate\`.`,
        "ERR_AUDIT_STORE_SCHEMA",
      );
    }
  }
}

/**
 * The SQL value a page selects for an optional field its table lacks: what
 * {@link UNSTORED_FIELD_VALUES} says it reads as, typed as text so that a union with a
 * table that has the column agrees on PostgreSQL.
 */
export function unstoredFieldSql(provider: SqlProvider, field: OptionalField): string {
  const value = UNSTORED_FIELD_VALUES[field];
  const literal = value === null ? "NULL" : `'${String(value).replaceAll("'", "''")}'`;
  if (provider !== "postgresql") return literal;
  return field === "seq" ? `CAST(${literal} AS bigint)` : `CAST(${literal} AS text)`;
}
