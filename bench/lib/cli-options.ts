import { parseArgs } from "node:util";

/** A numeric option, with its value for a full run and for `--smoke`. */
export interface NumberOption {
  type: "number";
  full: number;
  smoke: number;
  /** Whole numbers only (counts, sizes). */
  integer?: boolean;
  /** 0 is allowed (e.g. no warm-up); otherwise values must be above 0. */
  zeroAllowed?: boolean;
  help: string;
}

/** A comma-separated list option, e.g. `--batch-sizes 100,1000`. */
export interface ListOption {
  type: "list";
  full: readonly string[];
  smoke: readonly string[];
  /** When given, every item must be one of these. */
  choices?: readonly string[];
  help: string;
}

/** A free string option (a path, a URL); absent unless given. */
export interface StringOption {
  type: "string";
  help: string;
}

/** The options a benchmark accepts besides `--smoke` and `--help`, by long name. */
export type OptionSpec = Record<string, NumberOption | ListOption | StringOption>;

/** Parsed values, typed after the spec. */
export type OptionValues<S extends OptionSpec> = {
  [K in keyof S]: S[K] extends NumberOption ? number : S[K] extends ListOption ? string[] : string | undefined;
};

/** What {@link benchOptions} returns. */
export interface BenchInvocation<S extends OptionSpec> {
  /** `--smoke`: a few seconds, to prove the benchmark works; its figures are not meant to be read. */
  smoke: boolean;
  values: OptionValues<S>;
  /** The command that repeats this run, for the report. */
  command: string;
}

function usage(name: string, spec: OptionSpec): string {
  const lines = [`usage: npm run bench:${name} -- [--smoke] [options]`, "  --smoke  a few seconds, no figures worth reading (CI)"];
  for (const [key, option] of Object.entries(spec)) {
    const defaults = option.type === "string" ? "" : ` (default ${String(option.full)}; smoke ${String(option.smoke)})`;
    lines.push(`  --${key}  ${option.help}${defaults}`);
  }
  return lines.join("\n");
}

/**
 * Parses a benchmark's command line with `node:util`'s `parseArgs`: `--smoke`, `--help`, and
 * the options of `spec` (`--name value` or `--name=value`). Unknown options, stray
 * arguments and bad values print the usage and exit 2.
 *
 * @example
 * ```ts
 * const { smoke, values } = benchOptions("writer", { rounds: { type: "number", full: 3, smoke: 1, integer: true, help: "rounds" } });
 * ```
 */
export function benchOptions<S extends OptionSpec>(name: string, spec: S, argv = process.argv.slice(2)): BenchInvocation<S> {
  const fail = (message: string): never => {
    console.error(`bench/${name}: ${message}\n${usage(name, spec)}`);
    process.exit(2);
  };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        smoke: { type: "boolean" },
        help: { type: "boolean", short: "h" },
        ...Object.fromEntries(Object.keys(spec).map((key) => [key, { type: "string" as const }])),
      },
    });
  } catch (error) {
    return fail((error as Error).message);
  }
  if (parsed.values.help) {
    console.log(usage(name, spec));
    process.exit(0);
  }
  const smoke = parsed.values.smoke === true;
  const values: Record<string, unknown> = {};
  for (const [key, option] of Object.entries(spec)) {
    const raw = parsed.values[key] as string | undefined;
    if (option.type === "string") {
      values[key] = raw;
    } else if (option.type === "number") {
      const value = raw === undefined ? (smoke ? option.smoke : option.full) : Number(raw.replaceAll("_", ""));
      const least = option.zeroAllowed === true ? 0 : Number.MIN_VALUE;
      if (!Number.isFinite(value) || value < least || (option.integer === true && !Number.isSafeInteger(value))) {
        fail(`--${key} needs a ${option.integer === true ? "whole " : ""}number ${option.zeroAllowed === true ? "of 0 or more" : "above 0"} (got ${String(raw)})`);
      }
      values[key] = value;
    } else {
      const list = raw === undefined ? [...(smoke ? option.smoke : option.full)] : raw.split(",").map((item) => item.trim()).filter(Boolean);
      if (list.length === 0) fail(`--${key} needs at least one item`);
      const unknown = option.choices === undefined ? [] : list.filter((item) => !option.choices!.includes(item));
      if (unknown.length > 0) fail(`--${key}: unknown ${unknown.join(", ")}; choose from ${option.choices!.join(", ")}`);
      values[key] = list;
    }
  }
  const command = [`npm run bench:${name}`, ...(argv.length > 0 ? ["--", ...argv] : [])].join(" ");
  return { smoke, values: values as OptionValues<S>, command };
}
