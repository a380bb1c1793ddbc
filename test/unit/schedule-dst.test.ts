import fc from "fast-check";
import { memoryStore, scheduleArchival, type ArchivalSchedule } from "../../src";
import { archivalCron } from "../../src/archive/schedule";

/**
 * scheduleArchival() across daylight-saving changes, driven by jest's fake clock: the
 * schedule's own timers run, days pass in seconds. The property over many zones and
 * times asks the same croner job for its runs (driving its timers costs ~2 s a day).
 * Expected times come from an oracle that only asks Intl what the wall clock shows.
 */

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;

const formats = new Map<string, Intl.DateTimeFormat>();

/** The wall clock in `zone` at `ms`: "YYYY-MM-DD" and "HH:MM". */
function wallClock(ms: number, zone: string): { date: string; time: string } {
  let format = formats.get(zone);
  if (format === undefined) {
    format = new Intl.DateTimeFormat("sv-SE", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
    formats.set(zone, format);
  }
  const [date, time] = format.format(ms).split(" ");
  return { date: date!, time: time! };
}

/** Where a schedule "M H * * *" should run on local `date`: the first instant showing H:M, else the first after it (the end of the gap). */
function expectedRun(date: string, hour: number, minute: number, zone: string): number {
  const wanted = `${String(hour).padStart(2, "0")}:${String(minute).padStart(2, "0")}`;
  const around = Date.parse(`${date}T00:00:00Z`);
  let firstAfter: number | undefined;
  // Every zone's local date lies within UTC's date -14 h .. +14 h.
  for (let ms = around - 15 * 60 * MINUTE; ms < around + DAY + 15 * 60 * MINUTE; ms += MINUTE) {
    const shown = wallClock(ms, zone);
    if (shown.date !== date) continue;
    if (shown.time === wanted) return ms;
    if (shown.time > wanted && firstAfter === undefined) firstAfter = ms;
  }
  if (firstAfter === undefined) throw new Error(`no ${wanted} nor later on ${date} in ${zone}`);
  return firstAfter;
}

/** Local dates from the one of `fromMs` to the one of `toMs`, inclusive. */
function localDates(fromMs: number, toMs: number, zone: string): string[] {
  const dates = new Set<string>();
  for (let ms = fromMs; ms <= toMs; ms += 30 * MINUTE) dates.add(wallClock(ms, zone).date);
  return [...dates];
}

let running: ArchivalSchedule | undefined;

/** Runs `cron` in `zone` on the fake clock from `from` to `to`; returns when each run started. */
async function runsBetween(cron: string, zone: string, from: string, to: string): Promise<number[]> {
  const start = Date.parse(from);
  jest.useFakeTimers({ now: start, doNotFake: ["nextTick", "queueMicrotask", "setImmediate"] });
  const started: number[] = [];
  const failures: string[] = [];
  running = scheduleArchival({
    cron,
    timezone: zone,
    store: memoryStore(),
    logger: { info: () => undefined, error: (message) => void failures.push(message) },
    // An archival of an empty store ends within the tick that started it: now is its start.
    onRun: () => void started.push(Date.now()),
  });
  await jest.advanceTimersByTimeAsync(Date.parse(to) - start);
  running.stop();
  running = undefined;
  jest.useRealTimers();
  expect(failures).toEqual([]);
  return started;
}

afterEach(() => {
  running?.stop();
  running = undefined;
  jest.useRealTimers();
});

const local = (ms: number, zone: string) => {
  const { date, time } = wallClock(ms, zone);
  return `${date} ${time}`;
};

describe("scheduleArchival() across daylight-saving changes", () => {
  it("runs 30 2 * * * in New York on 2026-03-08 right after the gap, at 03:00, and once on every other day", async () => {
    const runs = await runsBetween("30 2 * * *", "America/New_York", "2026-03-07T05:00:00Z", "2026-03-09T12:00:00Z");
    expect(runs.map((ms) => local(ms, "America/New_York"))).toEqual(["2026-03-07 02:30", "2026-03-08 03:00", "2026-03-09 02:30"]);
    // 03:00 EDT is the first instant after the gap (02:00 EST + 1 ms would be 03:00:00.001 EDT).
    expect(new Date(runs[1]!).toISOString()).toBe("2026-03-08T07:00:00.000Z");
  });

  it("runs 30 1 * * * in New York once on 2026-11-01, at the first 01:30 (EDT), not again an hour later", async () => {
    const runs = await runsBetween("30 1 * * *", "America/New_York", "2026-10-31T04:00:00Z", "2026-11-02T12:00:00Z");
    expect(runs.map((ms) => new Date(ms).toISOString())).toEqual(["2026-10-31T05:30:00.000Z", "2026-11-01T05:30:00.000Z", "2026-11-02T06:30:00.000Z"]);
  });

  it("runs 30 2 * * * in Berlin at 03:00 on 2026-03-29 and once on 2026-10-25, whose 02:30 comes twice", async () => {
    const spring = await runsBetween("30 2 * * *", "Europe/Berlin", "2026-03-28T00:00:00Z", "2026-03-30T12:00:00Z");
    expect(spring.map((ms) => local(ms, "Europe/Berlin"))).toEqual(["2026-03-28 02:30", "2026-03-29 03:00", "2026-03-30 02:30"]);
    const autumn = await runsBetween("30 2 * * *", "Europe/Berlin", "2026-10-24T00:00:00Z", "2026-10-26T12:00:00Z");
    expect(autumn.map((ms) => new Date(ms).toISOString())).toEqual(["2026-10-24T00:30:00.000Z", "2026-10-25T00:30:00.000Z", "2026-10-26T01:30:00.000Z"]);
  });

  it("runs every 30 minutes by the clock across the gap: no run is lost but the ones the gap removes, none comes twice", async () => {
    const runs = await runsBetween("*/30 * * * *", "America/New_York", "2026-03-08T05:00:00Z", "2026-03-08T09:00:00Z");
    expect(runs.map((ms) => local(ms, "America/New_York"))).toEqual([
      "2026-03-08 00:30",
      "2026-03-08 01:00",
      "2026-03-08 01:30",
      "2026-03-08 03:00",
      "2026-03-08 03:30",
      "2026-03-08 04:00",
      "2026-03-08 04:30",
      "2026-03-08 05:00",
    ]);
    expect(runs.slice(1).map((ms, i) => (ms - runs[i]!) / MINUTE)).toEqual(Array(7).fill(30));
  });

  it("runs every 30 minutes through both passes of the repeated hour, each instant once", async () => {
    const runs = await runsBetween("*/30 * * * *", "America/New_York", "2026-11-01T04:00:00Z", "2026-11-01T08:00:00Z");
    expect(runs).toHaveLength(8);
    expect(new Set(runs).size).toBe(8);
    expect(runs.slice(1).map((ms, i) => (ms - runs[i]!) / MINUTE)).toEqual(Array(7).fill(30));
    expect(runs.map((ms) => local(ms, "America/New_York"))).toEqual([
      "2026-11-01 00:30",
      "2026-11-01 01:00",
      "2026-11-01 01:30",
      "2026-11-01 01:00",
      "2026-11-01 01:30",
      "2026-11-01 02:00",
      "2026-11-01 02:30",
      "2026-11-01 03:00",
    ]);
  });

  /** Each zone's changes in 2026: spring gap, autumn repeat (Santiago's are at midnight). */
  const changes: Record<string, string[]> = {
    "America/New_York": ["2026-03-08", "2026-11-01"],
    "Europe/Berlin": ["2026-03-29", "2026-10-25"],
    "Australia/Sydney": ["2026-04-05", "2026-10-04"],
    "America/Santiago": ["2026-04-05", "2026-09-06"],
  };

  it("runs any daily time exactly once on each day around any change, at that time or right after its gap", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...Object.entries(changes).flatMap(([zone, days]) => days.map((day) => ({ zone, day })))),
        fc.integer({ min: 0, max: 23 }),
        fc.constantFrom(0, 1, 15, 30, 59),
        ({ zone, day }, hour, minute) => {
          const from = Date.parse(`${day}T12:00:00Z`) - 2 * DAY;
          const to = Date.parse(`${day}T12:00:00Z`) + 2 * DAY;
          const runs = archivalCron(`${minute} ${hour} * * *`, zone)
            .nextRuns(10, new Date(from))
            .map((run) => run.getTime())
            .filter((ms) => ms <= to);
          const expected = localDates(from, to, zone)
            .map((date) => expectedRun(date, hour, minute, zone))
            .filter((ms) => ms > from && ms <= to);
          expect(runs.map((ms) => new Date(ms).toISOString())).toEqual(expected.map((ms) => new Date(ms).toISOString()));
        },
      ),
      { numRuns: 100 },
    );
  });
});
