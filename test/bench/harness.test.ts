import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";

import { benchOptions } from "../../bench/lib/cli-options";
import { cost, ratio } from "../../bench/lib/format";
import { goalLine, goalsSection, GOALS_FILE_ENV, parseGoals } from "../../bench/lib/goals";
import { markdownTable } from "../../bench/lib/markdown-table";
import { check, SanityError } from "../../bench/lib/sanity";
import { median, percentile } from "../../bench/lib/stats";

describe("the benchmark harness", () => {
  describe("median", () => {
    it("takes the middle value of an odd count and the mean of the middle two of an even count", () => {
      expect(median([5, 1, 3])).toBe(3);
      expect(median([4, 1, 3, 2])).toBe(2.5);
      expect(median([])).toBeNaN();
    });
  });

  describe("percentile", () => {
    it("is the nearest rank of an ascending array", () => {
      const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
      expect(percentile(sorted, 50)).toBe(50);
      expect(percentile(sorted, 99)).toBe(99);
      expect(percentile([7], 99)).toBe(7);
    });
  });

  describe("markdownTable", () => {
    it("right-aligns every column but the first unless told otherwise", () => {
      expect(markdownTable(["a", "b"], [["x", "1"]])).toBe("| a | b |\n| --- | ---: |\n| x | 1 |");
    });
    it("refuses a row with the wrong number of cells", () => {
      expect(() => markdownTable(["a", "b"], [["x"]])).toThrow(/1 cells for 2 columns/);
    });
  });

  describe("cost", () => {
    it("says what a ratio to the baseline costs in throughput, signed", () => {
      expect(cost(0.87)).toBe("-13%");
      expect(cost(1.2)).toBe("+20%");
      expect(ratio(NaN)).toBe("–");
    });
  });

  describe("check", () => {
    it("throws a SanityError with the message when the condition fails", () => {
      expect(() => check(false, "rows missing")).toThrow(new SanityError("rows missing"));
      expect(() => check(true, "fine")).not.toThrow();
    });
  });

  describe("benchOptions", () => {
    const spec = {
      rounds: { type: "number", full: 5, smoke: 1, integer: true, help: "rounds" },
      warmup: { type: "number", full: 2, smoke: 0, integer: true, zeroAllowed: true, help: "warm-up" },
      sizes: { type: "list", full: ["100", "1000"], smoke: ["100"], choices: ["100", "1000"], help: "sizes" },
    } as const;

    it("takes the full defaults, the smoke defaults with --smoke, and given values over both", () => {
      expect(benchOptions("t", spec, []).values).toEqual({ rounds: 5, warmup: 2, sizes: ["100", "1000"] });
      expect(benchOptions("t", spec, ["--smoke"])).toMatchObject({ smoke: true, values: { rounds: 1, warmup: 0, sizes: ["100"] } });
      const given = benchOptions("t", spec, ["--rounds=3", "--warmup", "0", "--sizes", "1000"]);
      expect(given.values).toEqual({ rounds: 3, warmup: 0, sizes: ["1000"] });
      expect(given.command).toBe("npm run bench:t -- --rounds=3 --warmup 0 --sizes 1000");
    });

    it.each([[["--rounds", "0"]], [["--rounds", "1.5"]], [["--sizes", "7"]], [["--nope"]], [["stray"]]])("exits 2 on %j", (argv) => {
      const exit = jest.spyOn(process, "exit").mockImplementation(((code: number) => {
        throw new Error(`exit ${code}`);
      }) as never);
      const error = jest.spyOn(console, "error").mockImplementation(() => undefined);
      try {
        expect(() => benchOptions("t", spec, argv)).toThrow("exit 2");
      } finally {
        exit.mockRestore();
        error.mockRestore();
      }
    });
  });

  describe("goals", () => {
    const goal = { issue: "#15", goal: "p99 <= 10 ms", measured: "12.0 ms", anchor: "raw fdatasync 1.0 | 2.0 ms", met: false };

    it("prints a goal's line and hands it to npm run bench through the goals file", () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), "goals-"));
      const file = path.join(dir, "goals.jsonl");
      process.env[GOALS_FILE_ENV] = file;
      try {
        expect(goalLine(goal)).toBe("- Goal (#15) p99 <= 10 ms: **MISSED**, measured 12.0 ms; anchor in the same run: raw fdatasync 1.0 | 2.0 ms.");
        goalLine({ ...goal, met: true, anchor: "" });
        expect(parseGoals(readFileSync(file, "utf8"))).toEqual([goal, { ...goal, met: true, anchor: "" }]);
      } finally {
        delete process.env[GOALS_FILE_ENV];
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it("summarizes the run's goals in one table, escaping the cells' pipes", () => {
      const section = goalsSection([{ ...goal, bench: "durable-ack" }, { ...goal, met: true, anchor: "", bench: "writer" }]);
      expect(section).toContain("1 of 2 goals met.");
      expect(section).toContain("| #15 | p99 <= 10 ms | 12.0 ms | raw fdatasync 1.0 \\| 2.0 ms | MISSED | `npm run bench:durable-ack` |");
      expect(section).toContain("| – | met | `npm run bench:writer` |");
      expect(goalsSection([])).toBe("");
    });
  });
});
