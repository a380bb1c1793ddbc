import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { auditMetrics, fileSpool, memoryStore, type EventRow } from "../../src";
import { BufferedWriter } from "../../src/writer/buffered-writer";
import { encodeSpoolLine } from "../../src/writer/spool-line";
import { sampleRecord } from "../conformance/store-conformance";
import { recordingLogger } from "./spool-conformance";

/**
 * One byte of an acknowledged spool line flips (bad sector, a careless edit). At replay
 * (buffered-writer.ts replayOnce, the `corrupt++` branch) the line is acknowledged away: only
 * its first 80 characters reach the log, it is not kept in `<path>.refused` as lines refused
 * for their MAC are, it is counted as `dropped` (the onSpoolFull metric), not `rejected`,
 * and the trail gets no stand-in. An auditor cannot see that an event is missing, and the
 * operator cannot restore the event (its id, actor, content are past character 80).
 * Now it is kept whole in `<path>.refused`, logged whole at error level, counted in
 * `rejected`, and a stand-in event naming it is stored before the line is acknowledged.
 */
const dir = mkdtempSync(path.join(tmpdir(), "audit-corrupt-line-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it("keeps a corrupt spool line whole aside, logs it whole, counts it rejected and marks the hole in the trail", async () => {
  const before = auditMetrics();
  const file = path.join(dir, "audit.log");
  const good: EventRow = { ...sampleRecord({ objectId: "good" }) };
  const victim: EventRow = { ...sampleRecord({ objectId: "victim-with-a-long-payload" }) };
  const line = encodeSpoolLine(victim);
  const at = line.length - 5; // flip one character near the end of the JSON
  const corrupt = line.slice(0, at) + (line[at] === "a" ? "b" : "a") + line.slice(at + 1);
  writeFileSync(file, `${encodeSpoolLine(good)}\n${corrupt}\n`);

  const store = memoryStore();
  const logger = recordingLogger();
  const writer = new BufferedWriter({ store, flushIntervalMs: 10, maxBatchSize: 100, maxBufferedEvents: 1000, spool: fileSpool({ path: file }), onSpoolFull: "block", logger });
  await writer.flush();
  await writer.close();

  const wholeLineLogged = logger.warnings.some((w) => w.includes(corrupt));
  const keptAside = existsSync(`${file}.refused`) && readFileSync(`${file}.refused`, "utf8") === `${corrupt}\n`;
  const standIns = store.list().filter((e) => e.contentType === "AuditEvent");
  const after = auditMetrics();
  expect({ wholeLineLogged, keptAside, rejected: after.rejected - before.rejected, dropped: after.dropped - before.dropped }).toEqual({ wholeLineLogged: true, keptAside: true, rejected: 1, dropped: 0 });
  expect(standIns.map((e) => [e.objectId, (e.content as { line?: string }).line])).toEqual([[victim.id, corrupt]]);
  expect(store.list().filter((e) => e.id === good.id)).toHaveLength(1);
});
