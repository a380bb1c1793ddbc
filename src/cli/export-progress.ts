import { Presets, SingleBar } from "cli-progress";

/** Shows how far an export has got. */
export interface ExportProgress {
  /** Reports the events written so far. */
  update(exported: number): void;
  /** Ends the display; call it before printing anything else, also on failure. */
  stop(): void;
}

/** On a pipe or in a log, a line is written each time at least this much more is done. */
const LINE_STEP_PERCENT = 10;

/**
 * A progress bar (cli-progress) when `stream` is a terminal, else a plain line each
 * time another 10% of `total` is written, and one at the end.
 *
 * @param total The events counted before the export; events written meanwhile may add to it.
 * @example
 * ```ts
 * const progress = createExportProgress(process.stderr, await countEvents(query));
 * try { await exportEvents(query, out, { onProgress: (n) => progress.update(n) }); } finally { progress.stop(); }
 * ```
 */
export function createExportProgress(stream: NodeJS.WritableStream & { isTTY?: boolean }, total: number): ExportProgress {
  if (stream.isTTY === true) {
    // Ctrl-C must leave the terminal as it was: the cursor stays visible.
    const bar = new SingleBar({ stream, format: "Exporting [{bar}] {percentage}% | {value}/{total} events | ETA {eta_formatted}", hideCursor: false, linewrap: true }, Presets.shades_classic);
    bar.start(total, 0);
    return {
      update(exported) {
        if (exported > bar.getTotal()) bar.setTotal(exported);
        bar.update(exported);
      },
      stop: () => bar.stop(),
    };
  }
  let lastStep = -1;
  return {
    update(exported) {
      const percent = total > exported ? (exported / total) * 100 : 100;
      const step = Math.floor(percent / LINE_STEP_PERCENT);
      if (step <= lastStep) return;
      lastStep = step;
      stream.write(`exported ${exported} of ${Math.max(total, exported)} (${Math.floor(percent)}%)\n`);
    },
    stop: () => undefined,
  };
}
