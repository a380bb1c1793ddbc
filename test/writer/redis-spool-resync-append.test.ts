import { redisSpool, type AuditSpool } from "../../src";
import type { SpoolBatch } from "../../src/writer/spool";
import { spoolLineBytes } from "../../src/writer/spool";
import { recordingLogger } from "./spool-conformance";
import { redisSpoolKey } from "../support/redis-spool-key";

/**
 * The spool reads its counters again (a resync: after a loss, a lost reply, a lock taken
 * back) while an append is on its way. Whichever runs first in Redis, the counters must
 * end as the list is: a count too low hides a later loss of that many lines, one too high
 * reports a loss that did not happen, and a byte counter too low lets the list past
 * `maxBytes`. The append is started from the logger, at the moment the resync recounts
 * the list (its byte counter was deleted), so the interleaving is forced, not hoped for;
 * an acknowledgement on its way, likewise.
 */

const { url, key, admin, resetKeys } = redisSpoolKey("resync-append");

const lines = (tag: string, n: number) => Array.from({ length: n }, (_, i) => `${tag}-${i} ${"x".repeat(i)}`);

/** What the list holds, and what the spool and Redis's byte counter say it holds. */
async function counters(spool: AuditSpool) {
  const listed = await admin.lRange(key, 0, -1);
  const bytes = listed.reduce((sum, line) => sum + spoolLineBytes(line), 0);
  return {
    spool: { lines: spool.count(), bytes: spool.usedBytes() },
    redisBytes: Number(await admin.get(`${key}:bytes`)),
    list: { lines: listed.length, bytes },
  };
}

/**
 * Opens a spool whose list lost its first line and its byte counter, and whose logger
 * runs `during(spool, head)` when the resync recounts the list (`head`: its first lines).
 * Returns the spool once that settled.
 */
async function racedSpool(during: (spool: AuditSpool, head: SpoolBatch) => Promise<unknown>): Promise<AuditSpool> {
  const spool = redisSpool({ url, key });
  const logger = recordingLogger();
  let raced: Promise<unknown> | undefined;
  let head: SpoolBatch | undefined;
  await spool.open({
    warn(message) {
      logger.warn(message);
      // The resync is recounting the list: the other operation goes out now.
      if (raced === undefined && /byte counter .* was missing/.test(message)) raced = during(spool, head!);
    },
    error: (message) => logger.warn(message),
  });
  await spool.append(lines("first", 5));
  await admin.lTrim(key, 1, -1); // one line lost from outside...
  await admin.del(`${key}:bytes`); // ... with the byte counter: the resync recounts
  const first = await admin.lRange(key, 0, 1);
  head = { lines: first, bytes: first.map(spoolLineBytes) };
  await expect(spool.peek(10)).rejects.toMatchObject({ code: "ERR_AUDIT_SPOOL_LOST", count: 1 });
  expect(raced).toBeDefined();
  await raced;
  return spool;
}

beforeEach(resetKeys);

it("counts an append that was on its way while the spool recounted its list", async () => {
  const spool = await racedSpool((s) => s.append(lines("more", 3)));
  try {
    const seen = await counters(spool);
    expect(seen.list.lines).toBe(7);
    expect({ spool: seen.spool, redisBytes: seen.redisBytes }).toEqual({ spool: seen.list, redisBytes: seen.list.bytes });
  } finally {
    await spool.close();
  }
});

it("counts an acknowledgement that was on its way while the spool recounted its list", async () => {
  const spool = await racedSpool((s, head) => s.ack(head));
  try {
    const seen = await counters(spool);
    expect(seen.list.lines).toBe(2);
    expect({ spool: seen.spool, redisBytes: seen.redisBytes }).toEqual({ spool: seen.list, redisBytes: seen.list.bytes });
    // A count too high reports a loss at the next read that never happened.
    await expect(spool.peek(10)).resolves.toMatchObject({ lines: await admin.lRange(key, 0, -1) });
  } finally {
    await spool.close();
  }
});
