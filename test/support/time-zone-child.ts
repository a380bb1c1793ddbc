/**
 * Runs in a process whose TZ the test chooses (tsx test/support/time-zone-child.ts
 * '<json>'): writes five events every way a store writes, around a UTC midnight, into
 * each database given, reads them back every way, moves the first two into the archive
 * with a cut-off at the third, and prints one JSON line per database.
 */
import { configureAudit, prismaStore, type ArchivePosition } from "../../src";
import { eventAt, observe, writeEveryWay } from "./clock-observations";
import { connectClient, type Provider } from "./databases";

interface ChildInput {
  targets: Array<{ provider: Provider; url: string }>;
  /** The first event's instant, in epoch milliseconds; the others follow 2 ms apart. */
  start: number;
}

async function main(): Promise<void> {
  const { targets, start } = JSON.parse(process.argv[2]!) as ChildInput;
  configureAudit({ logger: { warn: () => undefined } });
  for (const target of targets) {
    const client = connectClient(target);
    try {
      const store = prismaStore(client);
      const events = [0, 1, 2, 3, 4].map((i) => eventAt(start + 2 * i, target.provider));
      await writeEveryWay(store, client, events);
      const live = await observe(store, events);
      let archived = 0;
      let after: ArchivePosition | undefined;
      for (;;) {
        const batch = await store.archiveBatch(events[2]!.timestamp, 1, after);
        if (batch.last === null) break;
        archived += batch.moved;
        after = batch.last;
      }
      const all = await observe(store, events, "all");
      process.stdout.write(
        `${JSON.stringify({ provider: target.provider, offsetMinutes: new Date(start).getTimezoneOffset(), localDate: new Date(start).getDate(), events, live, archived, all })}\n`,
      );
    } finally {
      await client.$disconnect();
    }
  }
}

main().catch((error) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
