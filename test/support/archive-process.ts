import { spawn } from "node:child_process";
import path from "node:path";

/** Runs test helper scripts through tsx in processes of their own, for the archival tests. */

const ROOT = path.resolve(__dirname, "..", "..");
const TSX = path.join(ROOT, "node_modules", ".bin", "tsx");

/** How a helper process ended. */
export interface ProcessOutcome {
  /** Exit code, or null when a signal ended it. */
  code: number | null;
  /** The signal that ended it, or null when it exited. */
  signal: NodeJS.Signals | null;
  /** Its stdout, one entry per line. */
  lines: string[];
  stderr: string;
  /** Whether `killWhen` fired and the process group was sent SIGKILL. */
  killed: boolean;
  /** Whether it outlived `timeoutMs` and was killed for it. */
  timedOut: boolean;
  /** Milliseconds from spawn to exit. */
  elapsedMs: number;
}

/**
 * Runs `tsx <script> ...args` from the repository root. tsx runs the script in a child
 * process of its own, which a signal to tsx alone leaves running as an orphan; so the helper
 * starts in a new process group and every kill goes to the whole group (only the processes
 * started here).
 *
 * @param opts.killWhen called with the stdout lines so far; when it returns true the group is
 *   sent SIGKILL.
 * @param opts.onLine called with each stdout line as it arrives.
 * @param opts.timeoutMs the group is sent SIGKILL after this long, and `timedOut` is set.
 */
export function runTsx(
  script: string,
  args: readonly string[],
  opts: {
    killWhen?: (lines: readonly string[]) => boolean;
    onLine?: (line: string) => void;
    timeoutMs: number;
    env?: NodeJS.ProcessEnv;
  },
): Promise<ProcessOutcome> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(TSX, [script, ...args], {
      cwd: ROOT,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...opts.env },
    });
    const lines: string[] = [];
    let partial = "";
    let stderr = "";
    let killed = false;
    let timedOut = false;
    const killGroup = () => {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // the group has already exited
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, opts.timeoutMs);
    child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
      const parts = (partial + chunk).split("\n");
      partial = parts.pop()!;
      lines.push(...parts);
      for (const line of parts) opts.onLine?.(line);
      if (!killed && opts.killWhen?.(lines)) {
        killed = true;
        killGroup();
      }
    });
    child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (partial) lines.push(partial);
      resolve({ code, signal, lines, stderr, killed, timedOut, elapsedMs: performance.now() - started });
    });
  });
}
