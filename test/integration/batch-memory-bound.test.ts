import { openDatabase, type TestDatabase } from "../support/databases";
import { runTsx } from "../support/archive-process";

/**
 * Writing a batch takes memory for a piece of it at a time, not for its whole text: a
 * bounded batch can hold 1000 events of 1 MiB content, and a writer that builds the
 * batch's text (or all its statements) before sending any would need several times that
 * in heap, and take the application down with it. A process whose heap is capped well
 * under the batch's 540 MiB of text flushes it (test/support/big-batch-child.ts).
 *
 * The caps are measured (Node 20): through COPY the flush needs about 100 MB of heap
 * (it needed over 450 MB when the whole text was built first); through Prisma alone
 * about 750 MB, since Prisma's client holds each statement's parameters until the
 * batch's transaction ends (it needed over 1.2 GB).
 */
jest.setTimeout(240_000);
describe.each([
  ["COPY through a pgPool", "copy", 256],
  ["Prisma's json_populate_recordset (no pgPool)", "prisma", 1200],
])("a 540 MiB batch written by %s", (_name, path, heapMb) => {
  let db: TestDatabase<"postgresql">;
  beforeAll(async () => {
    db = await openDatabase("postgresql", { name: `batch_memory_${path}` });
  });
  afterAll(async () => {
    await db?.close();
  });

  it(`is stored whole by a process whose heap is capped at ${heapMb} MB`, async () => {
    const outcome = await runTsx("test/support/big-batch-child.ts", [db.url, path], { timeoutMs: 200_000, env: { NODE_OPTIONS: `--max-old-space-size=${heapMb}` } });
    const [stored] = await db.prisma.$queryRawUnsafe<{ n: number; objects: number; bytes: number }[]>(
      `SELECT count(*)::int AS n, count(DISTINCT "objectId")::int AS objects, min(length(content->>'body'))::int AS bytes FROM audit_events`,
    );
    expect({ exit: outcome.code, timedOut: outcome.timedOut, stdout: outcome.lines, stored, stderr: outcome.stderr.slice(-600) }).toEqual({
      exit: 0,
      timedOut: false,
      stdout: ["closed"],
      stored: { n: 600, objects: 600, bytes: 900_000 },
      stderr: "",
    });
  });
});
