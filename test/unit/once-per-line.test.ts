import fc from "fast-check";
import { oncePerLine, type Pending } from "../../src/writer/spool-tail";
import { sampleRecord } from "../conformance/store-conformance";
import type { EventRow } from "../../src/stores/store";

/**
 * The buffered writer appends a group of events to its spool through `oncePerLine`: events
 * queued again after losses may repeat a line (each loss found queues a copy of every line
 * not stored yet), and each line must reach the spool once, its callers all told.
 */
describe("oncePerLine", () => {
  const row: EventRow = { ...sampleRecord() };
  /** A group of events: `line` an index into a few lines (or none), `caller` whether one waits. */
  const group = fc.array(fc.record({ line: fc.option(fc.integer({ min: 0, max: 4 }), { nil: undefined }), caller: fc.boolean(), maybeStored: fc.boolean() }), { maxLength: 30 });

  it("keeps the first event of each line, in order, every event without a line, and tells every caller with it", () => {
    fc.assert(
      fc.property(group, (specs) => {
        const told: number[] = [];
        const events: Pending[] = specs.map((spec, i) => ({
          row,
          at: 0,
          line: spec.line === undefined ? undefined : `line ${spec.line}`,
          maybeStored: spec.maybeStored,
          settle: spec.caller ? { resolve: () => void told.push(i), reject: () => void told.push(-i - 1) } : undefined,
        }));
        const kept = oncePerLine(events);
        const firstOfLine = events.filter((e, i) => e.line === undefined || events.findIndex((o) => o.line === e.line) === i);
        expect(kept).toEqual(firstOfLine);
        expect(kept.map((e) => e.line).filter((l) => l !== undefined)).toEqual([...new Set(kept.map((e) => e.line).filter((l) => l !== undefined))]);
        for (const e of kept) {
          const same = specs.filter((s) => e.line !== undefined && `line ${s.line}` === e.line);
          if (e.line !== undefined) expect(e.maybeStored).toBe(same.some((s) => s.maybeStored));
          e.settle?.resolve();
        }
        const callers = specs.flatMap((s, i) => (s.caller ? [i] : []));
        expect(told.sort((a, b) => a - b)).toEqual(callers);
      }),
    );
  });
});
