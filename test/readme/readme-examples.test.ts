import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";

import { DEFAULT_MASK_FIELDS } from "../../src";

const ROOT = path.resolve(__dirname, "../..");
const OUT = path.join(ROOT, ".tmp", "readme-examples");

/** What README snippets may use without declaring it, as in a real app. */
const PRELUDE = `
import type { Request } from "express";
import type { PrismaClient } from "../../generated/sqlite/client/client";
declare const prisma: PrismaClient;
declare const req: Request;
declare const order: { id: number; status: string; total: string };
`;

/** The README's TypeScript blocks. */
function readmeBlocks(): string[] {
  const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
  return [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

/** A block whose first line is `// <path>.ts` is a file of the user's project, at that path. */
function projectFile(block: string): string | undefined {
  return /^\/\/ ([\w./-]+\.ts)\n/.exec(block)?.[1];
}

/**
 * The client `prisma generate` writes to the README's `output = "../generated/prisma"`:
 * here the repository's generated PostgreSQL client stands in for it.
 */
const GENERATED_CLIENT_SHIM = 'export * from "../../../../generated/postgresql/client/client";\n';

/**
 * Imports stay at the top; the rest runs in an async function, as in an app's
 * start-up. A block that exports its own functions is a module already.
 */
function asModule(block: string): string {
  const lines = block.split("\n");
  const imports = lines.filter((l) => l.startsWith("import "));
  const body = lines.filter((l) => !l.startsWith("import "));
  if (body.some((l) => l.startsWith("export "))) return `${imports.join("\n")}\n${PRELUDE}\n${body.join("\n")}\n`;
  return `${imports.join("\n")}\n${PRELUDE}\nexport async function readmeBlock() {\n${body.join("\n")}\n}\n`;
}

describe("the README", () => {
  it("has TypeScript examples that compile against the public API", () => {
    const blocks = readmeBlocks();
    expect(blocks.length).toBeGreaterThanOrEqual(8);
    rmSync(OUT, { recursive: true, force: true });
    mkdirSync(OUT, { recursive: true });
    const files = blocks.map((block, i) => {
      const named = projectFile(block);
      const file = path.join(OUT, named ?? `block-${i + 1}.ts`);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, named === undefined ? asModule(block) : block);
      return file;
    });
    expect(blocks.filter((block) => projectFile(block) !== undefined).map(projectFile)).toEqual(["prisma.config.ts", "src/db.ts", "audit-events.config.ts"]);
    mkdirSync(path.join(OUT, "generated", "prisma"), { recursive: true });
    writeFileSync(path.join(OUT, "generated", "prisma", "client.ts"), GENERATED_CLIENT_SHIM);
    writeFileSync(
      path.join(OUT, "tsconfig.json"),
      JSON.stringify({ extends: "../../tsconfig.json", compilerOptions: { noUnusedLocals: false, noUnusedParameters: false }, include: [], files }),
    );
    let output = "";
    try {
      execFileSync(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", path.join(OUT, "tsconfig.json")], { cwd: ROOT, encoding: "utf8" });
    } catch (error) {
      output = String((error as { stdout?: string }).stdout);
    }
    expect(output).toBe("");
  }, 60_000);

  it("lists exactly the default maskFields, so the list a reader trusts is the one in force", () => {
    const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
    const table = readme.slice(readme.indexOf("| kind | names |"), readme.indexOf("`maskFields` replaces this list"));
    const listed = [...table.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
    expect(listed.length).toBeGreaterThan(0);
    expect([...listed].sort()).toEqual([...DEFAULT_MASK_FIELDS].sort());
  });

  it("shows the example sensitivePatterns exactly as examples/sensitive-patterns.ts holds them (the ones the benchmark measures)", () => {
    const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
    const file = readFileSync(path.join(ROOT, "examples", "sensitive-patterns.ts"), "utf8");
    const list = file.slice(file.indexOf("export const EXAMPLE_SENSITIVE_PATTERNS"), file.indexOf("];") + 2);
    expect(list.length).toBeGreaterThan(100);
    expect(readme).toContain(list);
  });

  it("names the two commands a new user runs", () => {
    const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
    expect(readme).toContain("npm install && npm run demo");
    expect(readme).toContain("npm test");
    const scripts = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")).scripts;
    expect(scripts.demo).toBeDefined();
    expect(scripts.test).toBeDefined();
  });
});
