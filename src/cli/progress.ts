import { Presets, SingleBar } from "cli-progress";

import type { ArchiveProgress } from "../archive/archive";

/** Shows how far an archival run has got. */
export interface ProgressReporter {
  /** Reports a finished batch. */
  batch(progress: ArchiveProgress): void;
  /** Ends the display; call it before printing anything else, also on failure. */
  stop(): void;
}

/** On a pipe or in a log, a line is written each time at least this much more is done. */
const LINE_STEP_PERCENT = 5;

/**
 * A progress bar (cli-progress) when `stream` is a terminal, else plain lines: one for
 * the first batch and then one each time it passes another 5% of `total`, so the log of a
 * long run stays short.
 *
 * @param total The events expected to move; a run that finds more grows it.
 * @example
 * ```ts
 * const progress = createProgressReporter(process.stderr, await countArchivableEvents({ store }));
 * try { await archiveOldEvents({ store, onBatch: (p) => progress.batch(p) }); } finally { progress.stop(); }
 * ```
 */
export function createProgressReporter(stream: NodeJS.WritableStream & { isTTY?: boolean }, total: number): ProgressReporter {
  return stream.isTTY === true ? barReporter(stream, total) : lineReporter(stream, total);
}

function barReporter(stream: NodeJS.WritableStream, total: number): ProgressReporter {
  // Archival is safe to interrupt, so Ctrl-C must leave the terminal as it was: the
  // cursor is not hidden, and long lines are cut to the width rather than turning
  // line wrapping off.
  const bar = new SingleBar(
    { stream, format: "Archiving [{bar}] {percentage}% | {value}/{total} events | ETA {eta_formatted}", hideCursor: false, linewrap: true },
    Presets.shades_classic,
  );
  bar.start(total, 0);
  return {
    batch({ archived }) {
      if (archived > bar.getTotal()) bar.setTotal(archived);
      bar.update(archived);
    },
    stop: () => bar.stop(),
  };
}

function lineReporter(stream: NodeJS.WritableStream, total: number): ProgressReporter {
  let lastStep = -1;
  return {
    batch({ archived, moved, batchMs }) {
      const percent = total > archived ? (archived / total) * 100 : 100;
      const step = Math.floor(percent / LINE_STEP_PERCENT);
      if (step <= lastStep) return;
      lastStep = step;
      stream.write(`archived ${archived} of ${Math.max(total, archived)} (${Math.floor(percent)}%), last batch ${moved} in ${Math.round(batchMs)} ms\n`);
    },
    stop: () => undefined,
  };
}
