import fc from "fast-check";

import { AuditContext, archiveOldEvents, closeAudit, configureAudit, flushAudit, prismaStore, type AuditEventRecord, type AuditStore } from "../../src";
import { eventAt, expectedObservations, observe, storedInstants, writeEveryWay, type StoredInstants } from "../support/clock-observations";
import { connectClient, openDatabase, providers, type Provider, type TestDatabase, type TestPrismaClient } from "../support/databases";
import { runTsx } from "../support/archive-process";

/**
 * One clock: whatever time zone the database session, the database, the server or the
 * Node process is in, every instant is stored, filtered, paged, counted, summarized by
 * UTC day, archived and exported as the UTC instant the event was created at.
 */

const DAY_MS = 86_400_000;

/** A session of the test database: how its client is connected, and the zone its session must then report. */
interface SessionSpec {
  label: string;
  /** Driver adapter options; absent for the test database's own client. */
  adapterOptions?: Record<string, unknown>;
  /** Prepares the server before the client connects, and undoes it once it has. */
  around?: (db: TestDatabase, connect: () => Promise<void>) => Promise<void>;
  /** What the session reports as its zone (PostgreSQL's TimeZone, MariaDB's time_zone). */
  zone: string;
}

const pgZone = (zone: string): SessionSpec => ({ label: `session TimeZone ${zone}`, adapterOptions: { options: `-c TimeZone=${zone}` }, zone });
const mysqlZone = (zone: string): SessionSpec => ({ label: `session time_zone ${zone}`, adapterOptions: { initSql: `SET time_zone = '${zone}'` }, zone });

const SESSIONS: Record<Provider, SessionSpec[]> = {
  postgresql: [
    { label: "UTC", zone: "Etc/UTC" },
    pgZone("Europe/Berlin"),
    pgZone("America/St_Johns"),
    pgZone("Pacific/Kiritimati"),
    pgZone("Asia/Kolkata"),
    {
      label: "database default Asia/Kathmandu (ALTER DATABASE ... SET timezone)",
      zone: "Asia/Kathmandu",
      around: async (db, connect) => {
        await db.prisma.$executeRawUnsafe(`ALTER DATABASE "${db.name}" SET timezone = 'Asia/Kathmandu'`);
        await connect();
      },
    },
  ],
  mysql: [
    { label: "SYSTEM (UTC)", zone: "SYSTEM" },
    mysqlZone("+05:30"),
    mysqlZone("-08:00"),
    mysqlZone("+13:00"),
    {
      // The server's global zone, set only while this client's one connection opens.
      label: "server global time_zone -03:30",
      adapterOptions: { connectionLimit: 1 },
      zone: "-03:30",
      around: async (db, connect) => {
        const [row] = await db.prisma.$queryRawUnsafe<Array<{ zone: string }>>("SELECT @@global.time_zone AS zone");
        const zone = row!.zone;
        await db.prisma.$executeRawUnsafe("SET GLOBAL time_zone = '-03:30'");
        try {
          await connect();
        } finally {
          await db.prisma.$executeRawUnsafe(`SET GLOBAL time_zone = '${zone}'`);
        }
      },
    },
  ],
  sqlite: [{ label: "default", zone: "" }],
};

/** The databases the tests run on: each provider, and SQLite with Prisma's other timestamp format (epoch milliseconds). */
const TARGETS: Array<[name: string, provider: Provider, sessions: SessionSpec[]]> = [
  ...providers.map((provider): [string, Provider, SessionSpec[]] => [provider, provider, SESSIONS[provider]]),
  ["sqlite with timestampFormat unixepoch-ms", "sqlite", [{ label: "unixepoch-ms", adapterOptions: { timestampFormat: "unixepoch-ms" }, zone: "" }]],
];

/** Every API that Jest can fake, but Date: the clock stands still where a test puts it, timers run. */
const ALL_BUT_DATE = [
  "hrtime",
  "nextTick",
  "performance",
  "queueMicrotask",
  "requestAnimationFrame",
  "cancelAnimationFrame",
  "requestIdleCallback",
  "cancelIdleCallback",
  "setImmediate",
  "clearImmediate",
  "setInterval",
  "clearInterval",
  "setTimeout",
  "clearTimeout",
] as const;

function stopClockAt(millis: number): void {
  jest.useFakeTimers({ doNotFake: [...ALL_BUT_DATE], now: millis });
}

/** UTC midnights, each later than the last: event ids (UUID v7) take the clock's time only while it moves forward. */
let nextMidnight = Date.UTC(2031, 2, 30);
function freshMidnight(): number {
  nextMidnight += 3 * DAY_MS;
  return nextMidnight;
}

/** What the tables must hold: each event at its instant, live or archived at `archivedAt`. */
function truthOf(live: readonly AuditEventRecord[], archived: readonly AuditEventRecord[] = [], archivedAt = 0): StoredInstants {
  return {
    live: Object.fromEntries(live.map((event) => [event.id, event.timestamp.getTime()])),
    archived: Object.fromEntries(archived.map((event) => [event.id, { timestamp: event.timestamp.getTime(), archivedAt }])),
  };
}

describe.each(TARGETS)("one clock on %s", (name, provider, sessions) => {
  let db: TestDatabase;
  const clients = new Map<string, TestPrismaClient>();
  const warnings: string[] = [];
  const logger = { warn: (message: string) => void warnings.push(message) };
  const client = (label: string): TestPrismaClient => clients.get(label)!;
  const truth = () => storedInstants(db.prisma, provider);

  beforeAll(async () => {
    db = await openDatabase(provider, { name: `time_zones_${name}` });
    for (const spec of sessions) {
      if (spec.adapterOptions === undefined && spec.around === undefined) {
        clients.set(spec.label, db.prisma);
        continue;
      }
      const connect = async () => {
        const opened = connectClient(db, spec.adapterOptions);
        clients.set(spec.label, opened);
        await opened.$queryRawUnsafe("SELECT 1");
      };
      await (spec.around ?? ((_db, go) => go()))(db, connect);
    }
  });
  afterAll(async () => {
    for (const [, opened] of clients) if (opened !== db?.prisma) await opened.$disconnect();
    await db?.close();
  });
  beforeEach(async () => {
    warnings.length = 0;
    await db.reset();
    configureAudit({ logger });
  });
  afterEach(async () => {
    jest.useRealTimers();
    await closeAudit();
    configureAudit({});
  });

  if (provider !== "sqlite") {
    it.each(sessions.map((spec) => [spec.label, spec.zone]))("connects the %s session in its zone", async (label, zone) => {
      const sql = provider === "postgresql" ? "SELECT current_setting('TimeZone') AS zone" : "SELECT @@session.time_zone AS zone";
      const [row] = await client(label).$queryRawUnsafe<Array<{ zone: string }>>(sql);
      expect(row!.zone).toBe(zone);
    });
  }

  it.each(sessions.map((spec) => [spec.label]))(
    "keeps events of createEvent (sync, { tx }, buffered) at their UTC instant through every read, the archive and every export: %s",
    async (label) => {
      const prisma = client(label);
      const store = prismaStore(prisma);
      const context = new AuditContext();
      const about = { contentType: "Invoice", objectId: "7" };
      // Around a UTC midnight, so that a day taken in any other zone would differ.
      const midnight = freshMidnight();
      stopClockAt(midnight - 7);
      configureAudit({ store, writeMode: "sync", logger });
      const first = await context.createEvent(about, { way: "sync" });
      jest.setSystemTime(midnight - 5);
      const second = await context.createEvent(about, { way: "sync" });
      jest.setSystemTime(midnight - 3);
      const inTx = await prisma.$transaction((tx) => context.createEvent(about, { way: "tx" }, { tx }));
      jest.setSystemTime(midnight + 2);
      configureAudit({ store, writeMode: "buffered", flushIntervalMs: 60_000, logger });
      const buffered = await context.createEvent(about, { way: "buffered" });
      await flushAudit();
      const events = [first, second, inTx, buffered];

      expect(events.map((event) => event.timestamp.getTime() - midnight)).toEqual([-7, -5, -3, 2]);
      expect(await truth()).toEqual(truthOf(events));
      expect(await observe(store, events)).toEqual(expectedObservations(events));

      // The cut-off is inTx's instant: the two events 2 and 4 ms older go, inTx stays.
      jest.setSystemTime(inTx.timestamp.getTime());
      const { archived } = await archiveOldEvents({ store, olderThanDays: 0, batchSize: 1 });
      expect(archived).toBe(2);
      expect(await truth()).toEqual(truthOf([inTx, buffered], [first, second], inTx.timestamp.getTime()));
      expect((await store.getArchivedEvent(first.id))!.archivedAt.getTime()).toBe(inTx.timestamp.getTime());
      expect(await observe(store, events, "all")).toEqual(expectedObservations(events));
      expect(await observe(store, [first, second], "archive")).toEqual(expectedObservations([first, second]));
      expect(await observe(store, [inTx, buffered], "live")).toEqual(expectedObservations([inTx, buffered]));

      const pinned = provider === "postgresql" && !sessions.find((spec) => spec.label === label)!.zone.endsWith("UTC");
      expect(warnings).toEqual(pinned ? [expect.stringContaining('new PrismaPg({ connectionString, options: "-c TimeZone=UTC" })')] : []);
    },
    60_000,
  );

  if (provider === "postgresql") {
    it("leaves the zone of the caller's transaction as it found it after a { tx } write", async () => {
      const prisma = client("session TimeZone Europe/Berlin");
      configureAudit({ store: prismaStore(prisma), logger });
      const zones = await prisma.$transaction(async (tx) => {
        const zoneNow = async () => (await tx.$queryRawUnsafe<Array<{ zone: string }>>("SELECT current_setting('TimeZone') AS zone"))[0]!.zone;
        await new AuditContext().createEvent({ contentType: "Invoice", objectId: "7" }, {}, { tx });
        const afterFirst = await zoneNow();
        await new AuditContext().createEvent({ contentType: "Invoice", objectId: "8" }, {}, { tx });
        return [afterFirst, await zoneNow()];
      });
      expect(zones).toEqual(["Europe/Berlin", "Europe/Berlin"]);
      expect(await db.prisma.auditEvent.count()).toBe(2);
    });

    it("reports a refused write as it would in UTC when its calls are pinned (a duplicate id, in and out of { tx })", async () => {
      const prisma = client("session TimeZone Asia/Kolkata");
      const store = prismaStore(prisma);
      const context = new AuditContext();
      const event = eventAt(Date.UTC(2030, 0, 1));
      await store.insert([event], { context });
      await expect(store.insert([event], { context })).rejects.toMatchObject({ code: "ERR_AUDIT_DUPLICATE_ID" });
      await expect(prisma.$transaction((tx) => store.insert([event], { tx, context }))).rejects.toMatchObject({ code: "ERR_AUDIT_DUPLICATE_ID" });
      expect(await truth()).toEqual(truthOf([event]));
    });
  }

  it("agrees whichever session writes and whichever reads, at any instant near a UTC midnight (property)", async () => {
    const labels = sessions.map((spec) => spec.label);
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...labels),
        fc.constantFrom(...labels),
        fc.integer({ min: 1, max: 130 * 365 }),
        fc.integer({ min: -8, max: 3 }),
        fc.integer({ min: 1, max: 3 }),
        async (writer, reader, day, fromMidnight, gap) => {
          await db.reset();
          const start = Date.UTC(1971, 0, 1) + day * DAY_MS + fromMidnight;
          const events = [0, 1, 2, 3, 4].map((i) => eventAt(start + i * gap));
          const written: AuditStore = prismaStore(client(writer));
          const read: AuditStore = prismaStore(client(reader));
          await writeEveryWay(written, client(writer), events);
          expect(await truth()).toEqual(truthOf(events));
          expect(await observe(read, events)).toEqual(expectedObservations(events));

          const cutoff = events[2]!.timestamp.getTime();
          stopClockAt(cutoff);
          try {
            expect((await archiveOldEvents({ store: read, olderThanDays: 0, batchSize: 1 })).archived).toBe(2);
          } finally {
            jest.useRealTimers();
          }
          expect(await truth()).toEqual(truthOf(events.slice(2), events.slice(0, 2), cutoff));
          expect(await observe(written, events, "all")).toEqual(expectedObservations(events));
        },
      ),
      { numRuns: provider === "sqlite" ? 10 : 6 },
    );
  }, 180_000);
});

describe("one clock in a Node process whose TZ is Pacific/Kiritimati (UTC+14)", () => {
  const dbs: TestDatabase[] = [];
  afterAll(async () => {
    for (const db of dbs) await db.close();
  });

  it("stores and answers the same UTC instants on every database", async () => {
    for (const provider of providers) dbs.push(await openDatabase(provider, { name: "time_zones_child" }));
    // 2030-06-30T23:59:59.996Z: already July 1 in Kiritimati.
    const start = Date.UTC(2030, 6, 1) - 4;
    const input = { targets: dbs.map((db) => ({ provider: db.provider, url: db.url })), start };
    const outcome = await runTsx("test/support/time-zone-child.ts", [JSON.stringify(input)], { timeoutMs: 120_000, env: { TZ: "Pacific/Kiritimati" } });
    expect(outcome.stderr).toBe("");
    expect(outcome.code).toBe(0);
    const reports = outcome.lines.filter(Boolean).map((line) => JSON.parse(line));
    expect(reports.map((report) => report.provider)).toEqual(providers);
    for (const [i, report] of reports.entries()) {
      const events: AuditEventRecord[] = report.events.map((event: AuditEventRecord & { timestamp: string }) => ({ ...event, timestamp: new Date(event.timestamp) }));
      // The child really ran 14 hours ahead of UTC, on the next calendar day.
      expect([report.offsetMinutes, report.localDate]).toEqual([-840, 1]);
      expect(events.map((event) => event.timestamp.getTime() - start)).toEqual([0, 2, 4, 6, 8]);
      expect(report.live).toEqual(JSON.parse(JSON.stringify(expectedObservations(events))));
      expect(report.archived).toBe(2);
      expect(report.all).toEqual(JSON.parse(JSON.stringify(expectedObservations(events))));
      const db = dbs[i]!;
      const stored = await storedInstants(db.prisma, db.provider);
      expect(stored.live).toEqual(truthOf(events.slice(2)).live);
      expect(Object.fromEntries(Object.entries(stored.archived).map(([id, row]) => [id, row.timestamp]))).toEqual(truthOf(events.slice(0, 2)).live);
      // This process (TZ as the machine has it) reads what the child wrote at the same instants.
      expect(await observe(prismaStore(db.prisma), events, "all")).toEqual(expectedObservations(events));
    }
  }, 180_000);
});
