import { redisSpool } from "../../src";
import { recordingLogger } from "./spool-conformance";
import { redisSpoolKey } from "../support/redis-spool-key";
import type { ReplySwitch } from "../support/redis-losing-replies";

/**
 * After a lost reply the spool reads the list's length, and then its counters again. Lines
 * removed from outside between those two reads (an eviction in progress, an `LTRIM` of
 * another client) were taken as never held: the counters fell to the list, no loss was
 * reported, and the lines' events, left by an earlier process without copies, vanished
 * uncounted. The re-read now compares the list with the length seen, moved by what this
 * process appended and acknowledged meanwhile, as the re-read after a loss does.
 */

const mockReplies: ReplySwitch = { loseNext: false };

jest.mock("redis", () => jest.requireActual<typeof import("../support/redis-losing-replies")>("../support/redis-losing-replies").redisLosingReplies(() => mockReplies));

const { url, key, admin } = redisSpoolKey("recheck-concurrent-loss");

it.each([
  ["an append", 1],
  ["an append", 2],
  ["an acknowledgement", 1],
] as const)("reports the lines removed from outside between the length read and the counters read again, after %s whose reply was lost (%i removed)", async (operation, removed) => {
  const logger = recordingLogger();
  const spool = redisSpool({ url, key });
  await spool.open(logger);
  try {
    await spool.append(["a 1", "a 2", "a 3", "a 4"]);
    mockReplies.loseNext = true;
    mockReplies.afterNextLength = async () => void (await admin.lTrim(key, removed, -1));
    const failure = await (operation === "an append" ? spool.append(["a 5"]) : spool.ack(await spool.peek(1))).then(
      () => undefined,
      (error: { code?: string; count?: number }) => ({ code: error.code, count: error.count }),
    );
    expect(failure).toEqual({ code: "ERR_AUDIT_SPOOL_LOST", count: removed });
    expect(logger.warnings.filter((w) => /acknowledged event\(s\) were removed/.test(w))).toHaveLength(1);
    expect(spool.count()).toBe(await admin.lLen(key));
  } finally {
    mockReplies.loseNext = false;
    mockReplies.afterNextLength = undefined;
    await spool.close();
    await admin.del([key, `${key}:bytes`, `${key}:lock`]);
  }
});
