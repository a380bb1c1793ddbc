import fc from "fast-check";

import { redisSpool, type AuditSpool } from "../../src";
import { spoolLineBytes } from "../../src/writer/spool";
import { recordingLogger } from "./spool-conformance";
import { redisSpoolKey } from "../support/redis-spool-key";

/**
 * One loss of a Redis spool's lines (its list deleted or evicted) is reported once, however
 * many operations are on their way when it happens: the buffered writer feeds the store by
 * reading the spool back while new events are appended, so a read, an append and an
 * acknowledgement are often sent together. Each compared the list with the count as it was
 * when it was sent, and the one sent after the finder, before the counters were read again,
 * reported the same loss a second time (at error level).
 */
const { url, key, admin, resetKeys } = redisSpoolKey("loss-reported-once");
beforeEach(resetKeys);

const line = (n: number) => `line-${n}-${"x".repeat(n % 7)}`;
const LOSS = /acknowledged event\(s\) were removed from it/;

type Operation = "peek" | "append" | "ack";

/** Starts `operation` on `spool` (a loss it finds rejects it, which is what it should do). */
function start(spool: AuditSpool, operation: Operation, n: number): Promise<unknown> {
  switch (operation) {
    case "peek":
      return spool.peek(3);
    case "append":
      return spool.append([line(1000 + n)]);
    case "ack": {
      const lines = [line(0)];
      return spool.ack({ lines, bytes: lines.map(spoolLineBytes) });
    }
  }
}

it("reports a deleted list once, whichever operations are on their way together", async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(fc.constantFrom<Operation>("peek", "append", "ack"), { minLength: 2, maxLength: 5 }), fc.integer({ min: 1, max: 6 }), async (operations, appended) => {
      await resetKeys();
      const logger = recordingLogger();
      const spool = redisSpool({ url, key });
      await spool.open(logger);
      try {
        await spool.append(Array.from({ length: appended }, (_, i) => line(i)));
        await admin.del(key);
        await Promise.allSettled(operations.map((operation, n) => start(spool, operation, n)));
        expect(logger.warnings.filter((w) => LOSS.test(w))).toHaveLength(1);
      } finally {
        await spool.close();
      }
    }),
    { numRuns: 25 },
  );
});
