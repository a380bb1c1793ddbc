import { execFileSync, spawn } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

import type { Provider } from "../support/databases";

const ROOT = path.resolve(__dirname, "..", "..");

/** What one run of the command line did. */
export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Builds the package with its own build script into a private copy under .tmp/, so
 * the tests run the shipped bin and dist/ without racing other test files that
 * rebuild dist/ at the same time. Returns the package folder.
 */
export function buildPackage(): string {
  const dir = path.join(ROOT, ".tmp", `cli-package-w${process.env.JEST_WORKER_ID ?? "0"}-p${process.pid}-${path.basename(expect.getState().testPath ?? "cli")}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(path.join(dir, "scripts"), { recursive: true });
  for (const entry of ["src", "bin", "package.json", "tsconfig.json", "tsconfig.build.json", "scripts/build.mjs"]) {
    cpSync(path.join(ROOT, entry), path.join(dir, entry), { recursive: true });
  }
  execFileSync(process.execPath, ["scripts/build.mjs"], { cwd: dir, stdio: "pipe" });
  return dir;
}

/** A user's project: a temporary folder outside this repository, with audit-events installed. */
export interface Project {
  readonly dir: string;
  /** Writes a file into the project, e.g. a config. */
  write(name: string, text: string): string;
  /** Runs `audit-events <args>` in the project as a child process. */
  run(args: string[], options?: { cwd?: string }): Promise<CliRun>;
  /** Runs `audit-events <args>` in a pseudo-terminal (util-linux `script`), so stderr is a TTY. */
  runInTerminal(args: string[]): Promise<CliRun>;
  remove(): void;
}

/**
 * Creates a project whose node_modules links the built package as `audit-events`,
 * Prisma's driver adapters, and (unless `tsx: false`) tsx, as `npm install` would.
 */
export function createProject(packageDir: string, options: { tsx?: boolean } = {}): Project {
  const dir = mkdtempSync(path.join(os.tmpdir(), "audit-events-cli-"));
  const modules = path.join(dir, "node_modules");
  mkdirSync(modules);
  symlinkSync(packageDir, path.join(modules, "audit-events"), "dir");
  symlinkSync(path.join(ROOT, "node_modules", "@prisma"), path.join(modules, "@prisma"), "dir");
  if (options.tsx !== false) symlinkSync(path.join(ROOT, "node_modules", "tsx"), path.join(modules, "tsx"), "dir");
  const bin = path.join(modules, "audit-events", "bin", "audit-events.js");
  return {
    dir,
    write(name, text) {
      const file = path.join(dir, name);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, text);
      return file;
    },
    run: (args, runOptions = {}) => spawnCli(process.execPath, [bin, ...args], runOptions.cwd ?? dir),
    runInTerminal: (args) => spawnCli("script", ["-qec", [process.execPath, bin, ...args].map(shellQuote).join(" "), "/dev/null"], dir),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

function spawnCli(command: string, args: string[], cwd: string): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, FORCE_COLOR: "0" }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

const ADAPTERS: Record<Provider, { from: string; name: string; options: (url: string) => string }> = {
  postgresql: { from: "@prisma/adapter-pg", name: "PrismaPg", options: (url) => `{ connectionString: ${JSON.stringify(url)} }` },
  mysql: { from: "@prisma/adapter-mariadb", name: "PrismaMariaDb", options: (url) => JSON.stringify(url) },
  sqlite: { from: "@prisma/adapter-better-sqlite3", name: "PrismaBetterSqlite3", options: (url) => `{ url: ${JSON.stringify(url)} }` },
};

/**
 * An `audit-events.config.ts` as a user writes it: a Prisma client on the provider's
 * driver adapter (the repository's generated client stands in for the user's), its
 * store, and `close()` to disconnect.
 */
export function prismaConfig(provider: Provider, url: string): string {
  const generated = JSON.stringify(path.join(ROOT, "generated", provider, "client", "client"));
  const adapter = ADAPTERS[provider];
  return `import { ${adapter.name} } from "${adapter.from}";
import { prismaStore } from "audit-events";
import { PrismaClient } from ${generated};

const prisma = new PrismaClient({ adapter: new ${adapter.name}(${adapter.options(url)}) });

export const store = prismaStore(prisma);
export const close = () => prisma.$disconnect();
`;
}
