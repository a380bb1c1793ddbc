/** What a server process did: requests answered, requests that failed, the first failure. */
export class RequestTally {
  handled = 0;
  failed = 0;
  firstError: string | null = null;

  /** Counts a failed request and keeps the first error's message for the report. */
  fail(error: unknown): void {
    this.failed++;
    this.firstError ??= error instanceof Error ? error.message : String(error);
  }
}
