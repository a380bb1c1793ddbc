// Proves that each provider's Prisma schema (reference models plus examples/prisma/<p>.prisma)
// and its SQL (prisma/<p>/migrations plus examples/prisma/<p>.sql) describe the same tables:
// every field of every model is written through Prisma and read back unchanged, and every
// table has exactly the columns and indexes the schema declares.

import { Decimal } from "@prisma/client/runtime/client";
import { v7 as uuidv7 } from "uuid";

import { openDatabase, providers, type Provider, type TestDatabase } from "../support/databases";

// PostgreSQL JSONB cannot hold \u0000, so it is left out on purpose.
const NESTED_JSON = {
  action: "refund",
  amount: "12.50",
  reason: "Kunde wünscht Erstattung — «dringend» 🧾✅",
  i18n: { ja: "監査ログ", ar: "سجل التدقيق", el: "Ελληνικά", combining: "e\u0301", astral: "𝒜𝓊𝒹𝒾𝓉" },
  escapes: { quotes: `"double" 'single' \`back\``, backslash: "C:\\audit\\log", newline: "line1\nline2\ttab" },
  numbers: { int: 42, negative: -7, float: 1.5, small: 0.000123, largeAsText: "12345678901234567890" },
  flags: { yes: true, no: false, nothing: null },
  list: [1, "two", { three: [3, { deep: { deeper: { deepest: "✓" } } }] }, [], {}],
  empty: {},
};

const LONG_URL =
  "https://shop.example.com/orders/ord_42/refund?" +
  Array.from({ length: 40 }, (_, i) => `item${i}=${encodeURIComponent(`Größe ${i} ✓`)}`).join("&");

const TIMESTAMP = new Date("2026-11-23T09:15:30.123Z");
const ARCHIVED_AT = new Date("2027-02-21T03:00:00.456Z");

function auditEventFields() {
  return {
    id: uuidv7(),
    timestamp: TIMESTAMP,
    contentType: "shop.Order",
    objectId: "ord_42-ü-李",
    content: NESTED_JSON,
    userId: "user-Zoë-7",
    url: LONG_URL,
    method: "PATCH",
    remoteAddr: "2001:db8:85a3::8a2e:370:7334",
    queryParams: { page: "2", tags: ["a", "b"], q: "naïve café" },
    postData: { password: "********", card: { last4: "4242", holder: "Jürgen Ødegård" }, lines: [{ sku: "A-1", qty: 2 }] },
    headers: { "user-agent": "Mozilla/5.0 (X11; Linux x86_64)", "x-request-id": uuidv7(), "accept-language": "de-CH, fr;q=0.8" },
  };
}

/** The event model's fields (migration 20261201000000_audit_events_event_model), at the 191-character bound where they have one. */
function eventModelFields() {
  return {
    action: `order.refund.${"ü".repeat(150)}${"😀".repeat(28)}`,
    outcome: "denied",
    severity: "critical",
    tenantId: [..."tenant-Ωmega-中-😀".repeat(20)].slice(0, 191).join(""),
    requestId: uuidv7(),
  };
}

/** The hash chain's fields (migration 20261202000000_audit_events_integrity): a seq past 2^53, hashes of 64 hex digits. */
function chainFields() {
  return { chainId: uuidv7(), seq: 9007199254740993n, prevHash: "a".repeat(64), hash: "f0".repeat(32) };
}

/** The hash chain's fields of an unsigned event. */
function chainNulls() {
  return { chainId: null, seq: null, prevHash: null, hash: null };
}

function auditEventNulls() {
  return { ...auditEventFields(), userId: null, url: null, method: null, remoteAddr: null };
}

/** The event model's optional fields null, and the two that are never null at their least value. */
function eventModelNulls() {
  return { action: null, outcome: "success", severity: "debug", tenantId: null, requestId: null };
}

// Normalises values whose classes differ but whose meaning must match, so toEqual compares
// field by field and a failure names the field.
function comparable(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row)) {
    if (value instanceof Date) out[key] = { date: value.toISOString() };
    else if (Decimal.isDecimal(value)) out[key] = { decimal: new Decimal(value).toFixed() };
    else if (typeof value === "bigint") out[key] = { bigint: value.toString() };
    else out[key] = value;
  }
  return out;
}

function expectSameRow(actual: object | null, expected: object): void {
  expect(actual).not.toBeNull();
  expect(comparable(actual as Record<string, unknown>)).toEqual(comparable(expected as Record<string, unknown>));
}

const TABLES = {
  AuditEvent: "audit_events",
  ArchivedAuditEvent: "archived_audit_events",
  Order: "orders",
  Customer: "customers",
  Ledger: "ledgers",
  Buyer: "buyers",
  Purchase: "purchases",
  PurchaseLine: "purchase_lines",
  TenantAuditEvent: "tenant_audit_events",
  TenantArchivedAuditEvent: "tenant_archived_audit_events",
  AuditCheckpoint: "audit_checkpoints",
} as const;

const AUDIT_TABLES = [
  TABLES.AuditEvent,
  TABLES.ArchivedAuditEvent,
  TABLES.TenantAuditEvent,
  TABLES.TenantArchivedAuditEvent,
];

async function tableColumns(db: TestDatabase, table: string): Promise<string[]> {
  const rows = await db.prisma.$queryRawUnsafe<Array<{ name: string }>>(
    {
      postgresql:
        "SELECT column_name AS name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1",
      mysql:
        "SELECT column_name AS name FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ?",
      sqlite: "SELECT name FROM pragma_table_info(?)",
    }[db.provider],
    table,
  );
  return rows.map((row) => row.name).sort();
}

async function tableIndexes(db: TestDatabase, table: string): Promise<string[]> {
  const rows = await db.prisma.$queryRawUnsafe<Array<{ name: string }>>(
    {
      postgresql: "SELECT indexname AS name FROM pg_indexes WHERE schemaname = current_schema() AND tablename = $1",
      mysql:
        "SELECT DISTINCT index_name AS name FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = ?",
      sqlite: "SELECT name FROM pragma_index_list(?) WHERE origin = 'c'",
    }[db.provider],
    table,
  );
  return rows.map((row) => row.name).sort();
}

function generatedScalarFields(provider: Provider): Record<keyof typeof TABLES, string[]> {
  const { Prisma } = require(`../../generated/${provider}/client/client`) as typeof import("../../generated/mysql/client/client");
  const fields = (enumObject: Record<string, string>) => Object.values(enumObject).sort();
  return {
    AuditEvent: fields(Prisma.AuditEventScalarFieldEnum),
    ArchivedAuditEvent: fields(Prisma.ArchivedAuditEventScalarFieldEnum),
    Order: fields(Prisma.OrderScalarFieldEnum),
    Customer: fields(Prisma.CustomerScalarFieldEnum),
    Ledger: fields(Prisma.LedgerScalarFieldEnum),
    Buyer: fields(Prisma.BuyerScalarFieldEnum),
    Purchase: fields(Prisma.PurchaseScalarFieldEnum),
    PurchaseLine: fields(Prisma.PurchaseLineScalarFieldEnum),
    TenantAuditEvent: fields(Prisma.TenantAuditEventScalarFieldEnum),
    TenantArchivedAuditEvent: fields(Prisma.TenantArchivedAuditEventScalarFieldEnum),
    AuditCheckpoint: fields(Prisma.AuditCheckpointScalarFieldEnum),
  };
}

describe.each(providers)("the %s schema and its SQL", (provider) => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await openDatabase(provider);
  });

  afterEach(async () => {
    await db.reset();
  });

  afterAll(async () => {
    await db?.close();
  });

  it("create tables with exactly the columns each model declares", async () => {
    const expected = generatedScalarFields(provider);
    for (const [model, table] of Object.entries(TABLES) as Array<[keyof typeof TABLES, string]>) {
      expect({ table, columns: await tableColumns(db, table) }).toEqual({ table, columns: expected[model] });
    }
  });

  it("create the indexes every audit table is queried by", async () => {
    const readIndexes = ["timestamp_id", "contentType_objectId_timestamp", "userId_timestamp_id", "contentType_timestamp_id", "remoteAddr_timestamp_id"];
    // The reference tables only: the user's own (tenant_*) models stand for models without the event model.
    const eventModelIndexes = ["tenantId_timestamp_id", "action_timestamp_id", "outcome_timestamp_id", "severity_timestamp_id", "requestId"];
    for (const table of AUDIT_TABLES) {
      // On PostgreSQL the live tables also have a GIN index on content; the archives do
      // not (archival would pay for it: see the archive_without_content_index migration).
      const live = !table.includes("archived");
      const reference = !table.startsWith("tenant_");
      const expected = [...readIndexes, ...(reference ? eventModelIndexes : []), ...(provider === "postgresql" && live ? ["content"] : [])].map((columns) => `${table}_${columns}_idx`);
      const indexes = await tableIndexes(db, table);
      expect({ table, indexes }).toEqual({ table, indexes: expect.arrayContaining(expected) });
      expect({ table, contentIndex: indexes.includes(`${table}_content_idx`) }).toEqual({ table, contentIndex: provider === "postgresql" && live });
    }
  });

  it("round-trip every field of an AuditEvent", async () => {
    const data = { ...auditEventFields(), ...eventModelFields(), ...chainFields() };
    await db.prisma.auditEvent.create({ data });
    expectSameRow(await db.prisma.auditEvent.findUnique({ where: { id: data.id } }), data);
  });

  it("round-trip every field of an ArchivedAuditEvent", async () => {
    const data = { ...auditEventFields(), ...eventModelFields(), ...chainFields(), archivedAt: ARCHIVED_AT };
    await db.prisma.archivedAuditEvent.create({ data });
    expectSameRow(await db.prisma.archivedAuditEvent.findUnique({ where: { id: data.id } }), data);
  });

  it("round-trip every field of a TenantAuditEvent", async () => {
    const data = { ...auditEventFields(), tenantId: "tenant-Ωmega-7" };
    await db.prisma.tenantAuditEvent.create({ data });
    expectSameRow(await db.prisma.tenantAuditEvent.findUnique({ where: { id: data.id } }), data);
  });

  it("round-trip every field of a TenantArchivedAuditEvent", async () => {
    const data = { ...auditEventFields(), archivedAt: ARCHIVED_AT, tenantId: "tenant-Ωmega-7" };
    await db.prisma.tenantArchivedAuditEvent.create({ data });
    expectSameRow(await db.prisma.tenantArchivedAuditEvent.findUnique({ where: { id: data.id } }), data);
  });

  it("keep the optional fields of every audit model null", async () => {
    const event = { ...auditEventNulls(), ...eventModelNulls(), ...chainNulls() };
    const archived = { ...auditEventNulls(), ...eventModelNulls(), ...chainNulls(), archivedAt: ARCHIVED_AT };
    const tenant = { ...auditEventNulls(), tenantId: null };
    const tenantArchived = { ...auditEventNulls(), archivedAt: ARCHIVED_AT, tenantId: null };
    await db.prisma.auditEvent.create({ data: event });
    await db.prisma.archivedAuditEvent.create({ data: archived });
    await db.prisma.tenantAuditEvent.create({ data: tenant });
    await db.prisma.tenantArchivedAuditEvent.create({ data: tenantArchived });

    expectSameRow(await db.prisma.auditEvent.findUnique({ where: { id: event.id } }), event);
    expectSameRow(await db.prisma.archivedAuditEvent.findUnique({ where: { id: archived.id } }), archived);
    expectSameRow(await db.prisma.tenantAuditEvent.findUnique({ where: { id: tenant.id } }), tenant);
    expectSameRow(await db.prisma.tenantArchivedAuditEvent.findUnique({ where: { id: tenantArchived.id } }), tenantArchived);
  });

  it("fill an AuditEvent's outcome and severity from the defaults, the client's and the database's own", async () => {
    const viaClient = auditEventFields();
    await db.prisma.auditEvent.create({ data: viaClient });
    expectSameRow(await db.prisma.auditEvent.findUnique({ where: { id: viaClient.id } }), { ...viaClient, action: null, outcome: "success", severity: "info", tenantId: null, requestId: null, ...chainNulls() });
    // A row inserted without the columns, as every row written before the migration: the SQL default.
    const [id, archivedId] = [uuidv7(), uuidv7()];
    const quote = (name: string) => (provider === "mysql" ? `\`${name}\`` : `"${name}"`);
    const json = provider === "postgresql" ? "'{}'::jsonb" : "'{}'";
    const instant = provider === "postgresql" ? "'2026-01-01T00:00:00Z'::timestamptz" : provider === "mysql" ? "'2026-01-01 00:00:00'" : "'2026-01-01T00:00:00.000+00:00'";
    const columns = ["id", "timestamp", "contentType", "objectId", "content", "queryParams", "postData", "headers"].map(quote).join(", ");
    const values = (value: string) => `'${value}'${provider === "postgresql" ? "::uuid" : ""}, ${instant}, 'T', '1', ${json}, ${json}, ${json}, ${json}`;
    await db.prisma.$executeRawUnsafe(`INSERT INTO audit_events (${columns}) VALUES (${values(id)})`);
    await db.prisma.$executeRawUnsafe(`INSERT INTO archived_audit_events (${columns}, ${quote("archivedAt")}) VALUES (${values(archivedId)}, ${instant})`);
    const defaults = { action: null, outcome: "success", severity: "info", tenantId: null, requestId: null };
    expect(await db.prisma.auditEvent.findUnique({ where: { id }, select: { action: true, outcome: true, severity: true, tenantId: true, requestId: true } })).toEqual(defaults);
    expect(await db.prisma.archivedAuditEvent.findUnique({ where: { id: archivedId }, select: { action: true, outcome: true, severity: true, tenantId: true, requestId: true } })).toEqual(defaults);
  });

  it("round-trip every field of an AuditCheckpoint, and refuse a second checkpoint at one chain position", async () => {
    const data = { chainId: uuidv7(), seq: 9007199254740993n, hash: "0f".repeat(32), keyId: "key-2026-Ω", signature: "ab".repeat(32), createdAt: TIMESTAMP };
    await db.prisma.auditCheckpoint.create({ data });
    expectSameRow(await db.prisma.auditCheckpoint.findUnique({ where: { chainId_seq: { chainId: data.chainId, seq: data.seq } } }), data);
    await expect(db.prisma.auditCheckpoint.create({ data: { ...data, hash: "1e".repeat(32) } })).rejects.toThrow();
  });

  it("refuse two events at one position of a chain, in the live table and in the archive", async () => {
    const chain = chainFields();
    await db.prisma.auditEvent.create({ data: { ...auditEventFields(), ...chain } });
    await expect(db.prisma.auditEvent.create({ data: { ...auditEventFields(), ...chain } })).rejects.toThrow();
    await db.prisma.archivedAuditEvent.create({ data: { ...auditEventFields(), ...chain, archivedAt: ARCHIVED_AT } });
    await expect(db.prisma.archivedAuditEvent.create({ data: { ...auditEventFields(), ...chain, archivedAt: ARCHIVED_AT } })).rejects.toThrow();
  });

  it("round-trip every field of an Order, with a Decimal total", async () => {
    const data = {
      id: 4242,
      reference: "ORD-2026-ü-001",
      status: "refunded",
      total: new Decimal("9876543210.99"),
      createdAt: new Date("2026-11-20T23:59:59.999Z"),
    };
    await db.prisma.order.create({ data });
    expectSameRow(await db.prisma.order.findUnique({ where: { id: data.id } }), data);
  });

  it("fill an Order's id and createdAt from the defaults", async () => {
    const before = Date.now();
    const created = await db.prisma.order.create({
      data: { reference: "ORD-DEFAULTS", status: "new", total: new Decimal("0.10") },
    });
    const read = await db.prisma.order.findUniqueOrThrow({ where: { id: created.id } });

    expect(read.id).toBeGreaterThan(0);
    expect(read.total.toFixed(2)).toBe("0.10");
    expect(Math.abs(read.createdAt.getTime() - before)).toBeLessThan(60_000);
  });

  it("read back an Order whose id and createdAt the database's own defaults filled", async () => {
    const before = Date.now();
    await db.prisma.$executeRawUnsafe("INSERT INTO orders (reference, status, total) VALUES ('ORD-RAW', 'new', 19.99)");
    const read = await db.prisma.order.findFirstOrThrow({ where: { reference: "ORD-RAW" } });

    expect(read.id).toBe(1);
    expect(read.total.toFixed(2)).toBe("19.99");
    // The SQL default is the database's clock in its session time zone; Prisma reads it as
    // UTC, so a server not running in UTC would show up here as an offset of whole hours.
    expect(Math.abs(read.createdAt.getTime() - before)).toBeLessThan(60_000);
  });

  it("round-trip every field of a Customer", async () => {
    const data = { id: "cus_Zoë_李_001", name: "Zoë Ångström-李", email: "zoë@exämple.com" };
    await db.prisma.customer.create({ data });
    expectSameRow(await db.prisma.customer.findUnique({ where: { id: data.id } }), data);
  });

  it("round-trip Ledger ids beyond 2^53, up to the int64 limits", async () => {
    const rows = [
      { id: 2n ** 53n + 1n, note: "just past Number.MAX_SAFE_INTEGER" },
      { id: 2n ** 63n - 1n, note: "int64 max" },
      { id: -(2n ** 63n), note: "int64 min" },
    ];
    for (const data of rows) await db.prisma.ledger.create({ data });

    for (const data of rows) {
      expectSameRow(await db.prisma.ledger.findUnique({ where: { id: data.id } }), data);
    }
    const ordered = await db.prisma.ledger.findMany({ orderBy: { id: "asc" } });
    expect(ordered.map((row) => row.id)).toEqual([-(2n ** 63n), 2n ** 53n + 1n, 2n ** 63n - 1n]);
  });

  it("empty every table on reset", async () => {
    await db.prisma.auditEvent.create({ data: auditEventFields() });
    await db.prisma.order.create({ data: { reference: "ORD-R", status: "new", total: new Decimal("1.00") } });
    await db.reset();

    expect(await db.prisma.auditEvent.count()).toBe(0);
    expect(await db.prisma.order.count()).toBe(0);
    const next = await db.prisma.order.create({ data: { reference: "ORD-R2", status: "new", total: new Decimal("1.00") } });
    expect(next.id).toBe(1);
  });

  it("restart ids on reset even in a table a test emptied itself", async () => {
    const first = await db.prisma.order.create({ data: { reference: "ORD-D", status: "new", total: new Decimal("1.00") } });
    await db.prisma.order.delete({ where: { id: first.id } });
    await db.reset();

    const next = await db.prisma.order.create({ data: { reference: "ORD-D2", status: "new", total: new Decimal("1.00") } });
    expect(next.id).toBe(1);
  });
});
