import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

import { AuditContext, auditMetrics, closeAudit, configureAudit, fileSpool, flushAudit, memoryStore, SpoolLinesLost, type AuditSpool } from "../../src";
import { switchableStore } from "../support/switchable-store";
import { recordingLogger } from "./spool-conformance";

/**
 * A spool of the application's own that does not declare `mayLoseLines` (so the writer
 * keeps no copies of its lines) yet reports a loss (`SpoolLinesLost`): the events of the
 * lines it lost are in no other place. They were lost without a word: not counted in
 * `dropped`, not logged. They must be counted and reported at error level, naming the fix.
 */

const dir = mkdtempSync(path.join(tmpdir(), "audit-spool-no-copies-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(async () => {
  await closeAudit().catch(() => undefined);
  configureAudit({});
});

/** A file spool whose next read, once `lose(n)` is called, finds its first `n` lines gone. */
function losingSpool(file: string): AuditSpool & { lose(count: number): void } {
  const inner = fileSpool({ path: file });
  let losing = 0;
  return {
    name: "losing(test)",
    get maxBytes() {
      return inner.maxBytes;
    },
    open: (logger) => inner.open(logger),
    usedBytes: () => inner.usedBytes(),
    count: () => inner.count(),
    append: (lines) => inner.append(lines),
    async peek(max) {
      if (losing > 0) {
        const count = losing;
        losing = 0;
        await inner.ack(await inner.peek(count));
        throw new SpoolLinesLost(count, `losing(test): ${count} line(s) vanished`);
      }
      return inner.peek(max);
    },
    ack: (batch, count) => inner.ack(batch, count),
    close: () => inner.close(),
    lose(count: number) {
      losing = count;
    },
  };
}

it.each([1, 3])("counts in dropped and logs at error level the %i event(s) of lines a spool without copies lost", async (lost) => {
  const store = switchableStore(memoryStore(), { down: true });
  const spool = losingSpool(path.join(dir, `lost-${lost}.spool`));
  const errors: string[] = [];
  const logger = { ...recordingLogger(), error: (message: string) => void errors.push(message) };
  configureAudit({ store, writeMode: "buffered", flushIntervalMs: 20, spool, logger });
  const context = new AuditContext();
  await Promise.all(Array.from({ length: 5 }, (_, i) => context.createEvent({ contentType: "Order", objectId: String(i) }, { n: i })));
  await flushAudit().catch(() => undefined);
  const droppedBefore = auditMetrics().dropped;
  spool.lose(lost);
  store.down = false;
  // The spool is replayed on the writer's timer once the store answers.
  for (let waited = 0; store.list().length < 5 - lost && waited < 15_000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
  await flushAudit();
  expect(store.list().map((event) => event.objectId).sort()).toEqual(["0", "1", "2", "3", "4"].slice(lost));
  expect(auditMetrics().dropped - droppedBefore).toBe(lost);
  expect(errors.join("\n")).toMatch(new RegExp(`losing\\(test\\) lost ${lost} line\\(s\\).*mayLoseLines`));
});
