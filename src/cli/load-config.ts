import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";

import { CURSOR_SECRET_EXAMPLE, cursorKey, isCursorSecret, type CursorKey } from "../query/cursor";
import type { AuditStore } from "../stores/store";
import { CliError, errorMessage } from "./cli-error";
import { ExitCode } from "./exit-codes";

const CONFIG_FILE_NAMES = ["audit-events.config.js", "audit-events.config.mjs", "audit-events.config.cjs", "audit-events.config.ts"];

const TYPESCRIPT_EXTENSIONS = new Set([".ts", ".mts", ".cts"]);

const EXAMPLE_CONFIG = `For example, audit-events.config.ts (loaded through your project's tsx; write .mjs if your client is JavaScript):

  import { prismaStore } from "audit-events";
  import { prisma } from "./src/db"; // your PrismaClient, created as your app creates it

  export const store = prismaStore(prisma);
  export const close = () => prisma.$disconnect();`;

/** What a config file provides. */
export interface LoadedConfig {
  /** The absolute path of the config file. */
  file: string;
  /** The store the commands work on. */
  store: AuditStore;
  /** Releases what the config opened (e.g. disconnects Prisma); awaited before exiting. */
  close(): Promise<void>;
  /**
   * The key of `list`'s cursors: from the config's `cursorSecret` export, else the
   * command line's own fixed key. Each run is a new process, so the key must outlive
   * it; a cursor is only ever given to the command line by the operator, who can read
   * the whole trail anyway, and a router never takes one signed with this key.
   */
  cursorKey: CursorKey;
  /**
   * The key `verify` checks checkpoints with: the config's `integrityKey` export (a secret
   * or a list of `{ id, secret }`, as `integrity.key` takes), else the environment variable
   * `AUDIT_INTEGRITY_KEY`; undefined when neither is set.
   */
  integrityKey?: unknown;
}

const COMMAND_LINE_CURSOR_KEY = cursorKey("audit-events command line: cursors of `audit-events list`");

type Namespace = Record<string, unknown>;

// tsc compiles this file to CommonJS and would rewrite a literal `import()` into
// `require()`, which cannot load an ES module config that uses top-level await, nor
// take a file URL. A function built at run time keeps Node's real dynamic import.
const importModule = new Function("url", "return import(url)") as (url: string) => Promise<Namespace>;

/**
 * Finds the config file: `--config <path>` (relative to `cwd`), else the first of
 * `audit-events.config.js`, `.mjs`, `.cjs` and `.ts` in `cwd`.
 *
 * @throws {CliError} (exit code 3) when there is no such file.
 */
export function findConfigFile(cwd: string, explicit?: string): string {
  if (explicit !== undefined) {
    const file = path.resolve(cwd, explicit);
    if (!existsSync(file)) {
      throw new CliError(`The config file ${file} given with --config does not exist. Check the path, or create it.\n${EXAMPLE_CONFIG}`, ExitCode.Config);
    }
    return file;
  }
  const found = CONFIG_FILE_NAMES.map((name) => path.join(cwd, name)).find((file) => existsSync(file));
  if (found === undefined) {
    throw new CliError(
      `No config file found in ${cwd}: create one of ${CONFIG_FILE_NAMES.join(", ")} exporting your store, or pass --config <path>.\n${EXAMPLE_CONFIG}`,
      ExitCode.Config,
    );
  }
  return found;
}

/**
 * Loads a config file and returns its store and `close()`. The store may be exported
 * as `export default { store }`, `export const store` or `module.exports = { store }`.
 * `.js`, `.mjs` and `.cjs` files are imported by Node; `.ts`, `.mts` and `.cts` files
 * through the project's own `tsx`.
 *
 * @example
 * ```ts
 * const config = await loadConfig(findConfigFile(process.cwd()));
 * try { await archiveOldEvents({ store: config.store }); } finally { await config.close(); }
 * ```
 * @throws {CliError} (exit code 3) when the file fails to load, tsx is missing for a
 *   TypeScript file, or it exports no store.
 */
export async function loadConfig(file: string): Promise<LoadedConfig> {
  let namespace: Namespace;
  try {
    namespace = TYPESCRIPT_EXTENSIONS.has(path.extname(file)) ? await importTypeScript(file) : await importModule(pathToFileURL(file).href);
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(`Could not load the config file ${file}; fix it (--verbose shows the stack trace):\n  ${errorMessage(error)}${typeScriptImportHint(file, error)}`, ExitCode.Config, {
      cause: error,
    });
  }
  return configFrom(file, namespace);
}

/**
 * Node cannot import TypeScript from a JavaScript config, and Prisma 7's generated
 * client is TypeScript: Node then reports an unknown ".ts" extension, or a module
 * not found whose `.ts` twin exists. Its message does not say that the way out is a
 * `.ts` config.
 */
function typeScriptImportHint(file: string, error: unknown): string {
  if (TYPESCRIPT_EXTENSIONS.has(path.extname(file))) return "";
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  const text = typeof message === "string" ? message : "";
  const missing = code === "ERR_MODULE_NOT_FOUND" ? /Cannot find module '([^']+)'/.exec(text)?.[1] : undefined;
  const importsTypeScript =
    (code === "ERR_UNKNOWN_FILE_EXTENSION" && text.includes('".ts"')) ||
    (missing !== undefined && [`${missing}.ts`, missing.replace(/\.[cm]?js$/, ".ts")].some((candidate) => existsSync(candidate)));
  return importsTypeScript
    ? `\n  A ${path.extname(file)} config cannot import TypeScript, such as the client Prisma 7 generates: name it audit-events.config.ts, which is loaded through your project's tsx (npm install --save-dev tsx), and import without a .js extension.`
    : "";
}

async function importTypeScript(file: string): Promise<Namespace> {
  const api = (await importModule(tsxModuleApi(file))) as { tsImport?: (specifier: string, parentURL: string) => Promise<Namespace> };
  if (typeof api.tsImport !== "function") {
    throw new CliError(`The tsx installed for ${file} has no tsImport(). Update it (npm install --save-dev tsx@4), or write the config as audit-events.config.mjs if it imports no TypeScript (a Prisma 7 client is TypeScript).`, ExitCode.Config);
  }
  const url = pathToFileURL(file).href;
  return api.tsImport(url, url);
}

/**
 * The URL of tsx's ES module API (`tsx/esm/api`), resolved from the config's folder:
 * tsx is the user's dependency, not ours. `require()` would get its CommonJS build,
 * which in tsx 4.23 registers its loader from a wrong path ("Cannot find module
 * .../dist/esm/api/esm/index.mjs"), and Node 20 cannot resolve a package for
 * `import` from another folder, so this follows the "import" entry of tsx's exports.
 */
function tsxModuleApi(file: string): string {
  let manifestFile: string;
  try {
    manifestFile = createRequire(file).resolve("tsx/package.json");
  } catch (error) {
    throw new CliError(
      `${path.basename(file)} is TypeScript, and loading it needs tsx, which is not installed in ${path.dirname(file)}. ` +
        "Install it (npm install --save-dev tsx), or write the config as audit-events.config.mjs if it imports no TypeScript (a Prisma 7 client is TypeScript).",
      ExitCode.Config,
      { cause: error },
    );
  }
  const manifest = JSON.parse(readFileSync(manifestFile, "utf8")) as { exports?: Record<string, { import?: string | { default?: string } }> };
  const entry = manifest.exports?.["./esm/api"]?.import;
  const target = typeof entry === "string" ? entry : entry?.default;
  if (target === undefined) {
    throw new CliError(`The tsx installed for ${file} is too old to load a config. Update it (npm install --save-dev tsx@4), or write the config as audit-events.config.mjs if it imports no TypeScript (a Prisma 7 client is TypeScript).`, ExitCode.Config);
  }
  return pathToFileURL(path.join(path.dirname(manifestFile), target)).href;
}

/**
 * A module namespace holds named exports directly, and `export default` or
 * `module.exports` under `default`. A CommonJS module compiled from `export default`
 * (as tsx may do) nests it once more.
 */
function configFrom(file: string, namespace: Namespace): LoadedConfig {
  const layers = [namespace, namespace.default, (namespace.default as Namespace | undefined)?.default];
  const exported = layers.find((layer): layer is Namespace => typeof layer === "object" && layer !== null && (layer as Namespace).store !== undefined);
  if (exported === undefined) {
    throw new CliError(
      `The config file ${file} exports no store. Export it as \`export const store = prismaStore(prisma)\`, ` +
        "`export default { store }` or `module.exports = { store }`.",
      ExitCode.Config,
    );
  }
  const { store, close } = exported;
  if (!isStore(store)) {
    throw new CliError(
      `The store exported by ${file} is not an audit store. Export the store built around your client, \`prismaStore(prisma)\`, not the Prisma client itself.`,
      ExitCode.Config,
    );
  }
  if (close !== undefined && typeof close !== "function") {
    throw new CliError(`The config file ${file} exports a close that is not a function. Export \`close: () => prisma.$disconnect()\`, or nothing.`, ExitCode.Config);
  }
  const { cursorSecret } = exported;
  if (cursorSecret !== undefined && !isCursorSecret(cursorSecret)) {
    throw new CliError(`The config file ${file} exports a cursorSecret shorter than 32 characters or bytes, or not a string or Buffer. Export ${CURSOR_SECRET_EXAMPLE.replace(": ", " = ")}, or nothing.`, ExitCode.Config);
  }
  return {
    file,
    store,
    close: async () => void (await (close as (() => unknown) | undefined)?.()),
    cursorKey: cursorSecret === undefined ? COMMAND_LINE_CURSOR_KEY : cursorKey(cursorSecret),
    integrityKey: exported.integrityKey ?? process.env.AUDIT_INTEGRITY_KEY,
  };
}

function isStore(value: unknown): value is AuditStore {
  const candidate = value as Partial<AuditStore> | null;
  return typeof candidate === "object" && candidate !== null && typeof candidate.archiveBatch === "function" && typeof candidate.countLiveBefore === "function";
}
