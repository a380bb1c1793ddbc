import { execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
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

/** What the build reads: the package's own files, and the lock that pins its TypeScript and types. */
const BUILD_INPUTS = ["src", "bin", "package.json", "tsconfig.json", "tsconfig.build.json", "scripts/build.mjs"];

/**
 * Builds the package with its own build script into a private copy under .tmp/, so
 * the tests run the shipped bin and dist/ without racing other test files that
 * rebuild dist/ at the same time. Returns the package folder.
 *
 * The build (a full `tsc`, 15-35 s on the CI machine) runs once per content of its inputs
 * ({@link BUILD_INPUTS} and package-lock.json): it is kept in .tmp/cli-build-<hash>, and each
 * caller gets a copy of its own of that folder, as a build of its own would be.
 */
export function buildPackage(): string {
  const dir = path.join(ROOT, ".tmp", `cli-package-w${process.env.JEST_WORKER_ID ?? "0"}-p${process.pid}-${path.basename(expect.getState().testPath ?? "cli")}`);
  rmSync(dir, { recursive: true, force: true });
  cpSync(builtPackage(), dir, { recursive: true });
  return dir;
}

/**
 * The folder of the build of the current inputs (scripts/build.mjs run in a copy of them):
 * built here unless an earlier call, in any process, built it. Shared: callers copy from it.
 */
export function builtPackage(): string {
  const hash = createHash("sha256");
  const lock = path.join(ROOT, "package-lock.json");
  for (const file of [...BUILD_INPUTS.flatMap((entry) => filesUnder(path.join(ROOT, entry))), ...(existsSync(lock) ? [lock] : [])]) {
    hash.update(path.relative(ROOT, file)).update("\0").update(readFileSync(file)).update("\0");
  }
  const builds = path.join(ROOT, ".tmp");
  const done = path.join(builds, `cli-build-${hash.digest("hex").slice(0, 16)}`);
  if (existsSync(done)) {
    const now = new Date();
    utimesSync(done, now, now); // used: see the clean-up below
    return done;
  }

  // Built aside and renamed into place, so no caller ever copies a half-built folder; a
  // process that loses the race to rename keeps the other one's (identical) build.
  const building = `${done}.building-p${process.pid}`;
  rmSync(building, { recursive: true, force: true });
  mkdirSync(path.join(building, "scripts"), { recursive: true });
  for (const entry of BUILD_INPUTS) {
    cpSync(path.join(ROOT, entry), path.join(building, entry), { recursive: true });
  }
  try {
    execFileSync(process.execPath, ["scripts/build.mjs"], { cwd: building, stdio: "pipe" });
  } catch (error) {
    rmSync(building, { recursive: true, force: true });
    throw error;
  }
  try {
    renameSync(building, done);
  } catch (error) {
    rmSync(building, { recursive: true, force: true });
    if (!existsSync(done)) throw error;
  }
  // Builds of earlier sources, unused for an hour (each use above touches its folder).
  for (const name of readdirSync(builds)) {
    const other = path.join(builds, name);
    if (name.startsWith("cli-build-") && other !== done && Date.now() - statSync(other).mtimeMs > 3_600_000) {
      rmSync(other, { recursive: true, force: true });
    }
  }
  return done;
}

/** Every file under `entry` (or `entry` itself), in a fixed order. */
function filesUnder(entry: string): string[] {
  if (!statSync(entry).isDirectory()) return [entry];
  return readdirSync(entry, { withFileTypes: true })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .flatMap((child) => filesUnder(path.join(entry, child.name)));
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
