/**
 * A process that starts an archival schedule and never stops it, for
 * test/integration/schedule.test.ts: it must still exit once its own work is done.
 *
 *   node_modules/.bin/tsx test/support/archive-schedule-child.ts [aliveMs]
 *
 * Keeps itself busy for `aliveMs` (default 2500) so the schedule gets to run, printing
 * `run <archived>` after each run, then prints `main done` and lets the process end.
 */
import { AuditContext, memoryStore, scheduleArchival } from "../../src";
import { DAY_MS, archiveRecord } from "./archive-fixtures";

async function main(): Promise<void> {
  const aliveMs = Number(process.argv[2] ?? 2500);
  const store = memoryStore();
  await store.insert([archiveRecord(Date.now() - 40 * DAY_MS)], { context: new AuditContext() });
  scheduleArchival({
    cron: "*/1 * * * * *",
    olderThanDays: 30,
    store,
    logger: { info: () => undefined, error: (message) => process.stdout.write(`error ${message}\n`) },
    onRun: (result) => process.stdout.write(`run ${result.archived}\n`),
  });
  setTimeout(() => process.stdout.write("main done\n"), aliveMs);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
