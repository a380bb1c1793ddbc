/** Where the command line writes and which directory it runs in; tests pass their own. */
export interface CliIo {
  /** Results: what was archived, or would be. Exports and `list --json` shown on a terminal are made safe for it. */
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  /** Progress, warnings and errors. A progress bar is drawn when it is a terminal. */
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  /** The directory the config file is looked for in, and `--config` is relative to. */
  cwd: string;
}
