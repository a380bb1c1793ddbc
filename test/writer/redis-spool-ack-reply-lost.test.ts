import { redisSpool } from "../../src";
import { recordingLogger } from "./spool-conformance";
import { redisSpoolKey } from "../support/redis-spool-key";
import type { ReplySwitch } from "../support/redis-losing-replies";

/**
 * An acknowledgement Redis ran whose reply was lost (the connection dropped then): the
 * list is shorter by the lines it trimmed, which were stored, not lost. The spool reads
 * its counters again and must report no loss: a false one makes the writer count lines an
 * earlier process left as `dropped`.
 */

/** A switch that makes the spool's next script lose its reply after Redis ran it (a connection dropped then). */
const mockReplies: ReplySwitch = { loseNext: false };

jest.mock("redis", () => jest.requireActual<typeof import("../support/redis-losing-replies")>("../support/redis-losing-replies").redisLosingReplies(() => mockReplies));

const { url, key, admin } = redisSpoolKey("ack-reply-lost");

it("reports no loss when the reply of an acknowledgement Redis ran was lost", async () => {
  const logger = recordingLogger();
  const spool = redisSpool({ url, key });
  await spool.open(logger);
  try {
    await spool.append(["a 1", "a 2", "a 3", "a 4", "a 5"]);
    const head = await spool.peek(2);
    mockReplies.loseNext = true;
    const failed = await spool.ack(head).then(
      () => "resolved",
      (error: { code?: string; message?: string }) => error.code ?? error.message,
    );
    expect(failed).toMatch(/reply was lost/);
    expect({ count: spool.count(), listed: await admin.lLen(key), lossReports: logger.warnings.filter((w) => /ERR_AUDIT_SPOOL_LOST|acknowledged event\(s\) were removed/.test(w)) }).toEqual({ count: 3, listed: 3, lossReports: [] });
    // Nor is one held back for the next operation to throw.
    await expect(spool.peek(10)).resolves.toMatchObject({ lines: ["a 3", "a 4", "a 5"] });
  } finally {
    await spool.close();
  }
});
