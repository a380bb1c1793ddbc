import { newEventIdentity, type AuditEventRecord } from "../../src/model/event-record";
import type { JsonObject } from "../../src/model/json";

const ACTIONS = ["create", "update", "status_change", "delete"];
const METHODS = ["POST", "PATCH", "PUT", "DELETE"];
const TYPES = ["shop.order", "shop.customer", "shop.payment", "auth.user"];

/**
 * `count` realistic, distinct audit events with fresh UUID v7 ids: about 190 bytes of
 * content JSON and a few request fields, like bench/archive.ts seeds in SQL.
 *
 * @example
 * ```ts
 * const events = sampleEvents(10_000);
 * ```
 */
export function sampleEvents(count: number): AuditEventRecord[] {
  return Array.from({ length: count }, (_, i) => {
    const n = i % 50_000;
    const total = (i % 100_000) / 100;
    const queryParams: JsonObject = i % 3 === 0 ? { notify: "true" } : {};
    return {
      ...newEventIdentity(),
      contentType: TYPES[i % 4]!,
      objectId: String(n),
      content: {
        action: ACTIONS[i % 4]!,
        reference: `ORD-${String(n).padStart(8, "0")}`,
        changes: { status: ["pending", "paid"], total: [total, Math.round((total + 4.99) * 100) / 100] },
        customer: { id: `cus_${(i * 2654435761 % 2 ** 32).toString(16)}`, email: `user${i % 5000}@example.com` },
      },
      userId: i % 10 === 0 ? null : `user-${i % 500}`,
      url: `https://shop.example.com/api/orders/${n}/status`,
      method: METHODS[i % 4]!,
      remoteAddr: `10.0.${(i >> 8) % 256}.${i % 256}`,
      queryParams,
      postData: { status: "paid", comment: `note ${i}` },
      headers: { "user-agent": "Mozilla/5.0 (X11; Linux x86_64) shop-client/2.4", accept: "application/json" },
      action: null, outcome: "success", severity: "info", tenantId: null, requestId: null, chainId: null, seq: null, prevHash: null, hash: null,
    };
  });
}
