import { Presets, SingleBar } from "cli-progress";

/** Shows how far a verify run has got. */
export interface VerifyProgress {
  /** Reports the events checked so far. */
  update(verified: number): void;
  /** Ends the display; call it before printing anything else, also on failure. */
  stop(): void;
}

/**
 * A running count (cli-progress) when `stream` is a terminal, and nothing otherwise: a verify
 * run from cron or CI prints only its report. The total is not known before the run (counting
 * a large trail would cost a scan of its own), so the bar shows events checked and their rate.
 *
 * @example
 * ```ts
 * const progress = createVerifyProgress(process.stderr);
 * try { await verifyAuditTrail({ onProgress: (n) => progress.update(n) }); } finally { progress.stop(); }
 * ```
 */
export function createVerifyProgress(stream: NodeJS.WritableStream & { isTTY?: boolean }): VerifyProgress {
  if (stream.isTTY !== true) return { update: () => undefined, stop: () => undefined };
  // Ctrl-C must leave the terminal as it was: the cursor stays visible.
  const bar = new SingleBar({ stream, format: "Verifying | {value} events checked | {duration_formatted}", hideCursor: false, linewrap: true }, Presets.shades_classic);
  bar.start(0, 0);
  return {
    update(verified) {
      if (verified > bar.getTotal()) bar.setTotal(verified);
      bar.update(verified);
    },
    stop: () => bar.stop(),
  };
}
