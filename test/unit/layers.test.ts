import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import ts from "typescript";

const SRC = path.resolve(__dirname, "..", "..", "src");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    if (statSync(file).isDirectory()) return sourceFiles(file);
    return file.endsWith(".ts") ? [file] : [];
  });
}

/** The source file a relative import names: `./x`, `./x.js` (as ESM spells it) or `./x/index`. */
function resolveImport(from: string, specifier: string): string {
  const target = path.resolve(path.dirname(from), specifier.replace(/\.(?:js|ts|mjs|cjs)$/, ""));
  const candidate = [`${target}.ts`, path.join(target, "index.ts")].find((file) => existsSync(file));
  // An import this test cannot place would be an edge it cannot check: fail instead.
  if (candidate === undefined) throw new Error(`${path.relative(SRC, from)} imports "${specifier}", which names no source file`);
  return candidate;
}

/**
 * Each source file's imports of other source files (type-only ones, `require()` and
 * `import()` too), as paths relative to src/.
 */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(SRC)) {
    const { importedFiles } = ts.preProcessFile(readFileSync(file, "utf8"), true, true);
    const local = importedFiles
      .filter(({ fileName }) => fileName.startsWith("."))
      .map(({ fileName }) => path.relative(SRC, resolveImport(file, fileName)));
    graph.set(path.relative(SRC, file), local);
  }
  return graph;
}

/** Every file reachable from `start` (itself excluded unless a cycle leads back to it). */
function reachable(graph: Map<string, string[]>, start: string): Set<string> {
  const seen = new Set<string>();
  const stack = [...(graph.get(start) ?? [])];
  while (stack.length > 0) {
    const next = stack.pop()!;
    if (seen.has(next)) continue;
    seen.add(next);
    stack.push(...(graph.get(next) ?? []));
  }
  return seen;
}

describe("the layers of the source", () => {
  const graph = importGraph();

  it("reads the import graph of every source file", () => {
    expect(graph.size).toBeGreaterThan(50);
    expect(graph.get("stores/store.ts")).toEqual(expect.arrayContaining(["model/event-record.ts"]));
  });

  it("keeps the model at the ground floor: model/ imports nothing outside model/", () => {
    const outside = [...graph].filter(([file]) => file.startsWith("model/")).flatMap(([file, deps]) => deps.filter((d) => !d.startsWith("model/")).map((d) => `${file} -> ${d}`));
    expect(outside).toEqual([]);
  });

  it("lets the store contract depend on the model alone, never on the request layer or the writer", () => {
    const above = [...reachable(graph, "stores/store.ts")].filter((file) => !file.startsWith("model/"));
    expect(above).toEqual([]);
  });

  it("sees require() and .js-suffixed imports as edges too", () => {
    const { importedFiles } = ts.preProcessFile('const a = require("./a"); import type { B } from "./b.js"; void import("./c");', true, true);
    expect(importedFiles.map((f) => f.fileName)).toEqual(["./a", "./b.js", "./c"]);
    expect(resolveImport(path.join(SRC, "model", "json.ts"), "./event-record.js")).toBe(path.join(SRC, "model", "event-record.ts"));
    expect(() => resolveImport(path.join(SRC, "model", "json.ts"), "./no-such-file")).toThrow(/names no source file/);
  });

  it("lets no store implementation reach the request layer or the write path", () => {
    // A store may read the configuration (its logger), whose option types name the
    // spool's and the metrics hook's shapes; it must never reach what writes or captures.
    const above = ["context.ts", "request-context.ts", "job-context.ts", "async-context.ts", "writer/write-path.ts", "writer/buffered-writer.ts"];
    const stores = [...graph.keys()].filter((file) => file.startsWith("stores/"));
    expect(stores).toEqual(expect.arrayContaining(["stores/memory-store.ts", "stores/prisma-store.ts"]));
    for (const store of stores) {
      const reached = [...reachable(graph, store)];
      expect({ store, reached: reached.filter((f) => above.includes(f) || f.startsWith("adapters/") || f.startsWith("http/")) }).toEqual({ store, reached: [] });
    }
  });

  it("has no import cycle anywhere in src/", () => {
    const cycles = [...graph.keys()].filter((file) => reachable(graph, file).has(file));
    expect(cycles).toEqual([]);
  });
});
