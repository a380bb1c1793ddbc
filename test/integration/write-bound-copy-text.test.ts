import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

import { fileSpool, prismaStore } from "../../src";
import { newEventIdentity } from "../../src/model/event-record";
import type { EventRow } from "../../src/stores/store";
import { BufferedWriter } from "../../src/writer/buffered-writer";
import { sampleRecord } from "../conformance/store-conformance";
import { copyRecordingPool, type CopyRecordingPool } from "../support/copy-pool";
import { openDatabase, type TestDatabase } from "../support/databases";

/**
 * The buffered writer weighs an event by its spool line's size, or without a spool by
 * `rowBytesAtMost`, an upper bound of what a store sends for it. Through COPY (pgPool) a
 * JSON column goes as its JSON text with each backslash doubled: a control character is
 * JSON's `\u0001` (6 bytes), then `\\u0001` (7 bytes) in COPY's text; a backslash is `\\`
 * in the spool line's JSON, `\\\\` in COPY's. Counted at 6 bytes a character, or at the
 * line's size, a write of such events passed its bound (by up to twice). A value inside a
 * JSON column goes as JSON writes it: a Buffer by its toJSON (up to 4 bytes a byte), a
 * Uint8Array as an object of its indexes, a class's value as its toJSON's result; counted
 * as hex, or as the object's own fields, they passed it by up to 2.7 times. What each COPY
 * sent is counted as it is written to the stream.
 */
const MiB = 1024 * 1024;

describe("the write bound through COPY, for text COPY escapes", () => {
  let db: TestDatabase<"postgresql">;
  let pool: CopyRecordingPool;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "write-bound-copy-text-"));
    db = await openDatabase("postgresql", { name: "write_bound_copy_text" });
    // Each piece notes the COPY it belongs to (the writes go one at a time).
    pool = copyRecordingPool(db.url, {}, () => pool.copies.length - 1);
  });
  afterAll(async () => {
    await pool?.end();
    await db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A value of a class (queued as it is, not copied) that goes as the JSON of what its `toJSON` returns. */
  class Note {
    toJSON(): string {
      return "x".repeat(200_000);
    }
  }
  it.each([
    { name: "control characters", content: () => ({ note: "\u0001".repeat(40_000) }), spooled: false },
    { name: "backslashes", content: () => ({ note: "\\".repeat(40_000) }), spooled: false },
    { name: "quotes", content: () => ({ note: '"'.repeat(40_000) }), spooled: false },
    { name: "a Buffer inside (its toJSON's numbers)", content: () => ({ blob: Buffer.alloc(40_000, 255) }), spooled: false },
    { name: "a Uint8Array inside (an object of its indexes)", content: () => ({ blob: new Uint8Array(20_000).fill(255) }), spooled: false },
    { name: "an object with toJSON", content: () => ({ note: new Note() }), spooled: false },
    { name: "control characters", content: () => ({ note: "\u0001".repeat(40_000) }), spooled: true },
    { name: "backslashes", content: () => ({ note: "\\".repeat(40_000) }), spooled: true },
    { name: "quotes", content: () => ({ note: '"'.repeat(40_000) }), spooled: true },
  ])("sends no COPY of several events above the bound for content of $name (spool: $spooled)", async ({ content, spooled }) => {
    pool.copies.length = 0;
    pool.pieces.length = 0;
    const batch = Array.from({ length: 12 }, (_, i) => ({ ...sampleRecord(), ...newEventIdentity(), objectId: String(i), content: content() }) as unknown as EventRow);
    const writer = new BufferedWriter({ store: prismaStore(db.prisma, { pgPool: pool }), flushIntervalMs: 600_000, maxBatchSize: 1000, maxBufferedEvents: 1000, spool: spooled ? fileSpool({ path: path.join(dir, `${batch[0]!.id}.log`) }) : undefined, onSpoolFull: "block", logger: { warn: () => undefined }, maxWriteBytes: MiB });
    for (const row of batch) await writer.enqueue(row);
    await writer.flush();
    await writer.close();
    const copies = pool.copies.map((copy, index) => ({ ok: copy.ok, units: pool.pieces.filter((p) => p.noted === index).reduce((sum, p) => sum + p.units, 0) }));
    // The text is ASCII: a unit is a byte.
    expect({ several: copies.length > 1, failed: copies.filter((c) => !c.ok), oversized: copies.filter((c) => c.units > MiB) }).toEqual({ several: true, failed: [], oversized: [] });
    expect(await db.prisma.auditEvent.count({ where: { id: { in: batch.map((r) => r.id) } } })).toBe(batch.length);
  });
});
