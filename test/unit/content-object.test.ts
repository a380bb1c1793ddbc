// Unit tests for src/content-object.ts and src/audit-models.ts: how an event's content
// object becomes the stored contentType + objectId pair. The Prisma extension is driven
// with a fake `query` function: tagging results is pure logic, no database is needed.

import { auditModels } from "../../src/audit-models";
import { MODEL_TAG, resolveContentObject, type ContentObjectResolver } from "../../src/content-object";
import { AuditError } from "../../src/errors";
import { thrownBy } from "../support/thrown";

/** Runs a query through the extension the way Prisma would, returning what the client sees. */
async function throughExtension(model: string | undefined, operation: string, result: unknown, args: unknown = {}) {
  return auditModels().query.$allModels.$allOperations({
    ...(model === undefined ? {} : { model }),
    operation,
    args,
    query: async () => result,
  });
}

/** Runs `fn` and returns the ERR_AUDIT_CONTENT_OBJECT error it throws. */
function contentObjectErrorFrom(fn: () => unknown): AuditError {
  return thrownBy(fn, AuditError, "ERR_AUDIT_CONTENT_OBJECT");
}

/** The message must teach all four accepted ways. */
function expectFourWays(message: string): void {
  expect(message).toContain("1. an explicit reference");
  expect(message).toContain("contentType");
  expect(message).toContain("objectId");
  expect(message).toContain("2. a result of a Prisma client extended with prisma.$extends(auditModels())");
  expect(message).toContain("3. a class instance with an `id`");
  expect(message).toContain("4. anything the contentTypeResolver option resolves");
}

class Order {
  constructor(
    public id: unknown,
    public status = "open",
  ) {}
}

class RefundedOrder extends Order {}

class Note {
  text = "no id here";
}

describe("resolveContentObject", () => {
  describe("with an explicit reference", () => {
    it("accepts a number id and stores it as a string", () => {
      expect(resolveContentObject({ contentType: "Order", objectId: 42 }, undefined)).toEqual({ contentType: "Order", objectId: "42" });
    });

    it("accepts a string id as it is", () => {
      expect(resolveContentObject({ contentType: "Order", objectId: "ord_01J" }, undefined)).toEqual({
        contentType: "Order",
        objectId: "ord_01J",
      });
    });

    it("accepts a bigint id and stores its exact decimal string", () => {
      expect(resolveContentObject({ contentType: "Ledger", objectId: 2n ** 64n + 1n }, undefined)).toEqual({
        contentType: "Ledger",
        objectId: "18446744073709551617",
      });
    });

    it("returns only contentType and objectId, whatever else the reference holds", () => {
      expect(resolveContentObject({ contentType: "Order", objectId: 0, extra: true }, undefined)).toEqual({
        contentType: "Order",
        objectId: "0",
      });
    });

    it.each([
      ["an empty string id", ""],
      ["a NaN id", NaN],
      ["an infinite id", Infinity],
      ["a null id", null],
      ["an object id", { id: 1 }],
    ])("rejects %s", (_label, objectId) => {
      const error = contentObjectErrorFrom(() => resolveContentObject({ contentType: "Order", objectId }, undefined));
      expectFourWays(error.message);
    });

    it("rejects an empty contentType", () => {
      contentObjectErrorFrom(() => resolveContentObject({ contentType: "", objectId: 1 }, undefined));
    });
  });

  describe("with a class instance", () => {
    it("uses the class name as content type and the id as object id", () => {
      expect(resolveContentObject(new Order(7), undefined)).toEqual({ contentType: "Order", objectId: "7" });
    });

    it("uses the name of the most derived class", () => {
      expect(resolveContentObject(new RefundedOrder("r-1"), undefined)).toEqual({ contentType: "RefundedOrder", objectId: "r-1" });
    });

    it("accepts a bigint id", () => {
      expect(resolveContentObject(new Order(9007199254740993n), undefined)).toEqual({
        contentType: "Order",
        objectId: "9007199254740993",
      });
    });

    it.each([
      ["an empty id", ""],
      ["a NaN id", NaN],
      ["an undefined id", undefined],
      ["a null id", null],
    ])("rejects an instance with %s, naming the class", (_label, id) => {
      const error = contentObjectErrorFrom(() => resolveContentObject(new Order(id), undefined));
      expect(error.message).toContain("Order");
      expectFourWays(error.message);
    });

    it("rejects an instance without an id", () => {
      expectFourWays(contentObjectErrorFrom(() => resolveContentObject(new Note(), undefined)).message);
    });

    it("rejects an instance of an anonymous class", () => {
      const instance = new (class {
        id = 1;
      })();
      contentObjectErrorFrom(() => resolveContentObject(instance, undefined));
    });
  });

  describe("with a result tagged by auditModels()", () => {
    it("uses the model name as content type", async () => {
      const record = await throughExtension("Order", "findUnique", { id: 42, status: "paid" });
      expect(resolveContentObject(record, undefined)).toEqual({ contentType: "Order", objectId: "42" });
    });

    it("tags every record of a findMany result", async () => {
      const records = (await throughExtension("Customer", "findMany", [{ id: "c1" }, { id: "c2" }])) as object[];
      expect(records.map((r) => resolveContentObject(r, undefined))).toEqual([
        { contentType: "Customer", objectId: "c1" },
        { contentType: "Customer", objectId: "c2" },
      ]);
    });

    it("rejects a tagged record without a usable id, naming the model", async () => {
      const record = await throughExtension("Setting", "findFirst", { key: "theme", id: "" });
      const error = contentObjectErrorFrom(() => resolveContentObject(record, undefined));
      expect(error.message).toContain("Setting");
    });

    it("prefers the model tag over columns that happen to be called contentType and objectId", async () => {
      // A polymorphic model (Comment on any object, or the AuditEvent model itself) has
      // contentType/objectId columns; the record is still a Comment with its own id.
      const comment = await throughExtension("Comment", "create", { id: 5, contentType: "Order", objectId: "42", text: "hi" });
      expect(resolveContentObject(comment, undefined)).toEqual({ contentType: "Comment", objectId: "5" });
    });
  });

  describe("with a contentTypeResolver", () => {
    it("takes precedence over every built-in way", async () => {
      const resolver: ContentObjectResolver = () => ({ contentType: "Resolved", objectId: 1 });
      const tagged = await throughExtension("Order", "findUnique", { id: 42 });
      expect(resolveContentObject(tagged, resolver)).toEqual({ contentType: "Resolved", objectId: "1" });
      expect(resolveContentObject(new Order(7), resolver)).toEqual({ contentType: "Resolved", objectId: "1" });
      expect(resolveContentObject({ contentType: "Order", objectId: 3 }, resolver)).toEqual({ contentType: "Resolved", objectId: "1" });
    });

    it("resolves what no built-in way accepts", () => {
      const resolver: ContentObjectResolver = (obj) =>
        typeof obj === "string" ? { contentType: "Slug", objectId: obj } : { contentType: "Doc", objectId: 10n };
      expect(resolveContentObject("about-us", resolver)).toEqual({ contentType: "Slug", objectId: "about-us" });
      expect(resolveContentObject({ title: "plain" }, resolver)).toEqual({ contentType: "Doc", objectId: "10" });
    });

    it("falls through to the built-in ways when it returns null", () => {
      const seen: unknown[] = [];
      const resolver: ContentObjectResolver = (obj) => {
        seen.push(obj);
        return null;
      };
      const order = new Order(7);
      expect(resolveContentObject(order, resolver)).toEqual({ contentType: "Order", objectId: "7" });
      expect(seen).toEqual([order]);
    });

    it("falls through to the built-in ways when it returns undefined", () => {
      expect(resolveContentObject({ contentType: "Order", objectId: 3 }, () => undefined)).toEqual({
        contentType: "Order",
        objectId: "3",
      });
    });

    it("still throws when it returns null and nothing else applies", () => {
      expectFourWays(contentObjectErrorFrom(() => resolveContentObject({ title: "plain" }, () => null)).message);
    });

    it("rejects a reference from the resolver without a contentType or usable id, naming the resolver", () => {
      const noType = contentObjectErrorFrom(() =>
        resolveContentObject({}, () => ({ contentType: "", objectId: 1 })),
      );
      expect(noType.message).toContain("contentTypeResolver");
      const badId = contentObjectErrorFrom(() => resolveContentObject({}, () => ({ contentType: "Order", objectId: NaN })));
      expect(badId.message).toContain("contentTypeResolver");
    });
  });

  describe("with anything else", () => {
    it.each<[string, unknown]>([
      ["a plain object without a reference", { id: 1, name: "x" }],
      ["a half reference", { contentType: "Order" }],
      ["null", null],
      ["undefined", undefined],
      ["a string", "Order:42"],
      ["a number", 42],
      ["an array", [{ contentType: "Order", objectId: 1 }]],
      ["an object with a null prototype and an id", Object.assign(Object.create(null) as object, { id: 1 })],
      ["a class instance without an id", new Note()],
    ])("rejects %s with ERR_AUDIT_CONTENT_OBJECT listing the four ways", (_label, value) => {
      const error = contentObjectErrorFrom(() => resolveContentObject(value, undefined));
      expect(error.message).toContain("Cannot tell which object this event is about");
      expectFourWays(error.message);
    });
  });
});

describe("auditModels", () => {
  it("is named audit-events", () => {
    expect(auditModels().name).toBe("audit-events");
  });

  it("passes the args to query and returns its very result", async () => {
    const result = { id: 1 };
    const query = jest.fn(async (_args: unknown) => result);
    const args = { where: { id: 1 } };
    const returned = await auditModels().query.$allModels.$allOperations({ model: "Order", operation: "findUnique", args, query });
    expect(query).toHaveBeenCalledTimes(1);
    expect(query).toHaveBeenCalledWith(args);
    expect(returned).toBe(result);
  });

  it("propagates a query's rejection", async () => {
    const failure = new Error("db down");
    await expect(
      auditModels().query.$allModels.$allOperations({
        model: "Order",
        operation: "findUnique",
        args: {},
        query: async () => {
          throw failure;
        },
      }),
    ).rejects.toBe(failure);
  });

  it("tags with a non-enumerable symbol, so JSON, keys and equality are unchanged", async () => {
    const plain = { id: 1, status: "paid", total: 12.5 };
    const record = (await throughExtension("Order", "update", { ...plain })) as Record<string | symbol, unknown>;

    expect(record[MODEL_TAG]).toBe("Order");
    expect(MODEL_TAG).toBe(Symbol.for("audit-events.model"));
    expect(Object.prototype.propertyIsEnumerable.call(record, MODEL_TAG)).toBe(false);
    expect(JSON.stringify(record)).toBe(JSON.stringify(plain));
    expect(Object.keys(record)).toEqual(Object.keys(plain));
    expect({ ...record }).toEqual(plain);
    expect(record).toEqual(plain);
  });

  it.each([
    "findUnique",
    "findUniqueOrThrow",
    "findFirst",
    "findFirstOrThrow",
    "create",
    "update",
    "upsert",
    "delete",
  ])("tags the record %s returns", async (operation) => {
    const record = (await throughExtension("Order", operation, { id: 1 })) as Record<symbol, unknown>;
    expect(record[MODEL_TAG]).toBe("Order");
  });

  it.each(["findMany", "createManyAndReturn", "updateManyAndReturn"])("tags every record %s returns", async (operation) => {
    const records = (await throughExtension("Order", operation, [{ id: 1 }, { id: 2 }])) as Record<symbol, unknown>[];
    expect(records.map((r) => r[MODEL_TAG])).toEqual(["Order", "Order"]);
  });

  it.each([
    ["count", 3],
    ["aggregate", { _sum: { total: 10 } }],
    ["groupBy", [{ status: "paid", _count: 2 }]],
    ["createMany", { count: 2 }],
    ["updateMany", { count: 2 }],
    ["deleteMany", { count: 2 }],
  ])("does not tag what %s returns", async (operation, result) => {
    const returned = await throughExtension("Order", operation, result);
    expect(returned).toBe(result);
    if (typeof returned === "object" && returned !== null) {
      expect(Object.getOwnPropertySymbols(returned)).toEqual([]);
      if (Array.isArray(returned)) for (const row of returned) expect(Object.getOwnPropertySymbols(row)).toEqual([]);
    }
  });

  it("does not tag results of queries without a model, such as raw queries", async () => {
    const row = { id: 1 };
    await throughExtension(undefined, "findUnique", row);
    expect(Object.getOwnPropertySymbols(row)).toEqual([]);
  });

  it("passes a null result (nothing found) through", async () => {
    await expect(throughExtension("Order", "findUnique", null)).resolves.toBeNull();
  });

  it("keeps the first tag when the same object comes back twice", async () => {
    const shared = { id: 1 };
    await throughExtension("Order", "findUnique", shared);
    await throughExtension("Other", "findUnique", shared);
    expect((shared as Record<symbol, unknown>)[MODEL_TAG]).toBe("Order");
  });

  it("makes a tagged record usable by resolveContentObject, while a spread copy is not", async () => {
    const record = await throughExtension("Invoice", "findUniqueOrThrow", { id: "inv_1" });
    expect(resolveContentObject(record, undefined)).toEqual({ contentType: "Invoice", objectId: "inv_1" });
    contentObjectErrorFrom(() => resolveContentObject({ ...(record as object) }, undefined));
  });
});
