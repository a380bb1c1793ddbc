import type { ResolvedIntegrity } from "../config/options";
import { AuditError, AuditStoreError } from "../errors";
import { Checkpointer, checkpointOf } from "../integrity/checkpointer";
import { HashChain } from "../integrity/hash-chain";
import { requireIntegrityStore, type IntegrityStore } from "../integrity/integrity-store";
import type { AuditStore, EventRow } from "../stores/store";
import { isRefusedData } from "../stores/store-failure";
import type { AuditLogger } from "./spool";
import { thrownMessage } from "../thrown-message";

/**
 * The most sync chains (lanes) one process keeps per store. Sync writes run concurrently,
 * each chain takes one write at a time (positions are taken at commit), so a write takes
 * an idle lane, or opens one while fewer than this many exist, else waits for one: as
 * many chains as writes run at once, bounded by about what a connection pool runs at once.
 */
export const MAX_SYNC_LANES = 16;

/** Codes of failures raised before the database committed anything. */
const NOTHING_COMMITTED = new Set(["ERR_AUDIT_DUPLICATE_ID", "ERR_AUDIT_EVENT_REFUSED", "ERR_AUDIT_STORE_SCHEMA", "ERR_AUDIT_TX_UNSUPPORTED", "ERR_AUDIT_CONFIG", "ERR_AUDIT_SERIALIZE"]);

/**
 * Whether a failed write certainly committed nothing: the database refused the statement
 * (a constraint, a duplicate, a missing column) or the library refused it before sending
 * it. Anything else (a lost connection, a timeout) may have committed.
 */
export function committedNothing(error: unknown): boolean {
  return (error instanceof AuditError && NOTHING_COMMITTED.has(error.code)) || isRefusedData(error);
}

/**
 * The sync chains of one store: lanes that each write one batch at a time. Written with
 * promise callbacks rather than async functions: a sync write pays for every promise
 * (AsyncLocalStorage hooks each one), and this is its path.
 */
class SyncLanes {
  private readonly idle: HashChain[] = [];
  private lanes = 0;
  private readonly waiting: ((chain: HashChain) => void)[] = [];

  constructor(
    private readonly store: IntegrityStore,
    private readonly checkpointer: Checkpointer,
  ) {}

  /**
   * Chains `rows` in a lane of their own (an idle one, else a new one while fewer than
   * {@link MAX_SYNC_LANES} exist, else the first to be freed), inserts them, and moves the
   * chain's head once `insert` resolves. Returns the chained rows, as written.
   */
  write(rows: readonly EventRow[], insert: (chained: EventRow[]) => Promise<void>): Promise<EventRow[]> {
    // The most recently used lane first, so a quiet process keeps few chains.
    const chain = this.idle.pop();
    if (chain !== undefined) return this.writeIn(chain, rows, insert);
    if (this.lanes < MAX_SYNC_LANES) {
      this.lanes++;
      return this.writeIn(this.checkpointer.open(this.store), rows, insert);
    }
    return new Promise<HashChain>((resolve) => this.waiting.push(resolve)).then((freed) => this.writeIn(freed, rows, insert));
  }

  private writeIn(chain: HashChain, rows: readonly EventRow[], insert: (chained: EventRow[]) => Promise<void>): Promise<EventRow[]> {
    let chained: EventRow[];
    let inserted: Promise<void>;
    try {
      chained = chain.link(rows);
      inserted = insert(chained);
    } catch (error) {
      inserted = Promise.reject(error);
    }
    return inserted.then(
      () => {
        try {
          chain.commit(chained);
          this.checkpointer.committed(chain, this.store);
          return chained;
        } finally {
          this.release(chain);
        }
      },
      (error: unknown) => {
        let next = chain;
        if (!committedNothing(error)) {
          // It may have committed: the chain ends at its last known head, the lane goes on in a new one.
          this.checkpointer.end(chain);
          next = this.checkpointer.open(this.store);
        }
        this.release(next);
        throw error;
      },
    );
  }

  /** Hands the lane to the first write waiting for one, else keeps it idle. */
  private release(chain: HashChain): void {
    const waiter = this.waiting.shift();
    if (waiter !== undefined) waiter(chain);
    else this.idle.push(chain);
  }
}

/** A transaction's chain, and its writes one after another. */
interface TxChain {
  chain: HashChain;
  last: Promise<unknown>;
}

/**
 * The hash chains of the process's writes while `integrity` is configured (see
 * docs/integrity.md): lanes for sync writes, one chain per transaction for `{ tx }`
 * writes, and the {@link Checkpointer} that signs them and the buffered writer's chain.
 */
export class ChainedWrites {
  readonly checkpointer: Checkpointer;
  private readonly lanes = new Map<AuditStore, SyncLanes>();
  private readonly txChains = new WeakMap<object, TxChain>();

  constructor(
    readonly integrity: ResolvedIntegrity,
    logger: AuditLogger,
  ) {
    this.checkpointer = new Checkpointer({ ...integrity, logger });
  }

  /**
   * Writes `rows` (made by `store.toRow`) outside a transaction, chained in a sync lane:
   * `insert` gets their chained copies and must write them all or none. Returns those
   * copies, as written.
   *
   * @throws whatever `insert` throws; `ERR_AUDIT_STORE_SCHEMA` or `ERR_AUDIT_CONFIG` when
   * the store cannot keep chains.
   */
  writeSync(store: AuditStore, rows: readonly EventRow[], insert: (chained: EventRow[]) => Promise<void>): Promise<EventRow[]> {
    requireIntegrityStore(store);
    let lanes = this.lanes.get(store);
    if (lanes === undefined) this.lanes.set(store, (lanes = new SyncLanes(store, this.checkpointer)));
    return lanes.write(rows, insert);
  }

  /**
   * Writes `rows` inside the caller's transaction `tx`, chained in the transaction's own
   * chain, then signs the chain's new head into the same transaction: the checkpoint
   * commits and rolls back with the events, so a rolled-back transaction leaves no trace
   * in any chain and a committed one is always covered.
   *
   * @throws whatever `insert` throws; `ERR_AUDIT_STORE` when the checkpoint cannot be
   * written (the events are in the transaction: roll it back).
   */
  writeInTransaction(store: AuditStore, tx: unknown, rows: readonly EventRow[], insert: (chained: EventRow[]) => Promise<void>): Promise<EventRow[]> {
    requireIntegrityStore(store);
    const key = tx as object;
    let entry = this.txChains.get(key);
    if (entry === undefined) this.txChains.set(key, (entry = { chain: new HashChain(), last: Promise.resolve() }));
    const current = entry;
    const write = async (): Promise<EventRow[]> => {
      const chain = current.chain;
      const chained = chain.link(rows);
      try {
        await insert(chained);
      } catch (error) {
        if (!committedNothing(error)) current.chain = new HashChain();
        throw error;
      }
      chain.commit(chained);
      const checkpoint = checkpointOf(chain, this.integrity.keys)!;
      try {
        await store.insertCheckpoint(checkpoint, { tx });
      } catch (error) {
        throw new AuditStoreError(
          `The ${chained.length} audit event(s) were written in the transaction, but the checkpoint of their chain ${chain.chainId} could not be (${thrownMessage(error)}); roll the transaction back.`,
          { cause: error },
        );
      }
      chain.checkpointedSeq = checkpoint.seq;
      return chained;
    };
    const result = current.last.then(write, write);
    current.last = result.catch(() => undefined);
    return result;
  }

  /** Signs the head of every chain and stops the checkpoint timer. */
  close(): Promise<void> {
    return this.checkpointer.close();
  }
}
