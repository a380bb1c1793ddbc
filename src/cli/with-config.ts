import type { Command } from "commander";

import { CliError, errorMessage } from "./cli-error";
import { ExitCode } from "./exit-codes";
import type { CliIo } from "./cli-io";
import { terminalMessage } from "./terminal-text";
import { findConfigFile, loadConfig, type LoadedConfig } from "./load-config";

/**
 * Loads the config file the command names (or finds one), runs `work` with it, and
 * awaits its `close()` afterwards, also after a failure. A failing `close()` is
 * reported as a warning and does not hide the command's own outcome. A store that
 * cannot do the command's `purpose` ("read events", "archive") ends the command with
 * exit code 3, as a config problem.
 *
 * @example
 * ```ts
 * .action((options, command) => withConfig(io, command, "read events", ({ store }) => print(store)));
 * ```
 */
export async function withConfig<T>(io: CliIo, command: Command, purpose: string, work: (config: LoadedConfig) => Promise<T>): Promise<T> {
  const config = await loadConfig(findConfigFile(io.cwd, command.optsWithGlobals<{ config?: string }>().config));
  try {
    return await work(config);
  } catch (error) {
    // Matched by code, as report-error.ts does: the config may have loaded its own copy of audit-events.
    const code = (error as { code?: unknown } | null)?.code;
    if (code === "ERR_AUDIT_CONFIG" || code === "ERR_AUDIT_NO_STORE") {
      throw new CliError(`the store in the config file cannot ${purpose}: ${errorMessage(error)}`, ExitCode.Config, { cause: error });
    }
    throw error;
  } finally {
    try {
      await config.close();
    } catch (error) {
      io.stderr.write(`warning: ${terminalMessage(`close() exported by ${config.file} failed: ${errorMessage(error)}`)}\n`);
    }
  }
}
