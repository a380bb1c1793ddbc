import { v7 as uuidv7 } from "uuid";

import { EVENT_FIELDS, type AuditEventRecord } from "../../src/model/event-record";

/** When the first chained event of {@link chainedFixture} happened. */
export const CHAINED_BASE = Date.UTC(2026, 6, 1, 8);
const MINUTE = 60_000;

/** The first position of the fixture's second chain: above 2^32, so a 32-bit conversion anywhere would show. */
export const HIGH_SEQ = 2 ** 40 + 1;

const hex = (n: number) => n.toString(16).padStart(64, "0");

/**
 * Chained events as `integrity` stores them: two chains (one starting at seq 1, one at
 * {@link HIGH_SEQ}), interleaved in time, each event's `prevHash` its predecessor's
 * `hash`. Half of them belong to tenant "A". The hashes are not seals (reads do not check
 * them); verify's tests seal theirs.
 */
export function chainedFixture(): AuditEventRecord[] {
  const chains = [
    { chainId: uuidv7({ msecs: CHAINED_BASE - MINUTE }), first: 1 },
    { chainId: uuidv7({ msecs: CHAINED_BASE - 2 * MINUTE }), first: HIGH_SEQ },
  ];
  const previous = new Map<string, string | null>();
  return Array.from({ length: 10 }, (_, i) => {
    const millis = CHAINED_BASE + i * MINUTE;
    const chain = chains[i % 2]!;
    const seq = chain.first + Math.floor(i / 2);
    const hash = hex(i + 1);
    const prevHash = previous.get(chain.chainId) ?? null;
    previous.set(chain.chainId, hash);
    return {
      id: uuidv7({ msecs: millis }),
      timestamp: new Date(millis),
      contentType: "Order",
      objectId: String(i % 3),
      content: { action: i % 2 === 0 ? "refund" : "update", amount: i, nested: { list: [i, "x", null] } },
      userId: `user-${i % 2}`,
      url: `https://shop.example/orders/${i % 3}`,
      method: "POST",
      remoteAddr: "203.0.113.7",
      queryParams: {},
      postData: { amount: i },
      headers: { "user-agent": "test" },
      action: i % 2 === 0 ? "order.refund" : "order.update",
      outcome: "success",
      severity: "info",
      tenantId: i % 2 === 0 ? "A" : "B",
      requestId: `req-${i}`,
      chainId: chain.chainId,
      seq,
      prevHash,
      hash,
    };
  });
}

/** What type each stored field must read back as (see AuditEventRecord). */
const FIELD_TYPES: Readonly<Record<(typeof EVENT_FIELDS)[number], "string" | "string?" | "date" | "object" | "number?">> = {
  id: "string",
  timestamp: "date",
  contentType: "string",
  objectId: "string",
  content: "object",
  userId: "string?",
  url: "string?",
  method: "string?",
  remoteAddr: "string?",
  queryParams: "object",
  postData: "object",
  headers: "object",
  action: "string?",
  outcome: "string",
  severity: "string",
  tenantId: "string?",
  requestId: "string?",
  chainId: "string?",
  seq: "number?",
  prevHash: "string?",
  hash: "string?",
};

// Checked by tag, not instanceof: a store's structuredClone makes its Dates and objects in Node's own realm, not jest's.
const isDate = (value: unknown): value is Date => Object.prototype.toString.call(value) === "[object Date]" && !Number.isNaN((value as Date).getTime());

function isPlainJson(value: unknown): boolean {
  if (value === null || typeof value === "string" || typeof value === "boolean") return true;
  if (typeof value === "number") return Number.isFinite(value);
  if (Array.isArray(value)) return value.every(isPlainJson);
  if (isDate(value)) return false;
  if (typeof value !== "object") return false;
  const proto = Object.getPrototypeOf(value);
  // A plain object of any realm: its prototype is null or a realm's Object.prototype (whose own prototype is null).
  return (proto === null || Object.getPrototypeOf(proto) === null) && Object.values(value).every(isPlainJson);
}

/**
 * The fields of `record` whose value is not of the model's type (a bigint `seq`, a
 * Decimal, a Buffer, text for a Date, a JSON field as text), as `"field: what it is"`;
 * empty for a record a read may hand to `JSON.stringify`.
 */
export function modelTypeProblems(record: object): string[] {
  const problems: string[] = [];
  const fields = record as Record<string, unknown>;
  const describe = (value: unknown) => (typeof value === "object" && value !== null ? Object.prototype.toString.call(value) + ` (${value.constructor?.name})` : typeof value);
  for (const field of EVENT_FIELDS) {
    const value = fields[field];
    const type = FIELD_TYPES[field];
    const ok =
      type === "date"
        ? isDate(value)
        : type === "object"
          ? typeof value === "object" && value !== null && !Array.isArray(value) && isPlainJson(value)
          : type === "number?"
            ? value === null || (typeof value === "number" && Number.isSafeInteger(value))
            : type === "string?"
              ? value === null || typeof value === "string"
              : typeof value === "string";
    if (!ok) problems.push(`${field}: ${describe(value)}`);
  }
  return problems;
}
