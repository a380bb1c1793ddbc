/** A benchmark's own result is wrong (requests failed, rows missing): the figures mean nothing. */
export class SanityError extends Error {
  override name = "SanityError";
}

/**
 * Throws a {@link SanityError} with the message unless the condition holds.
 *
 * @throws {SanityError} when `condition` is false.
 */
export function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new SanityError(message);
}

/**
 * Runs a benchmark's main function; a failed sanity check or any other error is printed
 * loudly and sets exit code 1, so `npm run bench` and CI fail with it.
 *
 * @example
 * ```ts
 * runBenchmark("writer", main);
 * ```
 */
export function runBenchmark(name: string, main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    console.error(
      error instanceof SanityError
        ? `\nbench/${name}: SANITY CHECK FAILED: ${error.message}`
        : `\nbench/${name}: FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
    );
    process.exitCode = 1;
  });
}

/** A progress line on stderr, so stdout holds only the report. */
export function log(name: string, line: string): void {
  console.error(`[bench:${name}] ${line}`);
}
