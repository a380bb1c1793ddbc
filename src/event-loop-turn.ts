/**
 * Resolves after the event loop has gone round once (`setImmediate`): timers, I/O
 * callbacks and acknowledgements waiting behind a long synchronous task run before it
 * goes on. The writer awaits it between the slices of work it would otherwise do in one
 * go (decoding a batch read back from the spool), so no slice stalls the loop long.
 *
 * @example
 * ```ts
 * for (let i = 0; i < lines.length; i++) {
 *   if (i > 0 && i % 200 === 0) await nextTurn();
 *   decode(lines[i]);
 * }
 * ```
 */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
