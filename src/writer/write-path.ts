import { getAuditConfig, onConfigure } from "../config/configure";
import { type ResolvedAuditConfig } from "../config/options";
import { AuditError, AuditStoreError } from "../errors";
import type { AuditEventRecord } from "../model/event-record";
import type { AuditStore, EventOrigin, EventRow } from "../stores/store";
import { ACCEPTED, BufferedWriter } from "./buffered-writer";
import { countMetric, recordMetricError, setMetricsGauges, setMetricsHook } from "./metrics";
import type { AuditLogger } from "./spool";
import { isRefusedData } from "../stores/store-failure";
import { ChainedWrites } from "./chained-writes";
import { CHAIN_FIELDS } from "../model/event-record";
import { thrownMessage } from "../thrown-message";

/** The buffered writer of the configuration in force, made on first use. */
let writer: { config: ResolvedAuditConfig; instance: BufferedWriter } | undefined;
/** Writers of earlier configurations, still writing what they hold. */
const retiring = new Set<BufferedWriter>();

/** The chains of the configuration in force (`integrity`), made on first use. */
let chains: ChainedWrites | undefined;
/** Chains of earlier configurations, until the writers that wrote into them are gone and their heads are signed. */
const closingChains = new Set<ChainedWrites>();

/** The options that shape the writer; another change (masking, say) keeps it. */
const WRITER_OPTIONS = ["store", "writeMode", "flushIntervalMs", "maxBatchSize", "maxBufferedEvents", "spool", "onSpoolFull", "logger", "integrity"] as const;

function sameWriter(a: ResolvedAuditConfig, b: ResolvedAuditConfig): boolean {
  return WRITER_OPTIONS.every((key) => a[key] === b[key]);
}

function bufferedWriter(config: ResolvedAuditConfig): BufferedWriter {
  if (writer?.config === config) return writer.instance;
  retire();
  const instance = new BufferedWriter({
    store: config.store!,
    flushIntervalMs: config.flushIntervalMs,
    maxBatchSize: config.maxBatchSize,
    maxBufferedEvents: config.maxBufferedEvents,
    spool: config.spool,
    onSpoolFull: config.onSpoolFull,
    logger: config.logger,
    after: Promise.all([...retiring].map((w) => w.retire())),
    checkpointer: chainsFor(config)?.checkpointer,
    spoolKeys: config.integrity?.keys,
  });
  writer = { config, instance };
  return instance;
}

/**
 * Takes the current writer out of service: it writes what it holds in the
 * background, retrying until it can, then closes. `flushAudit()` and
 * `closeAudit()` wait for it.
 */
function retire(): void {
  if (writer === undefined) return;
  const old = writer.instance;
  writer = undefined;
  retiring.add(old);
  void old.retire().then(() => retiring.delete(old));
}

/** The chains of `config`'s `integrity` (none without it); those of an earlier one are closed. */
function chainsFor(config: ResolvedAuditConfig): ChainedWrites | undefined {
  if (config.integrity === undefined) return undefined;
  if (chains?.integrity === config.integrity) return chains;
  closeChains();
  chains = new ChainedWrites(config.integrity, config.logger);
  return chains;
}

/**
 * Takes the chains in force out of service: once every writer retiring now has written
 * what it holds (its last batches commit in those chains), every chain's head is signed.
 */
function closeChains(): void {
  if (chains === undefined) return;
  const old = chains;
  chains = undefined;
  closingChains.add(old);
  void Promise.all([...retiring].map((w) => w.retire()))
    .then(() => old.close())
    .finally(() => closingChains.delete(old));
}

onConfigure((config) => {
  setMetricsHook(config.onMetrics);
  if (writer !== undefined && writer.config !== config) {
    if (sameWriter(writer.config, config)) writer = { config, instance: writer.instance };
    else retire();
  }
  if (chains !== undefined && chains.integrity !== config.integrity) closeChains();
  // A spool may hold events of an earlier process: start replaying them now.
  if (config.writeMode === "buffered" && config.spool !== undefined && config.store !== undefined) bufferedWriter(config);
});

setMetricsGauges(() => {
  let buffered = 0;
  for (const w of retiring) buffered += w.buffered();
  return { buffered: buffered + (writer?.instance.buffered() ?? 0), spooled: writer?.instance.spooled() ?? 0 };
});

/** The context an event is written for: what a store reads of it, and where it writes. */
export interface WritingContext extends EventOrigin {
  /**
   * The context's own store, else the configured one.
   * @throws {AuditConfigError} `ERR_AUDIT_NO_STORE` when there is neither.
   */
  storeForWrite(): AuditStore;
}

/**
 * Writes events of `context`, built already: nowhere when `disabled`, through the
 * buffered writer when `writeMode` is `"buffered"` and they go to the configured store
 * outside a transaction, else at once, all in one `store.insert` (one round trip, all
 * or none). Returns {@link ACCEPTED} itself when the events are taken already (buffered
 * in memory, or nowhere to write).
 */
export function writeEvents(context: WritingContext, records: readonly AuditEventRecord[], tx: unknown): Promise<void> {
  const config = getAuditConfig();
  if (config.disabled || records.length === 0) return ACCEPTED;
  const store = context.storeForWrite();
  if (tx === undefined && config.writeMode === "buffered" && store === config.store) {
    const writer = bufferedWriter(config);
    if (records.length === 1) return writer.enqueue(store.toRow(records[0]!, context));
    // Every row first: a toRecord that throws on one item queues none.
    const rows = records.map((record) => store.toRow(record, context));
    return Promise.all(rows.map((row) => writer.enqueue(row))).then(() => undefined);
  }
  return writeNow(store, records, context, tx, config.logger, chainsFor(config));
}

/**
 * Writes `records` at once, all in one insert; with `integrity`, chained (in a sync lane,
 * or in the transaction's chain) and each record then carries its chain fields.
 */
async function writeNow(store: AuditStore, records: readonly AuditEventRecord[], context: EventOrigin, tx: unknown, logger: AuditLogger, chained?: ChainedWrites): Promise<void> {
  const started = logger.debug === undefined ? 0 : performance.now();
  try {
    if (chained === undefined) await store.insert(records, { tx, context });
    else {
      // Rows first: the hash covers what toRow fills, as stored.
      const rows = records.map((record) => store.toRow(record, context));
      const insert = (linked: EventRow[]) => store.insert(linked, { tx, context, prepared: true });
      const written = tx === undefined ? await chained.writeSync(store, rows, insert) : await chained.writeInTransaction(store, tx, rows, insert);
      records.forEach((record, i) => {
        for (const field of CHAIN_FIELDS) (record as unknown as Record<string, unknown>)[field] = written[i]![field];
      });
    }
  } catch (error) {
    const thrown = refusal(store, records, error) ?? error;
    recordMetricError(thrown);
    throw thrown;
  }
  countMetric("written", records.length);
  if (logger.debug !== undefined) {
    const where = tx === undefined ? "" : " in the caller's transaction";
    logger.debug(`audit-events: wrote ${records.length} event(s) to ${store.name}${where} in ${(performance.now() - started).toFixed(1)} ms.`);
  }
}

/**
 * A store's refusal of `record` for what it holds (a constraint of the user's schema:
 * every column is bounded already, see column-limits.ts), as the error the caller
 * gets, counted and logged; undefined for any other failure. The caller holds the
 * event and decides: no stand-in is written, which inside `{ tx }` would outlive a
 * rollback.
 */
function refusal(store: AuditStore, records: readonly AuditEventRecord[], error: unknown): AuditStoreError | undefined {
  // toRecord's mistakes (ERR_AUDIT_CONFIG) and duplicate ids keep their own codes.
  if (error instanceof AuditError && error.code !== "ERR_AUDIT_STORE") return undefined;
  if (!isRefusedData(error)) return undefined;
  const first = records[0]!;
  const which =
    records.length === 1
      ? `audit event ${first.id} (${first.contentType} ${first.objectId})`
      : `a batch of ${records.length} audit events (the first ${first.id}, ${first.contentType} ${first.objectId}; none of them was written)`;
  const refused = new AuditStoreError(
    `The store ${store.name} refused ${which} for what it holds: ${thrownMessage(error)}. Fix the constraint (or toRecord) that refuses it.`,
    { cause: error, code: "ERR_AUDIT_EVENT_REFUSED" },
  );
  countMetric("rejected", records.length);
  const { logger } = getAuditConfig();
  (logger.error ?? logger.warn).call(logger, `audit-events: ${refused.message}`);
  return refused;
}

/**
 * Writes everything buffered, and replays everything spooled that the store takes
 * now. With a spool, resolves once every buffered event is at least in the spool.
 *
 * @example
 * ```ts
 * await flushAudit();
 * ```
 * @throws {AuditStoreError} when events are left in memory because neither the
 * store nor a spool could take them; they are retried in the background. With code
 * `ERR_AUDIT_SPOOL_LOST` when a spool that may lose lines (`redisSpool`) kept losing
 * lines through 5 rounds while acknowledged events are not stored yet (the message
 * says how many; this process holds the only sure copy of them, and retries).
 */
export async function flushAudit(): Promise<void> {
  await Promise.all([...retiring].map((w) => w.flush()));
  await writer?.instance.flush();
}

/**
 * Flushes, stops the writer's timers and releases the spool, so the process may
 * exit. Call it on shutdown; a later `createEvent` starts a new writer.
 *
 * An event created while it runs (an in-flight request finishing during shutdown) starts
 * a new writer, and `closeAudit()` closes that one too before it resolves: it resolves
 * only once a round of closing saw no new event, so every `createEvent` that resolved
 * before it is stored or spooled. Stop what creates events first (`server.close()`):
 * under a steady stream it keeps going round.
 *
 * @example
 * ```ts
 * process.once("SIGTERM", async () => {
 *   server.close();
 *   await closeAudit();
 *   process.exit(0);
 * });
 * ```
 * @throws {AuditStoreError} naming how many events could not be written anywhere;
 * they stay in memory and are retried, so a later call may still write them. With code
 * `ERR_AUDIT_SPOOL_LOST` when the spool kept losing their lines (see {@link flushAudit}).
 */
export async function closeAudit(): Promise<void> {
  /** Writers this call has closed (one stays in `retiring` until its retire() settles). */
  const closed = new Set<BufferedWriter>();
  // An event created meanwhile made a new writer, or configureAudit() (or another
  // closeAudit()) retired one this call has not closed.
  const allClosed = () => writer === undefined && [...retiring].every((w) => closed.has(w));
  for (;;) {
    retire();
    const round = [...retiring];
    const results = await Promise.allSettled(round.map((w) => w.close()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
    for (const w of round) closed.add(w);
    // Such a writer may write in the chains in force: close it first, then the chains.
    if (failed === undefined && !allClosed()) continue;
    // Every chain's head is signed: the final checkpoints (a later write starts new chains).
    closeChains();
    // Not waiting for writers that failed to close (they retry in the background): their later commits are signed as they land.
    await Promise.all([...closingChains].map((c) => c.close()));
    if (failed !== undefined) throw failed.reason;
    // A write outside the writer (sync mode) may have started new chains meanwhile: another round signs them.
    if (chains === undefined && allClosed()) return;
  }
}
