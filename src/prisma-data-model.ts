/** One field of a model, as Prisma's runtime data model describes it. */
interface DataModelField {
  readonly name: string;
  /** `"scalar"`, `"enum"`, or `"object"` for a relation. */
  readonly kind: string;
  /** The scalar type, or for a relation the related model's name. */
  readonly type: string;
}

function isDataModel(value: unknown): value is { models: Record<string, { fields: DataModelField[] }> } {
  if (typeof value !== "object" || value === null) return false;
  const { models } = value as { models?: unknown };
  if (typeof models !== "object" || models === null) return false;
  return Object.values(models).every(
    (model) =>
      typeof model === "object" &&
      model !== null &&
      Array.isArray((model as { fields?: unknown }).fields) &&
      (model as { fields: unknown[] }).fields.every((f) => typeof f === "object" && f !== null && typeof (f as DataModelField).name === "string" && typeof (f as DataModelField).kind === "string" && typeof (f as DataModelField).type === "string"),
  );
}

/**
 * The models of a Prisma client as its runtime data model describes them (the
 * `runtimeDataModel` the generated client carries, read from the client passed to
 * `$extends`): each model's scalar fields, and its relation fields with the related model.
 * The access hooks walk queries and results with it.
 */
export class ModelShapes {
  private readonly scalarFields = new Map<string, readonly string[]>();
  private readonly relationFields = new Map<string, ReadonlyMap<string, string>>();

  private constructor(models: Record<string, { fields: DataModelField[] }>) {
    for (const [name, { fields }] of Object.entries(models)) {
      this.scalarFields.set(name, fields.filter((f) => f.kind !== "object").map((f) => f.name));
      this.relationFields.set(name, new Map(fields.filter((f) => f.kind === "object").map((f) => [f.name, f.type])));
    }
  }

  /**
   * The shapes of `client`'s models, or `undefined` when the client does not expose a
   * runtime data model in the shape Prisma 6 and 7 give it (`client._runtimeDataModel`).
   */
  static of(client: unknown): ModelShapes | undefined {
    if (typeof client !== "object" || client === null) return undefined;
    const dataModel = (client as { _runtimeDataModel?: unknown })._runtimeDataModel;
    return isDataModel(dataModel) ? new ModelShapes(dataModel.models) : undefined;
  }

  /** The names of the models, as `schema.prisma` writes them. */
  models(): string[] {
    return [...this.scalarFields.keys()];
  }

  /** The model's field names, scalars and relations; `undefined` for an unknown model. */
  fields(model: string): readonly string[] | undefined {
    const scalars = this.scalarFields.get(model);
    return scalars === undefined ? undefined : [...scalars, ...this.relations(model).keys()];
  }

  /** The model's scalar (and enum) field names; empty for an unknown model. */
  scalars(model: string): readonly string[] {
    return this.scalarFields.get(model) ?? [];
  }

  /** The related model of `model.field`, or `undefined` when the field is not a relation. */
  relation(model: string, field: string): string | undefined {
    return this.relationFields.get(model)?.get(field);
  }

  /** The model's relation fields and their related models. */
  relations(model: string): ReadonlyMap<string, string> {
    return this.relationFields.get(model) ?? new Map();
  }
}
