import type { SpoolFullPolicy } from "../config/options";
import { AuditError, AuditStoreError } from "../errors";
import type { AuditStore, EventRow } from "../stores/store";
import { countMetric, recordMetricError } from "./metrics";
import { dropOldest, spoolLineBytes, type AuditLogger, type AuditSpool } from "./spool";
import { decodeSpoolLine, encodeSpoolLine } from "./spool-line";
import { normalizeJson } from "../serialize";
import { isStandIn, standInFor } from "./refused-event";
import { isRefusedData } from "../stores/store-failure";
import type { Checkpointer } from "../integrity/checkpointer";
import type { HashChain } from "../integrity/hash-chain";
import type { IntegrityKeyRing } from "../integrity/integrity-keys";
import type { IntegrityStore } from "../integrity/integrity-store";
import { committedNothing } from "./chained-writes";
import { thrownMessage } from "../thrown-message";

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
  /**
   * With `integrity`: the writer chains what it writes in a chain of its own, which this
   * signs (see docs/integrity.md).
   */
  checkpointer?: Checkpointer;
  /**
   * With `integrity`: its keys. Spool lines are written with an HMAC under the signing
   * key, and a line no key verifies is refused at replay (see `refuseLines`).
   */
  spoolKeys?: IntegrityKeyRing;
}

/** An event waiting in memory, with the caller waiting for it to be durable (spool only). */
interface Pending {
  row: EventRow;
  /** When it was taken (`performance.now()`), so no event waits longer than the interval. */
  at: number;
  settle?: { resolve(): void; reject(error: unknown): void };
  /**
   * The store may hold it already: a write of it failed without saying whether it
   * committed, or it was replayed from a spool. Asked before it is chained again.
   */
  maybeStored?: boolean;
}

/** The first retry after a failure waits this long; each further one twice as long... */
const FIRST_RETRY_MS = 100;
/** ... up to this. */
const LONGEST_RETRY_MS = 30_000;

/** What `enqueue` returns for an event accepted into memory (no spool): already settled. */
const ACCEPTED = Promise.resolve();

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Thrown inside the writer when a blocked spool append must give way to `close()`. */
class ClosingWhileBlocked extends Error {}

/**
 * The buffered write path: events wait in memory and are written in batches,
 * every `flushIntervalMs` or `maxBatchSize` events, through the store's fastest
 * bulk insert. When the store is down, batches go to the spool (or, without one,
 * stay in memory) and the store is retried with exponential backoff; the spool is
 * replayed in order, a batch at a time between new batches, whenever the store
 * answers. Rows the store refuses for what they hold are isolated, logged whole,
 * counted as rejected and replaced by a stand-in event that names them, so one bad
 * row never blocks the others and never leaves the trail silently. Memory is bounded:
 * beyond `maxBufferedEvents`, `enqueue` waits.
 */
export class BufferedWriter {
  /** Events too large for the spool that were reported already, so each is reported once. */
  private readonly tooLargeAnnounced = new WeakSet<Pending>();
  private queue: Pending[] = [];
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerDue = 0;
  private running: Promise<boolean> | undefined;
  private spaceWaiters: (() => void)[] = [];
  /** Consecutive failures, for the backoff. */
  private failures = 0;
  /** Set when the store failed; it is tried again from `retryAt` on. */
  private storeDown = false;
  private retryAt = 0;
  private outageReported = false;
  private lastFailure = "";
  private spoolOpen: Promise<boolean> | undefined;
  private spoolRetryAt = 0;
  private closing: Promise<void> | undefined;
  private closed = false;
  /** Settles when the writer this one replaces has let go of the spool. */
  private readonly previousGone: Promise<unknown>;
  /** With `integrity`: the chain the next batch continues; a new one after a write of unknown outcome. */
  private chain: HashChain | undefined;

  constructor(private readonly options: BufferedWriterOptions) {
    this.previousGone = Promise.resolve(options.after).catch(() => undefined);
    if (options.spool !== undefined) {
      void this.ensureSpool().then((ready) => {
          const spool = options.spool!;
          if (ready && spool.count() > 0) {
            options.logger.warn(`audit-events: ${spool.count()} event(s) wait in spool ${spool.name}; replaying them.`);
            this.schedule(0);
          }
        });
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
      return Promise.reject(
        new AuditError("ERR_AUDIT_CLOSED", "The audit writer this event reached was closed (closeAudit(), or configureAudit() replaced it); create the event again."),
      );
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

  /** Back-pressure: waits, in order of arrival, until the writer has room for `row`. */
  private async enqueueWhenRoom(row: EventRow): Promise<void> {
    while (this.buffered() >= this.options.maxBufferedEvents && !this.closed) {
      await new Promise<void>((resolve) => this.spaceWaiters.push(resolve));
    }
    return this.enqueue(row);
  }

  /**
   * Writes what is in memory and replays the spool, now.
   *
   * @throws {AuditStoreError} when events are left in memory because neither the
   * store nor a spool could take them; they are retried in the background.
   */
  async flush(): Promise<void> {
    await this.ensureSpool();
    this.retryAt = 0;
    for (;;) {
      const done = await this.pump(true);
      if (!done) break;
      if (this.queue.length === 0 && (this.storeDown || this.spooled() === 0)) return;
    }
    if (this.queue.length > 0) {
      throw new AuditStoreError(
        `${this.queue.length} audit event(s) are still in memory (${this.lastFailure}); they are retried in the background. Configure a spool (fileSpool or redisSpool) to keep them across a restart.`,
      );
    }
  }

  /**
   * Flushes, stops the timers and releases the spool. When events are left in
   * memory it rejects and keeps running (and retrying), so a later call can
   * still write them.
   *
   * @throws {AuditStoreError} naming how many events would be lost by exiting now.
   */
  close(): Promise<void> {
    this.closing ??= this.shutDown().finally(() => {
      this.closing = undefined;
    });
    return this.closing;
  }

  /** Replaced by a new configuration: writes what it holds, retrying until it can, then closes. */
  async retire(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.close();
        return;
      } catch {
        await sleep(Math.min(LONGEST_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.min(attempt, 20)));
      }
    }
  }

  private async shutDown(): Promise<void> {
    try {
      await this.flush();
    } catch (error) {
      throw new AuditStoreError(
        `closeAudit(): ${this.queue.length} audit event(s) could not be written (${this.lastFailure}) and are lost if the process exits now. They are retried in the background; call closeAudit() again, or configure a spool to keep them across a restart.`,
        { cause: error },
      );
    }
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
    if (this.chain !== undefined) this.options.checkpointer?.end(this.chain);
    this.releaseSpace(Infinity);
    if (this.spoolOpen !== undefined && (await this.spoolOpen)) await this.options.spool!.close();
  }

  /** Opens the spool, once it can; false while it cannot (reported, retried with backoff). */
  private async ensureSpool(): Promise<boolean> {
    const { spool, logger } = this.options;
    if (spool === undefined) return false;
    await this.previousGone;
    if (this.spoolOpen !== undefined) {
      const ready = await this.spoolOpen;
      if (ready || performance.now() < this.spoolRetryAt) return ready;
    }
    this.spoolOpen = spool.open(logger).then(
      () => true,
      (error: unknown) => {
        this.spoolRetryAt = performance.now() + LONGEST_RETRY_MS / 6;
        recordMetricError(error);
        logger.warn(`audit-events: could not open spool ${spool.name}: ${thrownMessage(error)}; writing to the store directly, and trying the spool again in 5 s.`);
        return false;
      },
    );
    return this.spoolOpen;
  }

  private noteFailure(error: unknown, doing: string): void {
    this.failures++;
    this.lastFailure = `${doing}: ${thrownMessage(error)}`;
    recordMetricError(error);
    if (!this.outageReported) {
      this.outageReported = true;
      this.options.logger.warn(`audit-events: ${this.lastFailure}; retrying with backoff.`);
    }
  }

  private noteSuccess(): void {
    if (this.outageReported) this.options.logger.warn(`audit-events: the store ${this.options.store.name} answers again.`);
    this.failures = 0;
    this.storeDown = false;
    this.outageReported = false;
  }

  private backoff(): number {
    const full = Math.min(LONGEST_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.min(Math.max(this.failures - 1, 0), 20));
    return full / 2 + Math.random() * (full / 2);
  }

  /** Starts a flush after `delay` ms (default: now if a batch is full, else when the oldest event's interval ends). */
  private schedule(delay?: number): void {
    if (this.closed) return;
    const oldest = this.queue[0]?.at ?? performance.now();
    const wait = delay ?? (this.queue.length >= this.options.maxBatchSize ? 0 : Math.max(1, oldest + this.options.flushIntervalMs - performance.now()));
    const due = performance.now() + wait;
    if (this.timer !== undefined) {
      // Keep an earlier timer; and a failing store with no spool to catch its batches keeps its backoff.
      const keep = this.timerDue <= due || (delay === undefined && this.storeDown && this.options.spool === undefined);
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

  /** After a failure: try again once the backoff has passed. */
  private retryLater(): void {
    const wait = this.backoff();
    this.retryAt = performance.now() + wait;
    this.schedule(wait);
  }

  /** Whether the store may be tried now: it answered last time, or its backoff has passed. */
  private mayTryStore(): boolean {
    return !this.storeDown || performance.now() >= this.retryAt;
  }

  /**
   * Runs one flush at a time; resolves true when it got through without a
   * failure. Unless `all`, only full batches are written and the rest waits for
   * the interval.
   */
  private pump(all: boolean): Promise<boolean> {
    this.running ??= this.run(all)
      .catch((error: unknown) => {
        // A defect, not an outage: report it, keep the events, try again later.
        this.noteFailure(error, "the audit writer failed unexpectedly");
        this.retryLater();
        return false;
      })
      .finally(() => {
        this.running = undefined;
        if (this.queue.length > 0 && this.timer === undefined) this.schedule();
      });
    return this.running;
  }

  private async run(all: boolean): Promise<boolean> {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (;;) {
      let progressed = false;
      if (this.queue.length >= (all ? 1 : this.options.maxBatchSize)) {
        const batch = this.queue.splice(0, this.options.maxBatchSize);
        this.inFlight = batch.length;
        let kept: Pending[];
        try {
          kept = await this.writeBatch(batch);
        } catch (error) {
          kept = batch;
          this.noteFailure(error, "the audit writer failed unexpectedly");
        } finally {
          this.inFlight = 0;
        }
        if (kept.length > 0) {
          this.queue = kept.concat(this.queue);
          this.releaseSpace(batch.length - kept.length);
          // What stays (an event too large for the spool) goes to the store after the
          // spooled events it follows: replay them first while the store answers.
          if (this.spooled() > 0 && this.mayTryStore() && (await this.replayOnce()) === "moved") continue;
          this.retryLater();
          return false;
        }
        this.releaseSpace(batch.length);
        progressed = true;
      }
      // Replay a batch between new ones, so neither waits for the other.
      if (this.spooled() > 0 && this.mayTryStore()) {
        const replayed = await this.replayOnce();
        if (replayed === "failed") {
          this.retryLater();
          return false;
        }
        if (replayed === "moved") progressed = true;
      }
      if (!progressed) return !this.storeDown || this.spooled() === 0;
    }
  }

  /** Wakes up to `count` callers waiting for room, oldest first. */
  private releaseSpace(count: number): void {
    const woken = this.spaceWaiters.splice(0, count);
    for (const wake of woken) wake();
  }

  /** Puts a batch in the store, or in the spool; returns what must stay in memory. */
  private async writeBatch(batch: Pending[]): Promise<Pending[]> {
    const { spool } = this.options;
    const spoolReady = await this.ensureSpool();
    if (spoolReady && (spool!.count() > 0 || !this.mayTryStore())) return this.toSpool(batch, spool!);
    if (await this.toStore(batch)) return [];
    return spoolReady ? this.toSpool(batch, spool!) : batch;
  }

  /** Writes a batch; false when the store is down (nothing of it was settled). */
  private async toStore(batch: Pending[]): Promise<boolean> {
    const { debug } = this.options.logger;
    const started = debug === undefined ? 0 : performance.now();
    try {
      const written = await this.writeIsolating(batch);
      countMetric("written", written);
      if (debug !== undefined) {
        debug.call(this.options.logger, `audit-events: flushed ${written} buffered event(s) to ${this.options.store.name} in ${(performance.now() - started).toFixed(1)} ms.`);
      }
    } catch (error) {
      this.storeDown = true;
      this.noteFailure(error, `the store ${this.options.store.name} failed`);
      return false;
    }
    this.noteSuccess();
    return true;
  }

  /**
   * Writes `batch`; when the store refuses it for what a row holds, halves it until
   * the refused rows stand alone, and hands those to {@link refuse}. Returns how many
   * were written; throws on an outage.
   */
  private async writeIsolating(given: Pending[]): Promise<number> {
    let batch = given;
    try {
      batch = await this.withoutStored(given);
      await this.writeChained(batch.map((p) => p.row));
    } catch (error) {
      if (!isRefusedData(error)) {
        for (const p of batch) p.maybeStored = true;
        throw error;
      }
      if (batch.length > 1) {
        const half = Math.ceil(batch.length / 2);
        return (await this.writeIsolating(batch.slice(0, half))) + (await this.writeIsolating(batch.slice(half)));
      }
      this.refuse(batch[0]!, error);
      return 0;
    }
    for (const p of batch) p.settle?.resolve();
    return given.length;
  }

  /**
   * With `integrity`, `batch` without the events the store holds already (settled as
   * written): an event is never given a second chain position. Asked only about events
   * that may be stored (see {@link Pending.maybeStored}); fresh ids cannot be.
   */
  private async withoutStored(batch: Pending[]): Promise<Pending[]> {
    const { checkpointer, store } = this.options;
    if (checkpointer === undefined || store.storedIds === undefined) return batch;
    const unsure = batch.filter((p) => p.maybeStored === true);
    if (unsure.length === 0) return batch;
    const stored = await store.storedIds(unsure.map((p) => p.row.id));
    for (const p of unsure) p.maybeStored = false;
    if (stored.size === 0) return batch;
    const fresh: Pending[] = [];
    for (const p of batch) {
      if (stored.has(p.row.id)) p.settle?.resolve();
      else fresh.push(p);
    }
    return fresh;
  }

  /**
   * Writes rows; with `integrity`, chained at the writer chain's next positions, which are
   * taken only once the store has them (docs/integrity.md). A write that may have
   * committed ends the chain: the next batch starts a new one, so no chain has a gap.
   */
  private async writeChained(rows: EventRow[]): Promise<void> {
    const { checkpointer, store } = this.options;
    if (checkpointer === undefined) return store.writeRows(rows);
    if (rows.length === 0) return;
    const chain = (this.chain ??= checkpointer.open(store as IntegrityStore));
    const chained = chain.link(rows);
    try {
      await store.writeRows(chained);
    } catch (error) {
      if (!committedNothing(error)) {
        checkpointer.end(chain);
        this.chain = undefined;
      }
      throw error;
    }
    chain.commit(chained);
    checkpointer.committed(chain, store as IntegrityStore);
  }

  /**
   * Takes one event out of the write path that the store can never take as it is.
   * It is not dropped silently: the whole row is logged at error level as a spool
   * line, it is counted in `rejected`, its caller (if one waits) is told, and a
   * stand-in event naming it is queued, so the trail itself shows the hole.
   */
  private refuse(pending: Pending, error: unknown): void {
    const { store, logger } = this.options;
    const reason = thrownMessage(error);
    const standIn = isStandIn(pending.row) ? undefined : standInFor(pending.row, reason);
    const refused = new AuditStoreError(
      `The store ${store.name} refused audit event ${pending.row.id} for what it holds: ${reason}. ` +
        (standIn === undefined ? "It is a stand-in for a refused event itself, so no further stand-in is made. " : `Stand-in event ${standIn.id} (contentType "AuditEvent", objectId ${pending.row.id}) records the refusal and the event. `) +
        "Fix the constraint (or toRecord) that refuses it.",
      { cause: error, code: "ERR_AUDIT_EVENT_REFUSED" },
    );
    recordMetricError(refused);
    countMetric("rejected", 1);
    let line: string;
    try {
      line = encodeSpoolLine(pending.row);
    } catch {
      line = JSON.stringify(normalizeJson(pending.row, { strict: false }));
    }
    (logger.error ?? logger.warn).call(logger, `audit-events: ${refused.message} The refused event, whole: ${line}`);
    pending.settle?.reject(refused);
    if (standIn !== undefined) {
      this.queue.unshift({ row: standIn, at: performance.now() });
      this.schedule();
    }
  }

  /**
   * Appends a batch to the spool; returns what must stay in memory. The batch is appended
   * in chunks that each fit the spool, so one large event never takes the others down
   * with it; an event larger than the whole spool stays in memory (its caller waits)
   * until the store takes it.
   */
  private async toSpool(batch: Pending[], spool: AuditSpool): Promise<Pending[]> {
    const chunks: { lines: string[]; pending: Pending[]; bytes: number }[] = [];
    const tooLarge: Pending[] = [];
    for (const pending of batch) {
      let line: string;
      try {
        line = encodeSpoolLine(pending.row, this.options.spoolKeys?.signing);
      } catch (error) {
        this.refuse(pending, error);
        continue;
      }
      const bytes = spoolLineBytes(line);
      if (bytes > spool.maxBytes) {
        tooLarge.push(pending);
        continue;
      }
      let chunk = chunks[chunks.length - 1];
      if (chunk === undefined || chunk.bytes + bytes > spool.maxBytes) chunks.push((chunk = { lines: [], pending: [], bytes: 0 }));
      chunk.lines.push(line);
      chunk.pending.push(pending);
      chunk.bytes += bytes;
    }
    const unannounced = tooLarge.filter((p) => !this.tooLargeAnnounced.has(p));
    for (const p of unannounced) this.tooLargeAnnounced.add(p);
    if (unannounced.length > 0) {
      this.options.logger.warn(
        `audit-events: ${unannounced.length} event(s) are larger than the spool ${spool.name} (maxBytes ${spool.maxBytes}); they stay in memory, and their createEvent waits, until the store takes them. Raise maxBytes to spool them.`,
      );
    }
    for (let i = 0; i < chunks.length; i++) {
      const chunk = chunks[i]!;
      try {
        await this.makeRoom(spool, chunk.bytes);
        await spool.append(chunk.lines);
      } catch (error) {
        if (error instanceof AuditError && error.code === "ERR_AUDIT_SPOOL_FULL") {
          recordMetricError(error);
          for (const p of chunk.pending) p.settle?.reject(error);
          continue;
        }
        if (!(error instanceof ClosingWhileBlocked)) {
          this.noteFailure(error, `the spool ${spool.name} failed`);
          this.spoolOpen = undefined;
          this.spoolRetryAt = 0;
        }
        return [...chunks.slice(i).flatMap((c) => c.pending), ...tooLarge];
      }
      countMetric("spooled", chunk.pending.length);
      for (const p of chunk.pending) p.settle?.resolve();
    }
    return tooLarge;
  }

  /** Applies `onSpoolFull` until `bytes` more fit in the spool. */
  private async makeRoom(spool: AuditSpool, bytes: number): Promise<void> {
    let waited = 0;
    while (spool.usedBytes() + bytes > spool.maxBytes) {
      const excess = spool.usedBytes() + bytes - spool.maxBytes;
      switch (this.options.onSpoolFull) {
        case "throw":
          throw new AuditError("ERR_AUDIT_SPOOL_FULL", `The spool ${spool.name} is full (maxBytes ${spool.maxBytes}) and the store does not answer; the event was not recorded.`);
        case "drop-oldest": {
          const dropped = await dropOldest(spool, excess);
          if (dropped === 0) throw new Error(`spool ${spool.name} reports ${spool.usedBytes()} bytes used but holds no line to drop`);
          countMetric("dropped", dropped);
          this.options.logger.warn(`audit-events: spool ${spool.name} is full; dropped its ${dropped} oldest event(s).`);
          break;
        }
        case "block":
          if (this.closing !== undefined) throw new ClosingWhileBlocked();
          if ((await this.replayOnce()) !== "moved") {
            if (waited === 0) this.options.logger.warn(`audit-events: spool ${spool.name} is full; createEvent waits until the store answers.`);
            waited++;
            await sleep(Math.min(LONGEST_RETRY_MS / 10, FIRST_RETRY_MS * 2 ** Math.min(waited, 20)));
          }
          break;
      }
    }
  }

  /** Replays one batch from the head of the spool. */
  private async replayOnce(): Promise<"moved" | "empty" | "failed"> {
    const spool = this.options.spool!;
    let batch;
    const pending: Pending[] = [];
    const unauthentic: { line: string; problem: string }[] = [];
    let corrupt = 0;
    try {
      batch = await spool.peek(this.options.maxBatchSize);
      if (batch.lines.length === 0) return "empty";
      for (const line of batch.lines) {
        const decoded = decodeSpoolLine(line, this.options.spoolKeys);
        // A crash between a replayed write and the spool's acknowledgement leaves it stored already.
        if ("row" in decoded) pending.push({ row: decoded.row, at: 0, maybeStored: true });
        else if (decoded.unauthentic) unauthentic.push({ line, problem: decoded.problem });
        else {
          corrupt++;
          this.options.logger.warn(`audit-events: spool ${spool.name}: skipped a bad line (${decoded.problem}): ${JSON.stringify(line.slice(0, 80))}`);
        }
      }
    } catch (error) {
      this.noteFailure(error, `reading spool ${spool.name} failed`);
      return "failed";
    }
    let written: number;
    try {
      written = await this.writeIsolating(pending);
    } catch (error) {
      this.storeDown = true;
      this.noteFailure(error, `replaying spool ${spool.name} into ${this.options.store.name} failed`);
      return "failed";
    }
    try {
      // Aside before the batch is acknowledged, so a refused line is never lost.
      if (unauthentic.length > 0) await spool.setAside?.(unauthentic.map((u) => u.line));
      await spool.ack(batch);
    } catch (error) {
      this.noteFailure(error, `the spool ${spool.name} failed`);
      return "failed";
    }
    this.noteSuccess();
    countMetric("replayed", written);
    this.options.logger.debug?.(`audit-events: replayed ${written} spooled event(s) from ${spool.name} into ${this.options.store.name}.`);
    countMetric("dropped", corrupt);
    this.reportUnauthentic(spool, unauthentic);
    return "moved";
  }

  /**
   * Reports spool lines refused for a wrong or missing MAC: never replayed as genuine,
   * never dropped silently. Each is logged whole at error level and counted in
   * `rejected`; the spool keeps it aside when it can (`<path>.refused`, `<key>:refused`).
   */
  private reportUnauthentic(spool: AuditSpool, lines: readonly { line: string; problem: string }[]): void {
    if (lines.length === 0) return;
    const { logger } = this.options;
    const kept = spool.setAside === undefined ? "It is not replayed" : `It is not replayed; it is kept in ${spool.asideName ?? "the spool's refused lines"}`;
    for (const { line, problem } of lines) {
      const error = new AuditError(
        "ERR_AUDIT_SPOOL_FORGED",
        `audit-events: spool ${spool.name}: refused a line at replay: ${problem}. ${kept}. ` +
          "If it is genuine (written before integrity.key was configured, or under a key since removed), replay it from a process configured with the key it was written under, or without integrity; see the README, \"Spool lines and the integrity key\". The line, whole: " +
          line,
      );
      recordMetricError(error);
      (logger.error ?? logger.warn).call(logger, error.message);
    }
    countMetric("rejected", lines.length);
  }
}
