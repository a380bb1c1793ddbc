import { EVENT_MODEL_FIELDS } from "../../src/model/event-record";

interface RuntimeDataModel {
  models: Record<string, { fields: Array<{ name: string }> }>;
}

/**
 * `prisma` as a client generated before the event-model migration describes itself:
 * its data model (what the store reads to learn the columns) has AuditEvent and
 * ArchivedAuditEvent without `action`, `outcome`, `severity`, `tenantId`, `requestId`.
 * Everything else is the client itself, so what the store sends through it reaches the
 * database as such a client's would.
 */
export function clientBeforeEventModel<T extends object>(prisma: T): T {
  const { _runtimeDataModel: dataModel } = prisma as { _runtimeDataModel: RuntimeDataModel };
  const models = Object.fromEntries(
    Object.entries(dataModel.models).map(([name, model]) => [
      name,
      name === "AuditEvent" || name === "ArchivedAuditEvent" ? { ...model, fields: model.fields.filter((field) => !(EVENT_MODEL_FIELDS as readonly string[]).includes(field.name)) } : model,
    ]),
  );
  const before = { ...dataModel, models };
  return new Proxy(prisma, { get: (target, property) => (property === "_runtimeDataModel" ? before : Reflect.get(target, property, target)) });
}
