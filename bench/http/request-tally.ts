/**
 * What a server process did: requests whose work finished, requests that failed, the first
 * failure, and the requests still at work (whose events may not be stored yet).
 */
export class RequestTally {
  handled = 0;
  failed = 0;
  firstError: string | null = null;
  private working = 0;
  private onIdle: (() => void) | undefined;

  /** A request starts its work. */
  begin(): void {
    this.working++;
  }

  /** A request's work is over, with its error if it failed. */
  end(error?: unknown): void {
    if (error === undefined) this.handled++;
    else {
      this.failed++;
      this.firstError ??= error instanceof Error ? error.message : String(error);
    }
    if (--this.working === 0) this.onIdle?.();
  }

  /**
   * Resolves once no request is at work. The load generator drops its connections when its
   * time is up, but the handlers of the requests it had in flight run on and write their
   * events: the tally is only final after them.
   */
  idle(): Promise<void> {
    return this.working === 0 ? Promise.resolve() : new Promise((resolve) => (this.onIdle = resolve));
  }
}
