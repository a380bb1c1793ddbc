import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

import fc from "fast-check";

import { AuditContext, auditMetrics, closeAudit, configureAudit, fileSpool, flushAudit, memoryStore, type AuditStore } from "../../src";
import { switchableStore } from "../support/switchable-store";
import { recordingLogger } from "./spool-conformance";

/**
 * With a `fileSpool`, the store is fed by reading the spooled lines back, the writer's own
 * too. A line the writer appended and never tried to write cannot be in the store: it counts
 * as written, not replayed, and with `integrity` it is not asked about (`storedIds`) before
 * it is chained. Lines that waited through a store failure count as replayed and are
 * asked about. Whatever the order of bursts and outages, every event is stored once.
 */
const KEY = "spool-fed-fresh-lines-key-0123456789abcdef";
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), "spool-fresh-"));
});
afterAll(async () => {
  await closeAudit().catch(() => undefined);
  configureAudit({});
  rmSync(dir, { recursive: true, force: true });
});

/** `store`, counting the ids it was asked about. */
function askedAbout(store: AuditStore): AuditStore & { asked: number } {
  const counting = Object.create(store) as AuditStore & { asked: number };
  counting.asked = 0;
  counting.storedIds = (ids) => {
    counting.asked += ids.length;
    return store.storedIds!(ids);
  };
  return counting;
}

type Step = { kind: "burst"; events: number } | { kind: "outage"; events: number };

it("counts the writer's own lines as written and asks about none, and those of an outage as replayed, each event stored once", async () => {
  const steps = fc.array(
    fc.oneof(fc.record({ kind: fc.constant("burst" as const), events: fc.integer({ min: 1, max: 30 }) }), fc.record({ kind: fc.constant("outage" as const), events: fc.integer({ min: 1, max: 10 }) })),
    { minLength: 1, maxLength: 5 },
  );
  let run = 0;
  await fc.assert(
    fc.asyncProperty(steps, async (plan: Step[]) => {
      const inner = memoryStore();
      const switchable = switchableStore(inner);
      const store = askedAbout(switchable);
      configureAudit({ store, writeMode: "buffered", maxBatchSize: 7, spool: fileSpool({ path: path.join(dir, `run-${run++}.spool`) }), integrity: { key: KEY }, logger: recordingLogger() });
      const before = auditMetrics();
      const context = new AuditContext();
      const created: string[] = [];
      let duringOutages = 0;
      for (const step of plan) {
        if (step.kind === "outage") switchable.down = true;
        const events = await Promise.all(Array.from({ length: step.events }, (_, i) => context.createEvent({ contentType: "Order", objectId: i })));
        created.push(...events.map((e) => e.id));
        if (step.kind === "outage") {
          await flushAudit().catch(() => undefined);
          duringOutages += step.events;
          switchable.down = false;
        }
        await flushAudit();
      }
      await closeAudit();
      const after = auditMetrics();
      const stored = inner.list().map((e) => e.id);
      expect({ missing: created.filter((id) => !stored.includes(id)), twice: stored.length - new Set(stored).size }).toEqual({ missing: [], twice: 0 });
      expect(after.written - before.written).toBe(created.length);
      // At most the events of the outages waited through a failure (a failed write of a
      // burst's last lines may add to them only while the store is down).
      expect(after.replayed - before.replayed).toBeLessThanOrEqual(duringOutages);
      if (duringOutages === 0) expect({ replayed: after.replayed - before.replayed, asked: store.asked }).toEqual({ replayed: 0, asked: 0 });
      else expect(after.replayed - before.replayed).toBeGreaterThan(0);
    }),
    { numRuns: 20 },
  );
});
