import type { SpoolFullPolicy } from "../config/options";
import { AuditError, AuditStoreError } from "../errors";
import type { AuditStore, EventRow } from "../stores/store";
import { countMetric, recordMetricError } from "./metrics";
import { dropOldest, spoolLineBytes, SpoolLinesLost, type AuditLogger, type AuditSpool } from "./spool";
import { SpoolCopies } from "./spool-copies";
import { decodeSpoolLine, encodeSpoolLine } from "./spool-line";
import { oncePerLine, SpoolTail, type Pending } from "./spool-tail";
import { normalizeJson } from "../serialize";
import { isStandIn, standInFor, standInForLine } from "./refused-event";
import { isRefusedData } from "../stores/store-failure";
import type { Checkpointer } from "../integrity/checkpointer";
import type { HashChain } from "../integrity/hash-chain";
import type { IntegrityKeyRing } from "../integrity/integrity-keys";
import type { IntegrityStore } from "../integrity/integrity-store";
import { committedNothing } from "./chained-writes";
import { writeInSlices } from "./sliced-write";
import { WRITE_LIMIT_REGROWS_AFTER_MS, WriteSizeLimit } from "./write-size-limit";
import { nextTurn } from "../event-loop-turn";
import { queuedRow } from "./queued-row";
import { rowBytesAtMost } from "./row-bytes";
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
  /**
   * The most bytes one write to the store holds (one transaction, or one COPY), as
   * {@link pendingBytes} counts them; an event larger than this goes alone.
   *
   * @default WRITE_SLICE_BYTES (32 MiB)
   */
  maxWriteBytes?: number;
}

/** The first retry after a failure waits this long; each further one twice as long... */
const FIRST_RETRY_MS = 100;
/** ... up to this. */
const LONGEST_RETRY_MS = 30_000;
/** After a failed spool append, the spool is tried again after this long (doubling, up to 5 s). */
const SPOOL_RETRY_MS = 100;
/**
 * The most rounds one `flush()` (and one `close()`) makes that fail on the spool while the
 * store answers (the spool lost lines, or its head was not the lines read), each followed
 * at once by another that reads the spool again; see {@link BufferedWriter.flush}.
 */
const SPOOL_FAILED_ROUNDS = 5;

/**
 * With a spool, the store is written at most this many rows at a time: a batch of
 * `maxBatchSize` goes as consecutive writes of this size, in order, and its lines are
 * acknowledged once all are stored; lines read back from the spool are read, decoded,
 * written and acknowledged this many at a time. A store builds each write's statement (or COPY text)
 * synchronously; building 1 000 rows at once stalled the event loop, and with it every
 * acknowledgement, for 9-59 ms on a loaded machine; 200 rows, for 1.6-16.5 ms
 * (`npm run bench:durable-ack`, longest synchronous store write).
 */
const FEED_SLICE_ROWS = 200;

/**
 * The store is written at most this many bytes at a time (as {@link pendingBytes} counts
 * them), in every mode: a batch of large events goes as consecutive writes, each of them
 * one transaction (or COPY) of a size that does not grow with the events'. A batch of
 * 1 000 events whose JSON columns hold up to 1 MiB each comes near gigabytes: as one
 * transaction it outlasted the store's 60 s transaction limit on a slow database, and the
 * same batch, retried, failed the same way forever.
 */
const WRITE_SLICE_BYTES = 32 * 1024 * 1024;

/**
 * What an event weighs in a write, in bytes, at most: twice its spool line's size when it
 * has one (its JSON, measured when it was appended), else {@link rowBytesAtMost}, an upper
 * bound counted without stringifying it. A store may send up to twice the line: COPY
 * (pgPool) doubles each backslash of a JSON column's text (a line's `\\` goes as `\\\\`,
 * its `\"` as `\\"`), and a byte column goes as hex where the line holds base64. The
 * line's own size covers the hash chain's fields (null in it, set when linked).
 */
function pendingBytes(pending: Pending): number {
  return pending.bytes === undefined ? rowBytesAtMost(pending.row) : 2 * pending.bytes;
}

/**
 * What `enqueue` returns for an event accepted into memory (no spool): already settled,
 * one promise for all, so a caller may tell it apart and chain nothing on it.
 */
export const ACCEPTED: Promise<void> = Promise.resolve();

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The longest delay `setTimeout` keeps (2^31 - 1 ms, about 24.8 days): a longer one fires
 * after 1 ms, so a `flushIntervalMs` beyond it made the writer's timer fire, find nothing
 * due and start again, about 800 times a second. A longer wait goes as timers of this length.
 */
const LONGEST_TIMER_MS = 2 ** 31 - 1;

/** Whether `error` is a spool's report that it lost lines it had acknowledged. */
function isSpoolLost(error: unknown): boolean {
  return error instanceof AuditError && error.code === "ERR_AUDIT_SPOOL_LOST";
}

/** Events of a group that go to the spool in one append, in order, and their lines (those that have one). */
interface Chunk {
  lines: string[];
  entries: Pending[];
  /** The lines' size in the spool. */
  bytes: number;
}

/** Thrown inside the writer when a blocked spool append must give way to `close()`. */
class ClosingWhileBlocked extends Error {}

/**
 * The buffered write path. Without a spool, events wait in memory and are written in
 * batches, every `flushIntervalMs` or `maxBatchSize` events, through the store's
 * fastest bulk insert; `enqueue` resolves at once.
 *
 * With a spool, the spool is a write-ahead log: every event is appended to it first,
 * with group commit (one append, `fdatasync`ed for a file, at a time; events arriving
 * meanwhile go together in the next, up to `maxBatchSize`; no timer delays it), and
 * `enqueue` resolves once its append did. The store is fed from the spool's head, in
 * spool order: lines an earlier process left first. The store is fed as soon as the spool
 * holds anything, one write at a time, each taking what was appended while the one
 * before it ran (see {@link fullBatch}): a `fileSpool`'s lines are read back from it, at
 * most {@link FEED_SLICE_ROWS} at a time (see {@link keepsLinesBeside}); a `redisSpool`'s
 * own lines are kept in memory beside it (at most `maxBufferedEvents` of them) and
 * written from there, up to `maxBatchSize` at a time, except through a store failure: then
 * the spool alone keeps them (memory does not grow with an outage), and they are read
 * back, and counted as `replayed`, once the store answers. A batch's lines are
 * acknowledged (removed) once the store holds them. A spool whose storage can
 * lose lines from outside (`mayLoseLines`: `redisSpool`) is the exception: the writer
 * keeps a copy of each line's text until the store holds its event (through an outage
 * too: at most about the spool's `maxBytes`), and appends again those the spool lost. While the spool cannot be
 * opened or its appends fail, events go to the store directly, as without a spool, and
 * `enqueue` resolves once the store holds them.
 *
 * When the store is down, it is retried with exponential backoff. Rows the store
 * refuses for what they hold are isolated, logged whole, counted as rejected and
 * replaced by a stand-in event that names them, so one bad row never blocks the others
 * and never leaves the trail silently. Memory is bounded: beyond `maxBufferedEvents`
 * events not yet durable, `enqueue` waits.
 */
export class BufferedWriter {
  /** Events too large for the spool that were reported already, so each is reported once. */
  private readonly tooLargeAnnounced = new WeakSet<Pending>();
  /** Events not durable yet: waiting for the next spool append, or (without a usable spool) for the store. */
  private queue: Pending[] = [];
  /** Stand-ins of events the store refused, stored before their batch's lines are acknowledged. */
  private standIns: Pending[] = [];
  /** Events of the batch being written to the store directly. */
  private inFlight = 0;
  /** Events taken by {@link accept} so far, so `close()` sees one that came while it flushed. */
  private taken = 0;
  /** Events of the spool append in progress. */
  private committingCount = 0;
  /** A spool append is between its call and the writer's note of its lines. */
  private appending = false;
  /** The tail must be forgotten once the append in progress is noted (see {@link forgetTail}). */
  private forgetPending = false;
  /** The group commit running now, if any. */
  private committing: Promise<void> | undefined;
  /** What the spool holds, as the write-ahead log, and the writer's own lines beside it. */
  private readonly tail: SpoolTail;
  /**
   * With a spool that may lose lines ({@link AuditSpool.mayLoseLines}): a copy of every
   * line appended whose event the store does not hold yet, whatever the tail forgets.
   */
  private readonly copies: SpoolCopies | undefined;
  /** Losses of lines the spool reported so far: an append on its way across one may have run before it. */
  private losses = 0;
  /** Head operations (feeding the store, dropping the oldest lines) one at a time. */
  private headLock: Promise<unknown> = Promise.resolve();
  /** Batches moved to the store so far, so `flush()` sees whether a round moved any. */
  private moved = 0;
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
  /** The spool is open (the last `open()` succeeded). */
  private spoolReady = false;
  private spoolRetryAt = 0;
  /** Consecutive failed appends; until `spoolDownUntil`, events go to the store directly. */
  private spoolFailures = 0;
  private spoolDownUntil = 0;
  private closing: Promise<void> | undefined;
  private closed = false;
  /** Settles when the writer this one replaces has let go of the spool. */
  private readonly previousGone: Promise<unknown>;
  /** With `integrity`: the chain the next batch continues; a new one after a write of unknown outcome. */
  private chain: HashChain | undefined;
  /** With `integrity`: the chained write under way (see {@link writeChained}); settled when none is. */
  private chainWrite: Promise<unknown> = Promise.resolve();
  /** The most bytes one store write holds: {@link WRITE_SLICE_BYTES} (`maxWriteBytes`), less after writes ran out of time. */
  private readonly writeLimit: WriteSizeLimit;

  constructor(private readonly options: BufferedWriterOptions) {
    this.tail = new SpoolTail(options.maxBufferedEvents);
    this.writeLimit = new WriteSizeLimit(options.maxWriteBytes ?? WRITE_SLICE_BYTES);
    this.copies = options.spool?.mayLoseLines === true ? new SpoolCopies() : undefined;
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

  /** Events in memory that are not durable yet (neither in the spool nor in the store). */
  buffered(): number {
    return this.queue.length + this.inFlight + this.committingCount + this.tail.memoryOnly;
  }

  /** Events in the spool now, not yet in the store. */
  spooled(): number {
    return this.options.spool?.count() ?? 0;
  }

  /**
   * Takes an event. Without a spool it resolves once the event is in memory; with
   * one, once the spool's append of it returned (write-ahead, group commit), or,
   * while the spool cannot take it, once the store holds it. Waits while memory is full.
   * What is written (and, with `integrity`, hashed) is `given` as it is now: a copy
   * ({@link queuedRow}), which no later change to `given` or to what it holds reaches.
   */
  enqueue(given: EventRow): Promise<void> {
    if (this.closed) return this.refuseClosed();
    return this.accept(queuedRow(given));
  }

  private refuseClosed(): Promise<void> {
    return Promise.reject(
      new AuditError("ERR_AUDIT_CLOSED", "The audit writer this event reached was closed (closeAudit(), or configureAudit() replaced it); create the event again."),
    );
  }

  /** Queues `row`, the writer's own copy (see {@link enqueue}). */
  private accept(row: EventRow): Promise<void> {
    if (this.closed) return this.refuseClosed();
    if (this.buffered() >= this.options.maxBufferedEvents) return this.enqueueWhenRoom(row);
    this.taken++;
    if (this.options.spool === undefined) {
      const at = performance.now();
      this.queue.push({ row, at });
      this.schedule(undefined, at);
      return ACCEPTED;
    }
    // Its line now, while the append in progress runs, rather than in its group's commit,
    // where encoding the whole group delays every event of it. While the spool cannot
    // take events, they go to the store: no line is made.
    let encoded: string | undefined;
    if (this.spoolUsable()) {
      try {
        encoded = encodeSpoolLine(row, this.options.spoolKeys?.signing);
      } catch {
        // The group commit encodes it again, and refuses it with the reason.
      }
    }
    return new Promise<void>((resolve, reject) => {
      // Every field it takes on its way through the spool, now: no property added later.
      this.queue.push({ row, at: performance.now(), settle: { resolve, reject }, encoded, line: undefined, bytes: undefined, maybeStored: undefined });
      this.kick();
    });
  }

  /** Back-pressure: waits, in order of arrival, until the writer has room for `row`. */
  private async enqueueWhenRoom(row: EventRow): Promise<void> {
    while (this.buffered() >= this.options.maxBufferedEvents && !this.closed) {
      await new Promise<void>((resolve) => this.spaceWaiters.push(resolve));
    }
    return this.accept(row);
  }

  /**
   * Appends what waits to the spool, and writes what the spool holds (and what is in
   * memory) to the store, now. A round that fails on the spool while the store answers
   * (the spool lost lines, whose copies are appended again; its head was not the lines
   * read) is followed at once by another, which reads the spool again (and, while the
   * spool takes no append after one failed, writes what waits in memory to the store
   * directly), up to {@link SPOOL_FAILED_ROUNDS} (5) of them; after those it resolves, unless lines were
   * lost meanwhile (see below): what the spool holds then waits there for the next flush.
   *
   * @throws {AuditStoreError} when events are left in memory because neither the
   * store nor a spool could take them; they are retried in the background. With code
   * `ERR_AUDIT_SPOOL_LOST` when, after those rounds, the spool lost lines during the call
   * and events acknowledged to their callers are not stored yet: the process holds copies of them
   * in memory only for as long as the spool keeps losing them (appended again and
   * retried in the background; lost if the process exits).
   */
  async flush(): Promise<void> {
    await this.ensureSpool();
    this.retryAt = 0;
    const lossesBefore = this.losses;
    let failedRounds = 0;
    for (;;) {
      await this.drainCommits();
      const moved = this.moved;
      const losses = this.losses;
      const done = await this.pump(true);
      if (!done) {
        // The spool lost lines, found on the way (what it lost waits to be appended again), or
        // the store answers and the spool failed (its head was not the lines read): read it again, now.
        // Also while the spool takes no append (one failed just now): the next round writes
        // what waits in memory, the copies of lost lines too, to the store directly.
        if (this.losses !== losses || !this.storeDown) {
          if (++failedRounds < SPOOL_FAILED_ROUNDS) continue;
          if (this.losses !== lossesBefore && (this.copies?.size ?? 0) > 0) throw this.keepsLosing(failedRounds);
        }
        break;
      }
      // Nothing moved although something waits: the spool holds less than it counted.
      if (this.queue.length === 0 && this.committing === undefined && (this.storeDown || this.toFeed() === 0 || this.moved === moved)) return;
    }
    const left = this.buffered();
    if (left > 0) {
      throw new AuditStoreError(
        `${left} audit event(s) are still in memory (${this.lastFailure}); they are retried in the background. Configure a spool (fileSpool or redisSpool) to keep them across a restart.`,
      );
    }
  }

  /**
   * Flushes, stops the timers and releases the spool. When events are left in
   * memory it rejects and keeps running (and retrying), so a later call can
   * still write them.
   *
   * @throws {AuditStoreError} naming how many events would be lost by exiting now; with
   * code `ERR_AUDIT_SPOOL_LOST` when the spool kept losing their lines (see {@link flush}),
   * which it also does when each of {@link SPOOL_FAILED_ROUNDS} reads before letting the
   * spool go finds lines lost again.
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
      let taken: number;
      do {
        taken = this.taken;
        await this.flush();
        for (let rounds = 1; await this.copiesLost(); rounds++) {
          // The spool lost lines again since the last flush, each time: as flush() does, give up.
          if (rounds >= SPOOL_FAILED_ROUNDS) throw this.keepsLosing(rounds);
          await this.flush();
        }
        // An event taken after the flush ended (enqueue is open until `closed` is set) would
        // be left in memory with no timer to write it: another round writes it. The check
        // and `closed` below are one synchronous step, so none comes in between. (Copies of
        // lines the spool lost are bounded by the rounds above, not counted here.)
      } while (this.taken !== taken);
    } catch (error) {
      throw new AuditStoreError(
        `closeAudit(): ${Math.max(this.buffered(), this.copies?.size ?? 0)} audit event(s) could not be written (${this.lastFailure}) and are lost if the process exits now. They are retried in the background; call closeAudit() again, or configure a spool to keep them across a restart.`,
        { cause: error, code: isSpoolLost(error) ? "ERR_AUDIT_SPOOL_LOST" : undefined },
      );
    }
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
    await this.committing;
    if (this.chain !== undefined) this.options.checkpointer?.end(this.chain);
    this.releaseSpace(Infinity);
    if (this.spoolOpen !== undefined && (await this.spoolOpen)) await this.options.spool!.close();
  }

  /**
   * What `flush()` and `close()` throw when the spool kept losing lines through `rounds`
   * rounds while acknowledged events are not stored yet (see {@link flush}).
   */
  private keepsLosing(rounds: number): AuditStoreError {
    const spool = this.options.spool!;
    return new AuditStoreError(
      `The spool ${spool.name} kept losing lines (ERR_AUDIT_SPOOL_LOST, logged at error level) through ${rounds} rounds: ${this.copies?.size ?? 0} acknowledged audit event(s) are not stored yet, and this process holds the only sure copy of those the spool lost, in memory. They are appended again and retried in the background, and lost if the process exits now. Keep other clients off the spool's keys, and run its Redis with maxmemory-policy noeviction.`,
      { code: "ERR_AUDIT_SPOOL_LOST" },
    );
  }

  /**
   * Before a spool that may lose lines is let go while the writer holds copies (their
   * events are not stored: the store is down), a read asks it whether it still holds
   * them; no operation may have met a loss since (a head trimmed while only the store was
   * tried). True when it lost some, which wait to be appended again; throws when it cannot
   * tell, since its copies would then be lost by exiting.
   */
  private async copiesLost(): Promise<boolean> {
    const copies = this.copies;
    if (copies === undefined || copies.size === 0) return false;
    const spool = this.options.spool!;
    const losses = this.losses;
    await this.withHead(async () => {
      try {
        await spool.peek(1);
      } catch (error) {
        this.noteFailure(error, `reading spool ${spool.name} failed`);
        if (!isSpoolLost(error)) {
          throw new AuditStoreError(`${copies.size} acknowledged audit event(s) are not stored yet, and the spool ${spool.name} cannot say whether it still holds them (${thrownMessage(error)}).`, { cause: error });
        }
        await this.appendLostAgain(error);
      }
    });
    return this.losses !== losses;
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
      () => {
        // Whatever it holds now is read back from it before the writer's own lines.
        if (!this.spoolReady) {
          this.tail.forgetLines(spool.count());
          this.copies?.leftByEarlier(spool.count());
        }
        this.spoolReady = true;
        return true;
      },
      (error: unknown) => {
        this.spoolRetryAt = performance.now() + LONGEST_RETRY_MS / 6;
        recordMetricError(error);
        logger.warn(`audit-events: could not open spool ${spool.name}: ${thrownMessage(error)}; writing to the store directly, and trying the spool again in 5 s.`);
        return false;
      },
    );
    return this.spoolOpen;
  }

  /** Whether new events go to the spool first: it is open and its last append did not fail just now. */
  private spoolUsable(): boolean {
    return this.spoolReady && performance.now() >= this.spoolDownUntil;
  }

  /**
   * Whether the writer keeps its own spooled events in memory beside their lines, to feed
   * the store without reading the spool back: only for a spool that may lose lines
   * ({@link AuditSpool.mayLoseLines}: `redisSpool`), whose lines it copies anyway and
   * whose reads wait in line with its appends. A `fileSpool`'s lines are read back: events
   * held until the store had them (up to `flushIntervalMs`) survived the garbage
   * collector's young-generation passes, which promoted about 5 MB each in 10-17 ms pauses
   * at 5 000 events/s, the p99 of the acknowledgement (`npm run bench:durable-ack`: p99
   * 10.2 ms, 6.9 ms read back, on a quiet machine). Reading a Redis list back instead
   * took its p99 from 12.4 ms to 22.3 ms, its reads holding up its appends.
   */
  private keepsLinesBeside(): boolean {
    return this.copies !== undefined;
  }

  /** What the feeder must still move to the store: lines of the spool and events in memory beside it. */
  private toFeed(): number {
    return this.tail.unmirrored + this.tail.length;
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

  /**
   * Whether the process must stay up for what the writer holds: events only in memory,
   * or spooled ones while the store answers (so a script's events reach the store
   * before it exits). Spooled events during an outage are safe: the next process replays them.
   */
  private holdsProcess(): boolean {
    return this.queue.length > 0 || this.tail.memoryOnly > 0 || (this.toFeed() > 0 && !this.storeDown);
  }

  /**
   * Starts a flush after `delay` ms (default: now if a batch is full, else when the
   * oldest event's interval ends). Feeds the store; never delays an acknowledgement.
   * `now` is the clock's reading, taken once (by the caller, when it has one): this runs
   * for every event queued.
   */
  private schedule(delay?: number, now = performance.now()): void {
    if (this.closed) return;
    const direct = this.spoolUsable() ? 0 : this.queue.length;
    const waiting = this.toFeed() + direct;
    const oldest = Math.min(this.tail.oldestAt() ?? Infinity, direct > 0 ? this.queue[0]!.at : Infinity, now);
    const full = waiting >= this.fullBatch();
    // Events a spool could not take go to the store at once (run writes them as partial
    // batches too): their callers wait for it, not for the interval.
    const callersWait = direct > 0 && this.options.spool !== undefined;
    const wait = Math.min(LONGEST_TIMER_MS, delay ?? (full ? 0 : callersWait ? 1 : Math.max(1, oldest + this.options.flushIntervalMs - now)));
    const due = now + wait;
    if (this.timer !== undefined) {
      // Keep an earlier timer; and a failing store keeps its backoff.
      const keep = this.timerDue <= due || (delay === undefined && this.storeDown);
      if (keep) {
        if (this.holdsProcess()) this.timer.ref();
        return;
      }
      clearTimeout(this.timer);
    }
    this.timerDue = due;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.pump(false);
    }, wait);
    if (!this.holdsProcess()) this.timer.unref();
  }

  /** After a failure: try again once the backoff has passed. */
  private retryLater(): void {
    const wait = this.backoff();
    this.retryAt = performance.now() + wait;
    this.schedule(wait);
  }

  /**
   * Whether what was taken at `at` (`performance.now()`) has waited `flushIntervalMs`, so
   * a partial batch of it goes to the store (within 1 ms: a timer may fire that much
   * early). Until then only full batches go: feeding each new event as it came would
   * make every batch a few events, each its own transaction and spool acknowledgement.
   */
  private isDue(at: number | undefined): boolean {
    return at !== undefined && at + this.options.flushIntervalMs <= performance.now() + 1;
  }

  /**
   * How many events waiting make a batch that goes to the store before the interval ends:
   * `maxBatchSize`; with a spool, one. The spool answers the callers, and the store is fed
   * from it steadily, one write at a time, each taking what came while the one before ran:
   * at 5 000 events/s, writes of about 15 events kept a `fileSpool`'s acknowledgement p99
   * at 7-12 ms (`npm run bench:durable-ack`, PostgreSQL up, quiet machine), where waiting
   * for 200 events (a third less CPU) gave 14-16 ms in the same runs and for 1 000, 15-22
   * ms: the bigger writes' bursts held up appends.
   */
  private fullBatch(): number {
    return this.options.spool === undefined ? this.options.maxBatchSize : 1;
  }

  /** Whether the store may be tried now: it answered last time, or its backoff has passed. */
  private mayTryStore(): boolean {
    return !this.storeDown || performance.now() >= this.retryAt;
  }

  /**
   * Starts the group commit unless it runs: it appends what waits to the spool, one
   * append at a time, until nothing waits. Without a usable spool, a flush writes it.
   */
  private kick(): void {
    if (this.options.spool === undefined || this.closed) {
      this.schedule();
      return;
    }
    this.committing ??= this.commitAll()
      .catch((error: unknown) => {
        this.noteFailure(error, "the audit writer failed unexpectedly");
        return false;
      })
      .then((emptied) => {
        this.committing = undefined;
        if (this.queue.length === 0) return;
        // Events queued after the loop last found the queue empty: their callers wait for
        // an append, not for the flush timer.
        if (emptied) this.kick();
        else this.schedule();
      });
  }

  /** The group commit's loop (see {@link kick}); true when it ended because nothing waited. */
  private async commitAll(): Promise<boolean> {
    while (this.queue.length > 0) {
      if (!((await this.ensureSpool()) && this.spoolUsable() && !this.closed)) return false;
      if (!(await this.commitGroup())) return false;
    }
    return true;
  }

  /** Appends what waits (up to `maxBatchSize` events) to the spool; false when the spool cannot take it now. */
  private async commitGroup(): Promise<boolean> {
    const spool = this.options.spool!;
    const group = this.queue.splice(0, this.options.maxBatchSize);
    this.committingCount = group.length;
    let kept: Pending[];
    try {
      kept = await this.toSpool(group, spool);
    } catch (error) {
      kept = group;
      this.noteFailure(error, "the audit writer failed unexpectedly");
    } finally {
      this.committingCount = 0;
    }
    if (kept.length > 0) this.queue = kept.concat(this.queue);
    this.releaseSpace(group.length - kept.length);
    this.schedule();
    return kept.length === 0;
  }

  /** Waits until what waits now is in the spool, or the spool cannot take it. */
  private async drainCommits(): Promise<void> {
    if (this.queue.length > 0 && this.spoolUsable()) this.kick();
    await this.committing;
  }

  /** Runs `work` once the head operations before it are done. */
  private withHead<T>(work: () => Promise<T>): Promise<T> {
    const next = this.headLock.then(work, work);
    this.headLock = next.catch(() => undefined);
    return next;
  }

  /**
   * Runs one flush at a time; resolves true when it got through without a
   * failure. Unless `all`, only full batches (see {@link fullBatch}) and those whose
   * oldest has waited the interval (see {@link isDue}) are written, and the rest waits.
   * A flush that joins a run of what is due runs again while anything waits (see {@link flush}).
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
        if ((this.queue.length > 0 || this.toFeed() > 0) && this.timer === undefined) this.schedule();
      });
    return this.running;
  }

  private async run(all: boolean): Promise<boolean> {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (;;) {
      // Events queued while the spool could not take them go to it again once it can (its
      // retry time may pass during the loop): their callers wait for that append, not for a
      // timer, nor for the store (down, it may never take them before a crash). A spool not
      // opened yet is tried again here too (after its retry time): no new event may come to try it.
      if (this.options.spool !== undefined && this.queue.length > 0 && (this.spoolReady || (await this.ensureSpool())) && this.spoolUsable()) this.kick();
      let progressed = false;
      if (this.copies !== undefined && this.copies.size > 0 && this.toFeed() === 0 && this.queue.length === 0 && this.committing === undefined) {
        // Nothing left to feed, yet copies are held: their lines are not in the spool, which
        // lost them without saying so (a spool of one's own that reads its counters again
        // without reporting what they lack). Only appending them again lets the feeder reach them.
        this.queue.push(...(await this.copiesAgain(this.copies.lines())));
        this.kick();
      }
      // Events a spool could not take go to the store at once: their callers wait for it.
      // So do events that waited through a failed write (a retry, or a flush that failed
      // and left them to be retried in the background), as soon as the store may be tried.
      const directDue = all || this.options.spool !== undefined || this.storeDown || this.isDue(this.queue[0]?.at);
      // A failing store is tried again once its backoff has passed, whatever timer came first.
      if (!this.spoolUsable() && this.mayTryStore() && this.queue.length >= (directDue ? 1 : this.options.maxBatchSize)) {
        const batch = this.queue.splice(0, this.options.maxBatchSize);
        this.inFlight = batch.length;
        let stored = false;
        try {
          stored = await this.toStore(batch);
        } catch (error) {
          this.noteFailure(error, "the audit writer failed unexpectedly");
        } finally {
          this.inFlight = 0;
        }
        if (!stored) {
          this.queue = batch.concat(this.queue);
          this.retryLater();
          return false;
        }
        this.releaseSpace(batch.length);
        this.moved++;
        progressed = true;
      }
      if (this.toFeed() > 0 && this.mayTryStore()) {
        const fed = await this.withHead(() => this.feedOnce());
        if (fed === "failed") {
          this.retryLater();
          return false;
        }
        if (fed === "moved") progressed = true;
      }
      if (!progressed) {
        // The backoff has not passed: the store is tried at its end. The retry's own timer may
        // have given way to an earlier one (a commit that ended during the failing write),
        // which started this run: without this, nothing would wake the writer again.
        const waiting = this.toFeed() > 0 || (!this.spoolUsable() && this.queue.length > 0);
        if (waiting && !this.mayTryStore()) this.schedule(Math.max(1, this.retryAt - performance.now()));
        return !this.storeDown || this.toFeed() === 0;
      }
    }
  }

  /** Wakes up to `count` callers waiting for room, oldest first. */
  private releaseSpace(count: number): void {
    if (count <= 0) return;
    const woken = this.spaceWaiters.splice(0, count);
    for (const wake of woken) wake();
  }

  /** Writes a batch; false when the store is down (nothing of it was settled). */
  private async toStore(batch: Pending[]): Promise<boolean> {
    const { debug } = this.options.logger;
    const started = debug === undefined ? 0 : performance.now();
    let written: number;
    try {
      written = (await this.writeFed(batch)) + (await this.writeStandIns());
    } catch (error) {
      for (const p of batch) p.maybeStored = true;
      this.standIns = [];
      this.storeDown = true;
      this.noteFailure(error, `the store ${this.options.store.name} failed`);
      return false;
    }
    this.copies?.release(SpoolTail.batchOf(batch).lines);
    countMetric("written", written);
    if (debug !== undefined) {
      debug.call(this.options.logger, `audit-events: flushed ${written} buffered event(s) to ${this.options.store.name} in ${(performance.now() - started).toFixed(1)} ms.`);
    }
    this.noteSuccess();
    return true;
  }

  /**
   * Moves one batch from the spool's head to the store (call it under {@link withHead}):
   * lines read back (an earlier process's, a `fileSpool`'s own, those left through a
   * failure) first, {@link FEED_SLICE_ROWS} at a time, then the writer's own kept in
   * memory, up to `maxBatchSize`. Their lines are acknowledged once the store holds them.
   */
  private async feedOnce(): Promise<"moved" | "empty" | "failed"> {
    const spool = this.options.spool!;
    // The tail is being forgotten after a spool failure: wait for it.
    if (this.forgetPending) return "failed";
    // After a failure, one event probes the store: an outage then costs no batch read back and decoded per retry.
    const max = this.storeDown ? 1 : this.options.maxBatchSize;
    // Read back, written and acknowledged a slice at a time: a batch of decoded rows held
    // through its writes outlived the garbage collector's young-generation passes.
    if (this.tail.unmirrored > 0) return this.replayOnce(Math.min(max, FEED_SLICE_ROWS, this.tail.unmirrored));
    if (this.tail.length === 0) return "empty";
    const batch = this.tail.head(max);
    if (!(await this.toStore(batch))) {
      this.tail.unmirror();
      return "failed";
    }
    const lines = SpoolTail.batchOf(batch);
    const memoryOnly = batch.length - lines.lines.length;
    try {
      if (lines.lines.length > 0) await spool.ack(lines, lines.lines.length);
    } catch (error) {
      // The store has the batch; the spool may still hold its lines: they are read back
      // (the store skips ids it holds). Its events held in memory only are done.
      this.noteFailure(error, `the spool ${spool.name} failed`);
      if (isSpoolLost(error)) {
        this.tail.remove(batch.length);
        await this.appendLostAgain(error);
      } else {
        this.forgetTail();
        this.tail.remove(memoryOnly);
      }
      this.releaseSpace(memoryOnly);
      return "failed";
    }
    this.tail.remove(batch.length);
    this.releaseSpace(memoryOnly);
    this.moved++;
    return "moved";
  }

  /**
   * The spool lost lines (`ERR_AUDIT_SPOOL_LOST`, reported by the spool), found by a read
   * or an acknowledgement: what {@link lostLines} returns goes back to the queue, first,
   * to be appended again.
   */
  private async appendLostAgain(error: unknown): Promise<void> {
    this.queue.unshift(...(await this.lostLines(error)));
    this.kick();
  }

  /**
   * The spool lost lines (`ERR_AUDIT_SPOOL_LOST`, reported by the spool), found by an
   * append, a read or an acknowledgement: returns the events to append again, first (the
   * store skips ids it holds already), and forgets the writer's picture of the spool
   * (what it holds now is read back). With copies ({@link AuditSpool.mayLoseLines}),
   * those are every event appended that the store does not hold yet, however many times
   * and whenever the spool lost them; the lines lost that had no copy (an earlier
   * process left them) are counted in `dropped` and logged. Without, they are the
   * events the tail held beside their lines.
   */
  private async lostLines(error: unknown): Promise<Pending[]> {
    this.losses++;
    const mirrored = this.tail.takeLines();
    this.forgetTail();
    if (this.copies === undefined) {
      for (const p of mirrored) p.maybeStored = true;
      this.reportLossWithoutCopies(error, mirrored.length);
      return mirrored;
    }
    const gone = this.copies.lostAtHead(error instanceof SpoolLinesLost ? error.count : Infinity);
    if (gone > 0) {
      countMetric("dropped", gone);
      const { logger } = this.options;
      (logger.error ?? logger.warn).call(
        logger,
        `audit-events: spool ${this.options.spool!.name} lost ${gone} event(s) an earlier process had left in it, which were in no other place; the events this process appended are appended again.`,
      );
    }
    return this.copiesAgain(this.copies.lines());
  }

  /**
   * A spool that does not declare {@link AuditSpool.mayLoseLines} lost lines: the writer
   * kept no copies of them but the `mirrored` events it held beside the spool's last
   * lines, which go back to the queue. The others' events are in no other place: at least
   * the loss the spool reports less those are counted in `dropped`, and it is logged at
   * error level, naming the fix.
   */
  private reportLossWithoutCopies(error: unknown, mirrored: number): void {
    const said = error instanceof SpoolLinesLost ? error.count : undefined;
    const gone = said === undefined ? undefined : Math.max(0, said - mirrored);
    if (gone !== undefined) countMetric("dropped", gone);
    const spool = this.options.spool!;
    const { logger } = this.options;
    (logger.error ?? logger.warn).call(
      logger,
      `audit-events: spool ${spool.name} lost ${said ?? "an unknown number of"} line(s), but it does not declare mayLoseLines, so the writer kept no copies of its lines: ` +
        `${gone === undefined ? "their" : `at least ${gone}`} event(s) are lost${gone === undefined ? "" : ", counted in dropped"}. A spool whose lines can vanish must declare mayLoseLines: true.`,
    );
  }

  /**
   * Events to append again from copies of their lines (read back a slice at a time, the
   * event loop going round in between), as maybe stored already.
   */
  private async copiesAgain(lines: readonly string[]): Promise<Pending[]> {
    const again: Pending[] = [];
    const at = performance.now();
    for (let i = 0; i < lines.length; i++) {
      if (i > 0 && i % FEED_SLICE_ROWS === 0) await nextTurn();
      const line = lines[i]!;
      const decoded = decodeSpoolLine(line, this.options.spoolKeys);
      // The writer encoded it itself, under the keys it still has.
      if (!("row" in decoded)) throw new Error(`a line the writer appended cannot be read back: ${decoded.problem}`);
      again.push({ row: decoded.row, at, settle: undefined, encoded: undefined, line, bytes: spoolLineBytes(line), maybeStored: true });
    }
    return again;
  }

  /**
   * Forgets which of the spool's lines the writer holds in memory (after a spool
   * failure, the spool may hold other lines than appended); they are read back from
   * the spool. While an append is in progress, its end does it: the spool's count
   * must not be read between its append and the writer's note of it.
   */
  private forgetTail(): void {
    if (this.appending) {
      this.forgetPending = true;
      return;
    }
    this.forgetPending = false;
    this.tail.forgetLines(this.options.spool!.count());
  }

  /**
   * Appends a group to the spool, in chunks that each fit it, and tells each caller once
   * its chunk is durable; the events join the tail beside their lines, in order. An
   * event larger than the whole spool joins the tail in memory only, at its place (its
   * caller waits until the store holds it). Returns what must wait for a later append.
   */
  private async toSpool(events: Pending[], spool: AuditSpool): Promise<Pending[]> {
    // Two losses found before the first's copies were appended again each queued a copy of
    // every line: the spool must get each line once (see oncePerLine).
    const group = oncePerLine(events);
    const chunks: Chunk[] = [];
    const tooLarge: Pending[] = [];
    // Events given a line before (appended again after the spool lost lines, or after an
    // append whose reply was lost): the spool may hold their lines still.
    const again = new Set<Pending>();
    for (const pending of group) {
      if (pending.line !== undefined) again.add(pending);
      let line: string;
      try {
        // An event appended again (after the spool lost lines) keeps the line it had.
        line = pending.encoded ?? pending.line ?? encodeSpoolLine(pending.row, this.options.spoolKeys?.signing);
      } catch (error) {
        this.refuse(pending, error);
        // No line of it exists to acknowledge: its stand-in joins the queue.
        const standIns = this.standIns.splice(0);
        if (standIns.length > 0) this.queue.unshift(...standIns);
        continue;
      }
      pending.encoded = undefined;
      const bytes = spoolLineBytes(line);
      let chunk = chunks[chunks.length - 1];
      if (bytes > spool.maxBytes) {
        pending.line = undefined;
        tooLarge.push(pending);
        if (chunk === undefined) chunks.push((chunk = { lines: [], entries: [], bytes: 0 }));
        chunk.entries.push(pending);
        continue;
      }
      pending.line = line;
      pending.bytes = bytes;
      if (chunk === undefined || chunk.bytes + bytes > spool.maxBytes) chunks.push((chunk = { lines: [], entries: [], bytes: 0 }));
      chunk.lines.push(line);
      chunk.entries.push(pending);
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
      const losses = this.losses;
      try {
        if (again.size > 0) await this.leaveListed(chunk, again, spool);
        if (chunk.lines.length > 0) {
          await this.makeRoom(spool, chunk.bytes);
          this.appending = true;
          await spool.append(chunk.lines);
        }
      } catch (error) {
        this.appending = false;
        if (error instanceof AuditError && error.code === "ERR_AUDIT_SPOOL_FULL") {
          recordMetricError(error);
          this.tail.push(this.refuseFull(chunk.entries, error));
          continue;
        }
        const rest = chunks.slice(i).flatMap((c) => c.entries);
        // The spool lost lines it had acknowledged (and said so): append again, first, those
        // the writer holds.
        if (isSpoolLost(error)) return this.toSpool([...(await this.lostLines(error)), ...rest], spool);
        if (!(error instanceof ClosingWhileBlocked)) {
          this.noteFailure(error, `the spool ${spool.name} failed`);
          this.spoolFailures++;
          this.spoolDownUntil = performance.now() + Math.min(LONGEST_RETRY_MS / 6, SPOOL_RETRY_MS * 2 ** Math.min(this.spoolFailures - 1, 20));
          // The append may have reached the spool all the same (a lost reply): a replay
          // of its lines may store them, so they are asked about before being chained.
          for (const p of chunk.entries) p.maybeStored = true;
          this.forgetTail();
          // Their callers wait for the acknowledgement the append was to give: what waits
          // goes to the store now (with a spool, partial batches go at once).
          this.schedule(1);
        }
        return rest;
      }
      this.spoolFailures = 0;
      // While the store is down, the spool alone keeps the lines (and the copies their text,
      // for a spool that may lose them): memory holds no outage of events. Nor does it keep
      // what a spool that loses no line holds (see keepsLinesBeside). Lines appended while
      // the store is down wait through its failure: never fresh (so a redisSpool's never are).
      this.tail.push(chunk.entries, !this.storeDown && this.keepsLinesBeside(), !this.storeDown);
      this.copies?.keep(chunk.lines);
      this.appending = false;
      if (this.forgetPending) this.forgetTail();
      // A loss found while this append was on its way may have taken its lines: Redis may
      // have run it before the list was lost, and they were not copied yet to be appended again.
      if (this.copies !== undefined && this.losses !== losses) this.queue.unshift(...(await this.copiesAgain(chunk.lines)));
      countMetric("spooled", chunk.lines.length);
      for (const p of chunk.entries) {
        if (p.line === undefined) continue;
        p.settle?.resolve();
        p.settle = undefined;
      }
    }
    return [];
  }

  /**
   * Takes out of `chunk` the events of `again` whose lines the spool holds still (asked
   * with {@link AuditSpool.lacking}, when it can say): appended again, a line would be held
   * twice, counted twice against `maxBytes` and in `spooled`, and under `"drop-oldest"`
   * push out other lines. Each taken out is durable already: its copy is kept (the spool
   * may lose it later) and its caller, if one waits, told. Its line is among those the
   * writer reads back from the spool: it was forgotten with the spool's failure or loss.
   */
  private async leaveListed(chunk: Chunk, again: ReadonlySet<Pending>, spool: AuditSpool): Promise<void> {
    const asked = chunk.entries.filter((p) => p.line !== undefined && again.has(p)).map((p) => p.line!);
    if (asked.length === 0 || spool.lacking === undefined) return;
    const lacking = await spool.lacking(asked);
    const entries: Pending[] = [];
    const lines: string[] = [];
    let bytes = 0;
    for (const p of chunk.entries) {
      if (p.line === undefined) {
        entries.push(p);
      } else if (again.has(p) && !lacking.has(p.line)) {
        this.copies?.keep([p.line]);
        if (p.settle !== undefined) countMetric("spooled", 1);
        p.settle?.resolve();
        p.settle = undefined;
      } else {
        entries.push(p);
        lines.push(p.line);
        bytes += p.bytes!;
      }
    }
    chunk.entries = entries;
    chunk.lines = lines;
    chunk.bytes = bytes;
  }

  /**
   * A chunk the full spool refused (`onSpoolFull: "throw"`): each caller is told; returns
   * what waits in memory, at its place, for the store: events larger than the spool, and
   * those no caller waits for (a stand-in, a line appended again after the spool lost it),
   * which a refusal would lose without telling anyone. The latter are let go of as copies:
   * memory holds them now, and `close()` counts them.
   */
  private refuseFull(entries: readonly Pending[], error: AuditError): Pending[] {
    const held: Pending[] = [];
    for (const p of entries) {
      if (p.line !== undefined && p.settle !== undefined) {
        p.settle.reject(error);
        continue;
      }
      if (p.line !== undefined) this.copies?.release([p.line]);
      p.line = undefined;
      p.bytes = undefined;
      held.push(p);
    }
    return held;
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
          const dropped = await this.withHead(async () => {
            const lines = await dropOldest(spool, excess);
            this.tail.droppedAtHead(lines.length);
            this.copies?.droppedAtHead(lines);
            return lines.length;
          });
          if (dropped === 0) throw new Error(`spool ${spool.name} reports ${spool.usedBytes()} bytes used but holds no line to drop`);
          countMetric("dropped", dropped);
          this.options.logger.warn(`audit-events: spool ${spool.name} is full; dropped its ${dropped} oldest event(s).`);
          break;
        }
        case "block":
          if (this.closing !== undefined) throw new ClosingWhileBlocked();
          if ((await this.withHead(() => this.feedOnce())) !== "moved") {
            if (waited === 0) this.options.logger.warn(`audit-events: spool ${spool.name} is full; createEvent waits until the store answers.`);
            waited++;
            await sleep(Math.min(LONGEST_RETRY_MS / 10, FIRST_RETRY_MS * 2 ** Math.min(waited, 20)));
          }
          break;
      }
    }
  }

  /**
   * Moves up to `max` lines from the head of the spool, which the writer does not hold in
   * memory, to the store, read back, and acknowledges them once it holds them. Lines the
   * writer appended and has not tried to write yet ({@link SpoolTail.fresh}) count as
   * `written`; the others (left by an earlier process, or that waited through a store
   * failure) as `replayed` too, and are asked about before being chained (`maybeStored`).
   */
  private async replayOnce(max: number): Promise<"moved" | "empty" | "failed"> {
    const spool = this.options.spool!;
    let batch;
    const pending: Pending[] = [];
    const unauthentic: { line: string; problem: string }[] = [];
    const corrupt: { line: string; problem: string }[] = [];
    /** Of `pending`, the events the writer appended itself and never tried to write. */
    let fresh = 0;
    try {
      batch = await spool.peek(max);
      if (batch.lines.length === 0) {
        // It holds fewer lines than the writer thought (changed from outside): count again.
        this.forgetTail();
        return "empty";
      }
      // At most FEED_SLICE_ROWS lines (see feedOnce): decoding more at once (JSON, checksum,
      // MAC of up to maxBatchSize lines) held every acknowledgement behind it.
      for (let i = 0; i < batch.lines.length; i++) {
        const line = batch.lines[i]!;
        const decoded = decodeSpoolLine(line, this.options.spoolKeys);
        // A crash between a replayed write and the spool's acknowledgement leaves it stored already.
        const maybeStored = !this.tail.isFresh(i);
        if (!maybeStored) fresh++;
        if ("row" in decoded) pending.push({ row: decoded.row, at: 0, maybeStored, bytes: spoolLineBytes(line) });
        else if (decoded.unauthentic) unauthentic.push({ line, problem: decoded.problem });
        else corrupt.push({ line, problem: decoded.problem });
      }
    } catch (error) {
      this.noteFailure(error, `reading spool ${spool.name} failed`);
      if (isSpoolLost(error)) await this.appendLostAgain(error);
      return "failed";
    }
    let written: number;
    let standInsWritten: number;
    // A line that cannot be read back is an event lost: its stand-in marks the hole in the trail.
    for (const { line, problem } of corrupt) this.standIns.push({ row: standInForLine(line, `spool ${spool.name}: ${problem}`), at: performance.now() });
    try {
      written = await this.writeFed(pending);
      standInsWritten = await this.writeStandIns();
    } catch (error) {
      for (const p of pending) p.maybeStored = true;
      this.standIns = [];
      this.storeDown = true;
      this.tail.tried(batch.lines.length);
      this.tail.unmirror();
      this.noteFailure(error, `the store ${this.options.store.name} failed`);
      return "failed";
    }
    this.copies?.storedFromHead(batch.lines);
    try {
      // Aside before the batch is acknowledged, so a refused line is never lost.
      const aside = [...unauthentic, ...corrupt];
      if (aside.length > 0) await spool.setAside?.(aside.map((u) => u.line));
      await spool.ack(batch);
    } catch (error) {
      this.noteFailure(error, `the spool ${spool.name} failed`);
      if (isSpoolLost(error)) await this.appendLostAgain(error);
      else this.forgetTail();
      this.copies?.acknowledged(false);
      return "failed";
    }
    this.copies?.acknowledged(true);
    this.tail.replayed(batch.lines.length);
    if (batch.lines.length < max) this.forgetTail();
    this.noteSuccess();
    // Refused events are not told apart: the fresh ones count as written first.
    const replayed = Math.max(0, written - fresh);
    countMetric("replayed", replayed);
    countMetric("written", written - replayed + standInsWritten);
    this.options.logger.debug?.(
      `audit-events: fed ${written} spooled event(s) from ${spool.name} into ${this.options.store.name}${replayed > 0 ? `, ${replayed} of them replayed` : ""}.`,
    );
    this.reportUnauthentic(spool, unauthentic);
    this.reportCorrupt(spool, corrupt);
    this.moved++;
    return "moved";
  }

  /**
   * Writes a batch through {@link writeIsolating} in slices of at most
   * {@link WRITE_SLICE_BYTES} (`maxWriteBytes`; less while writes run out of time, see
   * {@link WriteSizeLimit}) and, with a spool, {@link FEED_SLICE_ROWS} events, one after
   * the other, in order. When a slice fails, the slices before it are stored: they are
   * marked as maybe stored, like the failed one, so a retry asks before chaining them
   * again (the store skips ids it holds).
   */
  private writeFed(batch: Pending[]): Promise<number> {
    const items = this.options.spool === undefined ? batch.length : FEED_SLICE_ROWS;
    const write = (slice: Pending[], weight: number) =>
      this.writeIsolating(slice).then(
        (written) => {
          this.writeLimit.succeeded(weight);
          return written;
        },
        (error: unknown) => {
          const next = this.writeLimit.failed(error, slice.length, weight);
          if (next !== undefined) {
            this.options.logger.warn(
              `audit-events: a write of ${slice.length} events to ${this.options.store.name} ran out of time; the next write holds at most ${next} bytes (as weighed), and writes grow back as they succeed (for ${WRITE_LIMIT_REGROWS_AFTER_MS / 60_000} minutes, up to half the size that ran out of time).`,
            );
          }
          throw error;
        },
      );
    const writeLimit = this.writeLimit;
    // Read before each slice: writes grow back within a batch as they succeed.
    const limit = {
      items,
      get bytes() {
        return writeLimit.bytes();
      },
      bytesOf: pendingBytes,
    };
    return writeInSlices(batch, limit, write, (written) => {
      for (const p of written) p.maybeStored = true;
    });
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
        // The events the store held already (withoutStored) count as written.
        return given.length - batch.length + (await this.writeIsolating(batch.slice(0, half))) + (await this.writeIsolating(batch.slice(half)));
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
  private writeChained(rows: EventRow[]): Promise<void> {
    const { checkpointer, store } = this.options;
    if (checkpointer === undefined) return store.writeRows(rows);
    // The writer has one chain: its writes take positions one after the other. Two
    // linked at once (the run loop writing straight to the store while a full spool
    // under "block" feeds its head) would take the same ones, and the store refuse one.
    const written = this.chainWrite.then(() => this.linkAndWrite(rows, checkpointer));
    this.chainWrite = written.catch(() => undefined);
    return written;
  }

  /** {@link writeChained}'s work, one call at a time: links `rows` at the chain's head, writes them, moves the head. */
  private async linkAndWrite(rows: EventRow[], checkpointer: Checkpointer): Promise<void> {
    const { store } = this.options;
    if (rows.length === 0) return;
    const chain = (this.chain ??= checkpointer.open(store as IntegrityStore));
    const chained = await chain.linkInTurns(rows, FEED_SLICE_ROWS);
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
    if (standIn !== undefined) this.standIns.push({ row: standIn, at: performance.now() });
  }

  /**
   * Stores the stand-ins of the events refused so far; call it before the lines of their
   * batch are acknowledged, so a crash leaves the refused line or its stand-in. When the
   * write fails, the caller forgets them: the batch is written again, and refused again.
   */
  private async writeStandIns(): Promise<number> {
    let written = 0;
    while (this.standIns.length > 0) written += await this.writeFed(this.standIns.splice(0));
    return written;
  }

  /**
   * Reports spool lines that cannot be read back (checksum, format): each is logged whole
   * at error level, counted in `rejected`, kept aside by the spool when it can, and
   * stands in the trail as a stand-in event (stored before the line was acknowledged).
   */
  private reportCorrupt(spool: AuditSpool, lines: readonly { line: string; problem: string }[]): void {
    if (lines.length === 0) return;
    const { logger } = this.options;
    const kept = spool.setAside === undefined ? "" : ` It is kept in ${spool.asideName ?? "the spool's refused lines"}.`;
    for (const { line, problem } of lines) {
      const error = new AuditStoreError(`audit-events: spool ${spool.name}: a line cannot be read back (${problem}); a stand-in event (contentType "AuditEvent") marks it in the trail.${kept} The line, whole: ${line}`);
      recordMetricError(error);
      (logger.error ?? logger.warn).call(logger, error.message);
    }
    countMetric("rejected", lines.length);
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
