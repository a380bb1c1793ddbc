import { Writable } from "node:stream";

import { v7 as uuidv7 } from "uuid";

import { AuditContext, type AuditEventRecord, type AuditStore } from "../../src";
import type { JsonObject } from "../../src/model/json";
import { random } from "./archive-fixtures";

/** Helpers of the read-side tests: a large deterministic trail and its oracle. */

export const READ_BASE = Date.UTC(2026, 5, 1);
const DAY = 86_400_000;
export const ACTIONS = ["create", "update", "refund", "view", "delete"];
export const CONTENT_TYPES = ["Order", "Customer", "Invoice", "order"];
/** Values a spreadsheet would run as formulas; the CSV export must neutralise them. */
export const FORMULAS = ["=HYPERLINK(\"http://evil.example\",\"x\")", "+1+1", "-2+3", "@SUM(A1)", "\tTAB", "\rCR"];

/**
 * `count` events over the 30 days before {@link READ_BASE}, in shuffled order: four
 * content types (two differing only by case), 200 objects, 20 users and anonymous
 * events, five methods, ten IPs; content with an action, an amount, a flag, a note
 * that one event in a hundred holds a search target in, and some values a
 * spreadsheet would run. Every tenth event shares its millisecond with the one before.
 */
export function manyEvents(count: number, seed = 7): AuditEventRecord[] {
  const next = random(seed);
  const pick = <T>(list: readonly T[]) => list[Math.floor(next() * list.length)]!;
  let previous = READ_BASE - 30 * DAY;
  return Array.from({ length: count }, (_, i) => {
    const millis = i % 10 === 9 ? previous : READ_BASE - Math.floor(next() * 30 * DAY);
    previous = millis;
    const objectNumber = 1 + Math.floor(next() * 200);
    const content: JsonObject = { action: pick(ACTIONS), amount: Math.floor(next() * 100), vip: next() < 0.3 };
    if (i % 100 === 0) content.note = { text: `customer said: ${i % 200 === 0 ? "Broken HINGE" : "ok"}` };
    if (i % 250 === 1) content.comment = pick(FORMULAS);
    return {
      id: uuidv7({ msecs: millis }),
      timestamp: new Date(millis),
      contentType: pick(CONTENT_TYPES),
      objectId: i % 500 === 0 ? "O1" : `o${objectNumber}`,
      content,
      userId: next() < 0.1 ? null : i % 333 === 0 ? pick(FORMULAS) : `user-${Math.floor(next() * 20)}`,
      url: `https://shop.example/orders/${objectNumber}?page=${i}`,
      method: pick(["GET", "POST", "PUT", "DELETE", null]),
      remoteAddr: `198.51.100.${Math.floor(next() * 10)}`,
      queryParams: { page: String(i) },
      postData: (i % 3 === 0 ? { note: "=cmd|' /C calc'!A0" } : {}) as JsonObject,
      headers: { "user-agent": "jest" },
      action: null, outcome: "success", severity: "info", tenantId: null, requestId: null, chainId: null, seq: null, prevHash: null, hash: null,
    };
  });
}

/** Writes events in batches of 1000. */
export async function insertAll(store: AuditStore, events: AuditEventRecord[]): Promise<void> {
  const context = new AuditContext();
  for (let start = 0; start < events.length; start += 1000) await store.insert(events.slice(start, start + 1000), { context });
}

/** Ascending (timestamp, id). */
export const byPosition = (a: AuditEventRecord, b: AuditEventRecord) => a.timestamp.getTime() - b.timestamp.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** A writable that keeps everything written to it as text. */
export class TextSink extends Writable {
  text = "";
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.text += chunk.toString("utf8");
    callback();
  }
}
