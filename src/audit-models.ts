import { MODEL_TAG } from "./content-object";

/** The operations whose results are model records, and so get tagged. */
const RECORD_OPERATIONS: ReadonlySet<string> = new Set([
  "findUnique",
  "findUniqueOrThrow",
  "findFirst",
  "findFirstOrThrow",
  "findMany",
  "create",
  "createManyAndReturn",
  "update",
  "updateManyAndReturn",
  "upsert",
  "delete",
]);

function tag(record: unknown, model: string): void {
  if (typeof record === "object" && record !== null && !Object.prototype.hasOwnProperty.call(record, MODEL_TAG)) {
    Object.defineProperty(record, MODEL_TAG, { value: model, enumerable: false });
  }
}

/** The shape of the Prisma query extension returned by {@link auditModels}. */
export interface AuditModelsExtension {
  name: "audit-events";
  query: {
    $allModels: {
      $allOperations(params: {
        model?: string;
        operation: string;
        args: unknown;
        query: (args: unknown) => Promise<unknown>;
      }): Promise<unknown>;
    };
  };
}

/**
 * A Prisma client extension that tags every record a query returns with its model
 * name, so the record can be passed to `createEvent` as it is. The tag is a
 * non-enumerable symbol: JSON output and equality checks do not see it. Records
 * nested through `include` are not tagged; pass them as explicit references.
 *
 * @example
 * ```ts
 * const db = prisma.$extends(auditModels());
 * const order = await db.order.update({ where: { id }, data: { status: "refunded" } });
 * await req.auditContext.createEvent(order, {}, { action: "refund" }); // contentType "Order"
 * ```
 */
export function auditModels(): AuditModelsExtension {
  return {
    name: "audit-events",
    query: {
      $allModels: {
        async $allOperations({ model, operation, args, query }) {
          const result = await query(args);
          if (model !== undefined && RECORD_OPERATIONS.has(operation)) {
            if (Array.isArray(result)) for (const record of result) tag(record, model);
            else tag(result, model);
          }
          return result;
        },
      },
    },
  };
}
