import { AuditError } from "./errors";

/** An explicit reference to the object an event is about. */
export interface ContentObjectRef {
  contentType: string;
  objectId: string | number | bigint;
}

/**
 * Names the content object of an event: return a reference, or `null`/`undefined`
 * to fall through to the built-in ways.
 */
export type ContentObjectResolver = (contentObject: unknown) => ContentObjectRef | null | undefined;

/** The reference as stored: both parts strings. */
export interface ResolvedContentObject {
  contentType: string;
  objectId: string;
}

/**
 * The non-enumerable property that `auditModels()` puts on Prisma results, holding
 * the model name. A registered symbol, so two copies of the library agree on it.
 */
export const MODEL_TAG: unique symbol = Symbol.for("audit-events.model") as never;

const HOW_TO = [
  "1. an explicit reference: { contentType: \"Order\", objectId: order.id }",
  "2. a result of a Prisma client extended with prisma.$extends(auditModels())",
  "3. a class instance with an `id` property (the class name is the content type)",
  "4. anything the contentTypeResolver option resolves",
].join("\n");

function contentObjectError(why: string): AuditError {
  return new AuditError(
    "ERR_AUDIT_CONTENT_OBJECT",
    `Cannot tell which object this event is about: ${why}. An event's content object is one of:\n${HOW_TO}`,
  );
}

function idToString(id: unknown, where: string): string {
  if (typeof id === "string" && id.length > 0) return id;
  if (typeof id === "number" && Number.isFinite(id)) return String(id);
  if (typeof id === "bigint") return id.toString();
  throw contentObjectError(`${where} has no usable id (got ${id === undefined ? "undefined" : JSON.stringify(String(id))}; ids are non-empty strings, finite numbers or bigints)`);
}

function fromRef(ref: ContentObjectRef, where: string): ResolvedContentObject {
  if (typeof ref.contentType !== "string" || ref.contentType.length === 0) {
    throw contentObjectError(`${where} returned a reference without a contentType`);
  }
  return { contentType: ref.contentType, objectId: idToString(ref.objectId, where) };
}

function isRef(value: object): value is ContentObjectRef {
  return "contentType" in value && "objectId" in value && typeof (value as ContentObjectRef).contentType === "string";
}

/**
 * Finds the content type and id of an event's object, trying the
 * `contentTypeResolver` first, then an `auditModels()` tag (before a reference, so
 * a tagged record with its own `contentType`/`objectId` columns is still itself),
 * an explicit reference and a class instance with an `id`.
 *
 * @throws {AuditError} `ERR_AUDIT_CONTENT_OBJECT`, explaining the four ways.
 */
export function resolveContentObject(
  contentObject: unknown,
  resolver: ContentObjectResolver | undefined,
): ResolvedContentObject {
  if (resolver !== undefined) {
    const ref = resolver(contentObject);
    if (ref !== null && ref !== undefined) return fromRef(ref, "contentTypeResolver");
  }
  if (typeof contentObject !== "object" || contentObject === null) {
    throw contentObjectError(`got ${contentObject === null ? "null" : typeof contentObject}`);
  }
  const model = (contentObject as { [MODEL_TAG]?: unknown })[MODEL_TAG];
  if (typeof model === "string") {
    return { contentType: model, objectId: idToString((contentObject as { id?: unknown }).id, `the ${model} result`) };
  }
  if (isRef(contentObject)) return fromRef(contentObject, "the reference");
  const prototype: unknown = Object.getPrototypeOf(contentObject);
  if (prototype !== Object.prototype && prototype !== null && !Array.isArray(contentObject)) {
    const className = (contentObject as object).constructor?.name;
    if (typeof className === "string" && className.length > 0 && "id" in contentObject) {
      return { contentType: className, objectId: idToString((contentObject as { id: unknown }).id, `the ${className} instance`) };
    }
  }
  throw contentObjectError("it is a plain object without an auditModels() tag or a contentType/objectId pair");
}
