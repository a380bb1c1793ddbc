import type { ModelShapes } from "./prisma-data-model";

/** One write a query makes to a related model, as a model's `write` hook is given it. */
export interface NestedWrite {
  /** The related model, as `schema.prisma` names it. */
  readonly model: string;
  /** The nested operation: `create`, `createMany`, `connectOrCreate`, `upsert`, `update`, `updateMany`, `delete`, `deleteMany`, `connect`, `disconnect`, `set`. */
  readonly operation: string;
  /** Its arguments, in the shape the top-level operation of that name takes (see {@link nestedWrites}). */
  readonly args: Record<string, unknown>;
  /** Where it sits in the query's arguments, such as `data.purchases.create[0].lines.createMany`. */
  readonly path: string;
}

/** The keys of a relation field's value in a write's data: Prisma's nested operations. */
const NESTED_OPERATIONS: ReadonlySet<string> = new Set([
  "create",
  "createMany",
  "connectOrCreate",
  "upsert",
  "update",
  "updateMany",
  "delete",
  "deleteMany",
  "connect",
  "disconnect",
  "set",
]);

/** The keys of a top-level write's arguments that hold data, per operation. */
const DATA_KEYS: Readonly<Record<string, readonly string[]>> = {
  create: ["data"],
  createMany: ["data"],
  createManyAndReturn: ["data"],
  update: ["data"],
  updateMany: ["data"],
  updateManyAndReturn: ["data"],
  upsert: ["create", "update"],
};

/** A plain object (`{...}` or `Object.create(null)`), as Prisma's arguments are made of: not an array, a Date, a Decimal. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

const listOf = (value: unknown): unknown[] => (Array.isArray(value) ? value : [value]);
const whereArgs = (value: unknown): Record<string, unknown> => (value === true ? {} : { where: value });

/** `{ where?, data }` (a to-many update, or a to-one update naming its record) rather than the data itself. */
function isWhereData(value: Record<string, unknown>): boolean {
  const keys = Object.keys(value);
  return keys.includes("data") && keys.every((k) => k === "where" || k === "data") && isPlainObject(value.data);
}

function walkData(shapes: ModelShapes, model: string, data: unknown, path: string, out: NestedWrite[]): void {
  if (Array.isArray(data)) {
    data.forEach((item, i) => walkData(shapes, model, item, `${path}[${i}]`, out));
    return;
  }
  if (!isPlainObject(data)) return;
  for (const [field, value] of Object.entries(data)) {
    const related = shapes.relation(model, field);
    if (related === undefined || !isPlainObject(value)) continue;
    for (const [operation, given] of Object.entries(value)) {
      const at = `${path}.${field}.${operation}`;
      if (operation === "set" || operation === "createMany") {
        // One write over a list: `set: []` disconnects every related record, so it is checked even when empty.
        const args = operation === "set" ? { where: given } : isPlainObject(given) ? given : { data: given };
        out.push({ model: related, operation, args, path: at });
        if (operation === "createMany") walkData(shapes, related, args.data, `${at}.data`, out);
        continue;
      }
      const items = listOf(given);
      items.forEach((item, i) => {
        const itemPath = Array.isArray(given) ? `${at}[${i}]` : at;
        const record = isPlainObject(item) ? item : {};
        switch (operation) {
          case "create":
            out.push({ model: related, operation, args: { data: item }, path: itemPath });
            walkData(shapes, related, item, itemPath, out);
            break;
          case "connectOrCreate":
          case "upsert":
            out.push({ model: related, operation, args: record, path: itemPath });
            walkData(shapes, related, record.create, `${itemPath}.create`, out);
            walkData(shapes, related, record.update, `${itemPath}.update`, out);
            break;
          case "update":
          case "updateMany": {
            const args = isPlainObject(item) && isWhereData(item) ? item : { data: item };
            out.push({ model: related, operation, args, path: itemPath });
            walkData(shapes, related, args.data, `${itemPath}.data`, out);
            // A to-one update's data may itself hold fields named where and data: walked as data too.
            if (args === item) walkData(shapes, related, item, itemPath, out);
            break;
          }
          default:
            // delete, deleteMany, connect, disconnect, and any operation a later Prisma adds.
            out.push({ model: related, operation, args: NESTED_OPERATIONS.has(operation) ? whereArgs(item) : { [operation]: item }, path: itemPath });
        }
      });
    }
  }
}

/**
 * Every write a write query makes to related models, at any depth, in the order they
 * appear: the relation fields of the data (`data`, or `create` and `update` of an
 * `upsert`) are found through the client's data model, and each nested operation is
 * given in the shape its top-level namesake takes:
 * `create` → `{ data }`; `createMany` → `{ data, skipDuplicates? }`;
 * `connectOrCreate` → `{ where, create }`; `upsert` → `{ where?, create, update }`;
 * `update`, `updateMany` → `{ where?, data }`; `delete`, `deleteMany`, `connect`,
 * `disconnect` → `{ where }` (`{}` for `true`); `set` → `{ where: [...] }` (all of them).
 * A list of operations (`create: [a, b]`) gives one write each.
 */
export function nestedWrites(shapes: ModelShapes, model: string, operation: string, args: unknown): NestedWrite[] {
  const out: NestedWrite[] = [];
  if (!isPlainObject(args)) return out;
  for (const key of DATA_KEYS[operation] ?? []) walkData(shapes, model, args[key], key, out);
  return out;
}

/**
 * Without a data model: the path of the first value in a write's data shaped like a
 * nested write (an object whose keys are all nested operations), or `undefined`.
 * Used to refuse what cannot be checked.
 */
export function nestedWriteShapeAt(operation: string, args: unknown): string | undefined {
  const seen = new Set<unknown>();
  const visit = (value: unknown, path: string): string | undefined => {
    if (typeof value !== "object" || value === null || seen.has(value)) return undefined;
    seen.add(value);
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const found = visit(value[i], `${path}[${i}]`);
        if (found !== undefined) return found;
      }
      return undefined;
    }
    if (!isPlainObject(value)) return undefined;
    for (const [key, inner] of Object.entries(value)) {
      if (isPlainObject(inner) && Object.keys(inner).length > 0 && Object.keys(inner).every((k) => NESTED_OPERATIONS.has(k))) return `${path}.${key}`;
      const found = visit(inner, `${path}.${key}`);
      if (found !== undefined) return found;
    }
    return undefined;
  };
  if (!isPlainObject(args)) return undefined;
  for (const key of DATA_KEYS[operation] ?? []) {
    const found = visit(args[key], key);
    if (found !== undefined) return found;
  }
  return undefined;
}
