import type { SpoolFullPolicy } from "../config";
import { AuditError, AuditStoreError } from "../errors";
import type { AuditStore, EventRow } from "../stores/store";
import { countMetric, recordMetricError } from "./metrics";
import { dropOldest, spoolLineBytes, type AuditLogger, type AuditSpool } from "./spool";
import { decodeSpoolLine, encodeSpoolLine } from "./spool-line";

/** What a {@link BufferedWriter} needs; the resolved options of `configureAudit()`. */
export interface BufferedWriterOptions {
  store: AuditStore;
  flushIntervalMs: number;
  maxBatchSize: number;
  maxBufferedEvents: number;
  spool: AuditSpool | undefined;
  onSpoolFull: SpoolFullPolicy;
  logger: AuditLogger;
  /** Settles before the spool is opened: a writer being replaced must let go of it first. */
  after?: Promise<unknown>;
}

/** An event waiting in memory, with the caller waiting for it to be durable (spool only). */
interface Pending {
  row: EventRow;
  /** When it was taken (`performance.now()`), so no event waits longer than the interval. */
  at: number;
  settle?: { resolve(): void; reject(error: unknown): void };
}

/** The first retry after a failure waits this long; each further one twice as long. */
const FIRST_RETRY_MS = 100;
/** ... up to this. */
const LONGEST_RETRY_MS = 30_000;

/** What `enqueue` returns for an event accepted into memory (no spool): already settled. */
const ACCEPTED = Promise.resolve();

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The buffered write path: events wait in memory and are written in batches,
 * every `flushIntervalMs` or `maxBatchSize` events, through the store's fastest
 * bulk insert. When the store fails, batches go to the spool (or, without one,
 * stay in memory) and are retried with exponential backoff; the spool is
 * replayed in order, before newer events, whenever the store answers. Memory is
 * bounded: beyond `maxBufferedEvents`, `enqueue` waits.
 */
export class BufferedWriter {
  private readonly queue: Pending[] = [];
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<boolean> | undefined;
  private spaceWaiters: (() => void)[] = [];
  private failures = 0;
  /** Set when the store failed; batches go to the spool until a replay succeeds. */
  private storeDown = false;
  private readonly opened: Promise<void> | undefined;
  private closed = false;

  constructor(private readonly options: BufferedWriterOptions) {
    const { spool, logger } = options;
    if (spool !== undefined) {
      this.opened = Promise.resolve(options.after)
        .catch(() => undefined)
        .then(() => spool.open(logger));
      this.opened.then(
        () => {
          if (spool.count() > 0) {
            logger.warn(`audit-events: ${spool.count()} event(s) wait in spool ${spool.name}; replaying them.`);
            this.schedule(0);
          }
        },
        (error: unknown) => this.failed(error, `could not open spool ${spool.name}`),
      );
    }
  }

  /** Events in memory now. */
  buffered(): number {
    return this.queue.length + this.inFlight;
  }

  /** Events in the spool now. */
  spooled(): number {
    return this.options.spool?.count() ?? 0;
  }

  /**
   * Takes an event. Without a spool it resolves once the event is in memory; with
   * one, once it is in the spool or the store. Waits while memory is full.
   */
  enqueue(row: EventRow): Promise<void> {
    if (this.closed) {
      return Promise.reject(new AuditError("ERR_AUDIT_CLOSED", "The audit writer was closed by closeAudit(); configure again to write more events."));
    }
    if (this.buffered() >= this.options.maxBufferedEvents) return this.enqueueWhenRoom(row);
    if (this.options.spool === undefined) {
      this.queue.push({ row, at: performance.now() });
      this.schedule();
      return ACCEPTED;
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ row, at: performance.now(), settle: { resolve, reject } });
      this.schedule();
    });
  }

  /** Back-pressure: waits until the writer has room for `row`. */
  private async enqueueWhenRoom(row: EventRow): Promise<void> {
    while (this.buffered() >= this.options.maxBufferedEvents) await new Promise<void>((resolve) => this.spaceWaiters.push(resolve));
    return this.enqueue(row);
  }

  /**
   * Writes what is in memory and replays the spool, now.
   *
   * @throws {AuditStoreError} when events are left in memory because neither the
   * store nor a spool could take them; the spool's error when it cannot be opened.
   */
  async flush(): Promise<void> {
    await this.opened;
    this.storeDown = false;
    for (;;) {
      const done = await this.pump();
      if (!done) break;
      if (this.queue.length === 0 && (this.storeDown || this.spooled() === 0)) return;
    }
    if (this.queue.length > 0) {
      throw new AuditStoreError(`flushAudit(): ${this.queue.length} event(s) are still in memory: ${this.lastFailure}`);
    }
  }

  /**
   * Flushes, stops the timers and releases the spool.
   *
   * @throws {AuditStoreError} when events could not be written anywhere; they are
   * lost when the process exits.
   */
  close(): Promise<void> {
    this.closing ??= this.shutDown();
    return this.closing;
  }

  private closing: Promise<void> | undefined;

  private async shutDown(): Promise<void> {
    let failure: unknown;
    try {
      await this.flush();
    } catch (error) {
      failure = error;
    }
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
    await this.opened?.then(() => this.options.spool!.close()).catch(() => undefined);
    if (failure !== undefined && this.queue.length === 0) throw failure;
    if (failure !== undefined) {
      throw new AuditStoreError(`closeAudit(): ${this.queue.length} event(s) could not be written and are lost if the process exits: ${this.lastFailure}`, {
        cause: failure,
      });
    }
  }

  private lastFailure = "";

  private failed(error: unknown, doing: string): void {
    this.lastFailure = `${doing}: ${error instanceof Error ? error.message : String(error)}`;
    recordMetricError(error);
    if (this.failures === 1) this.options.logger.warn(`audit-events: ${this.lastFailure}; retrying with backoff.`);
  }

  /** Starts a flush after `delay` ms (default: now if a batch is full, else when the oldest event's interval ends). */
  private schedule(delay?: number): void {
    if (this.closed) return;
    const oldest = this.queue[0]?.at ?? performance.now();
    const wait = delay ?? (this.queue.length >= this.options.maxBatchSize ? 0 : Math.max(1, oldest + this.options.flushIntervalMs - performance.now()));
    const due = performance.now() + wait;
    if (this.timer !== undefined) {
      // Keep an earlier timer; and a failing store with no spool to catch its batches keeps its backoff.
      const keep = this.timerDue <= due || (delay === undefined && this.failures > 0 && this.options.spool === undefined);
      if (keep) {
        // Events only in memory keep the process alive until written; spooled ones are safe.
        if (this.queue.length > 0) this.timer.ref();
        return;
      }
      clearTimeout(this.timer);
    }
    this.timerDue = due;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.pump(wait > 0);
    }, wait);
    if (this.queue.length === 0) this.timer.unref();
  }

  private timerDue = 0;

  private retryLater(): void {
    const backoff = Math.min(LONGEST_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.min(this.failures - 1, 20));
    this.schedule(backoff / 2 + Math.random() * (backoff / 2));
  }

  /**
   * Runs one flush at a time; resolves true when it got through without a store
   * failure. Unless `all`, only full batches are written and the rest waits for
   * the interval.
   */
  private pump(all = true): Promise<boolean> {
    this.running ??= this.run(all).finally(() => {
      this.running = undefined;
      if (this.queue.length > 0 && this.timer === undefined) this.schedule();
    });
    return this.running;
  }

  private async run(all: boolean): Promise<boolean> {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.queue.length >= (all ? 1 : this.options.maxBatchSize)) {
      const batch = this.queue.splice(0, this.options.maxBatchSize);
      this.inFlight = batch.length;
      const written = await this.writeBatch(batch);
      this.inFlight = 0;
      if (!written) {
        this.queue.unshift(...batch);
        this.retryLater();
        return false;
      }
      this.releaseSpace();
    }
    if (this.spooled() > 0 && !(await this.replay())) {
      this.retryLater();
      return false;
    }
    return true;
  }

  private releaseSpace(): void {
    const waiters = this.spaceWaiters;
    this.spaceWaiters = [];
    for (const wake of waiters) wake();
  }

  /** Puts a batch in the store, or in the spool; false when it must stay in memory. */
  private async writeBatch(batch: Pending[]): Promise<boolean> {
    const { spool } = this.options;
    if (spool !== undefined) {
      try {
        await this.opened;
      } catch {
        return this.toStore(batch);
      }
      if (!this.storeDown && spool.count() === 0 && (await this.toStore(batch))) return true;
      return this.toSpool(batch, spool);
    }
    return this.toStore(batch);
  }

  private async toStore(batch: Pending[]): Promise<boolean> {
    try {
      await this.options.store.writeRows(batch.map((p) => p.row));
    } catch (error) {
      this.failures++;
      this.storeDown = true;
      this.failed(error, `the store ${this.options.store.name} failed`);
      return false;
    }
    this.failures = 0;
    this.storeDown = false;
    countMetric("written", batch.length);
    for (const p of batch) p.settle?.resolve();
    return true;
  }

  private async toSpool(batch: Pending[], spool: AuditSpool): Promise<boolean> {
    const lines = batch.map((p) => encodeSpoolLine(p.row));
    try {
      await this.makeRoom(spool, lines.reduce((sum, line) => sum + spoolLineBytes(line), 0));
      await spool.append(lines);
    } catch (error) {
      if (error instanceof AuditError && error.code === "ERR_AUDIT_SPOOL_FULL") {
        recordMetricError(error);
        for (const p of batch) p.settle?.reject(error);
        return true;
      }
      this.failures++;
      this.failed(error, `the spool ${spool.name} failed`);
      return false;
    }
    countMetric("spooled", batch.length);
    for (const p of batch) p.settle?.resolve();
    return true;
  }

  /** Applies `onSpoolFull` until `bytes` more fit in the spool. */
  private async makeRoom(spool: AuditSpool, bytes: number): Promise<void> {
    if (bytes > spool.maxBytes) {
      throw new AuditError("ERR_AUDIT_SPOOL_FULL", `A batch of ${bytes} bytes is larger than the spool ${spool.name} (maxBytes ${spool.maxBytes}); raise maxBytes or lower maxBatchSize.`);
    }
    let waited = 0;
    while (spool.usedBytes() + bytes > spool.maxBytes) {
      const excess = spool.usedBytes() + bytes - spool.maxBytes;
      switch (this.options.onSpoolFull) {
        case "throw":
          throw new AuditError("ERR_AUDIT_SPOOL_FULL", `The spool ${spool.name} is full (maxBytes ${spool.maxBytes}) and the store does not answer; the event was not recorded.`);
        case "drop-oldest": {
          const dropped = await dropOldest(spool, excess);
          countMetric("dropped", dropped);
          this.options.logger.warn(`audit-events: spool ${spool.name} is full; dropped its ${dropped} oldest event(s).`);
          break;
        }
        case "block":
          if (!(await this.replayOnce())) {
            if (waited === 0) this.options.logger.warn(`audit-events: spool ${spool.name} is full; createEvent waits until the store answers.`);
            waited++;
            await sleep(Math.min(LONGEST_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.min(waited, 20)));
          }
          break;
      }
    }
  }

  /** Replays the whole spool into the store; false when the store failed. */
  private async replay(): Promise<boolean> {
    while (this.spooled() > 0) {
      if (!(await this.replayOnce())) return false;
    }
    return true;
  }

  /** Replays one batch from the head of the spool; false when nothing moved. */
  private async replayOnce(): Promise<boolean> {
    const spool = this.options.spool!;
    let batch;
    const rows: EventRow[] = [];
    let corrupt = 0;
    try {
      batch = await spool.peek(this.options.maxBatchSize);
      if (batch.lines.length === 0) return false;
      for (const line of batch.lines) {
        const decoded = decodeSpoolLine(line);
        if ("row" in decoded) rows.push(decoded.row);
        else {
          corrupt++;
          this.options.logger.warn(`audit-events: spool ${spool.name}: skipped a bad line (${decoded.problem}): ${JSON.stringify(line.slice(0, 80))}`);
        }
      }
      await this.options.store.writeRows(rows);
    } catch (error) {
      this.failures++;
      this.storeDown = true;
      this.failed(error, `replaying spool ${spool.name} into ${this.options.store.name} failed`);
      return false;
    }
    try {
      await spool.ack(batch);
    } catch (error) {
      this.failures++;
      this.failed(error, `the spool ${spool.name} failed`);
      return false;
    }
    this.failures = 0;
    this.storeDown = false;
    countMetric("replayed", rows.length);
    countMetric("dropped", corrupt);
    return true;
  }
}
