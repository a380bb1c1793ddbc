import { isPlainObject } from "./nested-writes";
import type { ModelShapes } from "./prisma-data-model";

/**
 * How to check and give back the records of one model in a read's result: its `read`
 * hook sees each record whole, then the record is narrowed back to what the query asked
 * for, and the relations it carries are checked by their own models' plans.
 */
export interface ReadPlan {
  readonly model: string;
  /** The query's `select` was widened to every scalar field: the fields it asked for (the rest are removed after the hook). */
  readonly keep?: ReadonlySet<string>;
  /**
   * The `select` names fields the model does not have (a result extension's computed
   * fields, whose inputs are not known here): the fields outside `keep` are made
   * non-enumerable rather than removed, so Prisma can still compute them, while JSON,
   * spreads and `Object.keys` see only what was asked for.
   */
  readonly keepUnlisted?: boolean;
  /** The query's `omit` was lifted: the fields it omitted (removed after the hook). */
  readonly drop?: ReadonlySet<string>;
  /** The relations the query includes or selects, each with its related model's plan. */
  readonly relations: ReadonlyMap<string, ReadPlan>;
}

/** A relation count (`_count`) the query asks for: counting the related model's records. */
export interface CountedRelation {
  readonly model: string;
  /** The `_count` entry: `true`, or `{ where }`. */
  readonly args: unknown;
  /** Where it sits in the query's arguments, such as `include._count.select.purchases`. */
  readonly path: string;
}

/** A read's arguments as they are run, its {@link ReadPlan}, and the relation counts it asks for. */
export interface PlannedRead {
  readonly args: unknown;
  readonly plan: ReadPlan;
  readonly counted: readonly CountedRelation[];
}

function countedRelations(shapes: ModelShapes, model: string, value: unknown, path: string, out: CountedRelation[]): void {
  if (value === true) {
    for (const [field, related] of shapes.relations(model)) out.push({ model: related, args: true, path: `${path}.${field}` });
    return;
  }
  const select = isPlainObject(value) ? value.select : undefined;
  if (!isPlainObject(select)) return;
  for (const [field, given] of Object.entries(select)) {
    const related = shapes.relation(model, field);
    if (related !== undefined && given !== false && given !== undefined) out.push({ model: related, args: given, path: `${path}.select.${field}` });
  }
}

function planNode(shapes: ModelShapes, hooked: (model: string) => boolean, model: string, node: unknown, path: string, counted: CountedRelation[]): { node: unknown; plan: ReadPlan } {
  const relations = new Map<string, ReadPlan>();
  if (!isPlainObject(node)) return { node, plan: { model, relations } };
  const out: Record<string, unknown> = { ...node };
  for (const key of ["select", "include"] as const) {
    const selection = node[key];
    if (!isPlainObject(selection)) continue;
    const widened: Record<string, unknown> = { ...selection };
    for (const [field, value] of Object.entries(selection)) {
      if (field === "_count") {
        countedRelations(shapes, model, value, `${path}${key}._count`, counted);
        continue;
      }
      const related = shapes.relation(model, field);
      if (related === undefined || value === false || value === undefined || value === null) continue;
      const sub = planNode(shapes, hooked, related, value === true ? {} : value, `${path}${key}.${field}.`, counted);
      widened[field] = value === true && isPlainObject(sub.node) && Object.keys(sub.node).length === 0 ? true : sub.node;
      relations.set(field, sub.plan);
    }
    out[key] = widened;
  }
  if (!hooked(model)) return { node: out, plan: { model, relations } };
  if (isPlainObject(node.select)) {
    const keep = new Set(Object.entries(node.select).filter(([, v]) => v !== false && v !== undefined && v !== null).map(([k]) => k));
    const widened = out.select as Record<string, unknown>;
    const scalars = shapes.scalars(model);
    for (const field of scalars) if (!keep.has(field)) widened[field] = true;
    const computed = [...keep].some((field) => field !== "_count" && !scalars.includes(field) && shapes.relation(model, field) === undefined);
    return { node: out, plan: computed ? { model, keep, keepUnlisted: true, relations } : { model, keep, relations } };
  }
  if (isPlainObject(node.omit)) {
    const drop = new Set(Object.entries(node.omit).filter(([, v]) => v === true).map(([k]) => k));
    // Fields the query un-omits (false) stay as asked; those it omits are fetched for the hook and removed after.
    out.omit = Object.fromEntries(Object.entries(node.omit).filter(([, v]) => v !== true));
    return { node: out, plan: { model, drop, relations } };
  }
  return { node: out, plan: { model, relations } };
}

/**
 * Plans a read (or the records a write returns): wherever the query narrows a model
 * that has a `read` hook with `select` or `omit`, at the top or in a relation's
 * `include`/`select`, the query is widened to all that model's scalar fields, so the hook
 * sees the whole record (bar fields the client omits globally), and the plan says how
 * to narrow it back. Relations are planned at any depth; `_count`s are listed.
 */
export function planRead(shapes: ModelShapes, hooked: (model: string) => boolean, model: string, args: unknown): PlannedRead {
  const counted: CountedRelation[] = [];
  const { node, plan } = planNode(shapes, hooked, model, args, "", counted);
  return { args: node, plan, counted };
}

/** The plan of a read whose selection cannot be walked (no data model): the top model's own records, as returned. */
export function flatPlan(model: string): ReadPlan {
  return { model, relations: new Map() };
}
