import type { AuditCheckpointRecord } from "../model/checkpoint";
import type { AuditStore } from "../stores/store";
import { HashChain } from "./hash-chain";
import { signCheckpoint, type IntegrityKeyRing } from "./integrity-keys";
import { thrownMessage } from "../thrown-message";

/** What a {@link Checkpointer} needs: the `integrity` option resolved, and where to warn. */
export interface CheckpointerOptions {
  keys: IntegrityKeyRing;
  checkpointEvery: number;
  checkpointIntervalMs: number;
  logger: { warn(message: string): void };
}

/** A store that keeps checkpoints. */
type CheckpointStore = Pick<AuditStore, "name"> & Required<Pick<AuditStore, "insertCheckpoint">>;

/**
 * The signed checkpoint of `chain`'s committed head now, under the signing key.
 * Undefined when the chain has no event yet.
 */
export function checkpointOf(chain: HashChain, keys: IntegrityKeyRing): AuditCheckpointRecord | undefined {
  const { seq, hash } = chain.head();
  if (seq === 0 || hash === null) return undefined;
  const fields = { chainId: chain.chainId, seq, hash, keyId: keys.signing.id, createdAt: new Date() };
  return { ...fields, signature: signCheckpoint(fields, keys.signing) };
}

/**
 * Signs the heads of a process's chains into the store's `audit_checkpoints`: after a
 * commit that makes `checkpointEvery` unsigned events, every `checkpointIntervalMs` (an
 * `unref`'d timer) for each chain with unsigned events, and for all of them at
 * {@link close}. A failed checkpoint never fails a write: it is reported (once per
 * outage) and tried again at the next trigger. A chain that ended (abandoned, or its
 * writer closed) is forgotten once its last head is signed.
 */
export class Checkpointer {
  private readonly chains = new Map<HashChain, { store: CheckpointStore; ended: boolean }>();
  /** The checkpoint being written for each chain, so one chain's are written one at a time. */
  private readonly signing = new Map<HashChain, Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private failing = false;
  private closed = false;

  constructor(private readonly options: CheckpointerOptions) {}

  /** Starts a chain of `store` and keeps it signed. */
  open(store: CheckpointStore): HashChain {
    const chain = new HashChain();
    this.chains.set(chain, { store, ended: false });
    if (this.timer === undefined) {
      this.timer = setInterval(() => void this.signAll(), this.options.checkpointIntervalMs);
      this.timer.unref();
    }
    return chain;
  }

  /**
   * Called after each commit of `chain` into `store`: signs its head once
   * `checkpointEvery` events wait. A chain forgotten by {@link close} while its writer
   * still wrote (a writer retiring through an outage) is taken back, so its last head
   * is signed too.
   */
  committed(chain: HashChain, store: CheckpointStore): void {
    if (!this.chains.has(chain)) this.chains.set(chain, { store, ended: this.closed });
    if (chain.unsigned() >= this.options.checkpointEvery || this.closed) void this.sign(chain);
  }

  /** `chain` takes no more events (abandoned, or its writer closed): its head is signed, then it is forgotten. */
  end(chain: HashChain): void {
    const entry = this.chains.get(chain);
    if (entry === undefined) return;
    entry.ended = true;
    void this.sign(chain);
  }

  /** Signs the committed head of `chain` if it has unsigned events; resolves when done (never rejects). */
  sign(chain: HashChain): Promise<void> {
    const next = (this.signing.get(chain) ?? Promise.resolve()).then(() => this.signNow(chain));
    this.signing.set(chain, next);
    void next.finally(() => {
      if (this.signing.get(chain) === next) this.signing.delete(chain);
    });
    return next;
  }

  /** Signs every chain with unsigned events. */
  async signAll(): Promise<void> {
    await Promise.all([...this.chains.keys()].map((chain) => this.sign(chain)));
  }

  /**
   * Stops the timer and signs the head of every chain (`closeAudit()`). A commit after
   * it (a writer still retiring) is signed at once.
   */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    this.timer = undefined;
    for (const entry of this.chains.values()) entry.ended = true;
    await this.signAll();
  }

  private async signNow(chain: HashChain): Promise<void> {
    const entry = this.chains.get(chain);
    if (entry === undefined) return;
    const checkpoint = chain.unsigned() > 0 ? checkpointOf(chain, this.options.keys) : undefined;
    if (checkpoint !== undefined) {
      try {
        await entry.store.insertCheckpoint(checkpoint);
      } catch (error) {
        if (!this.failing) {
          this.failing = true;
          this.options.logger.warn(
            `audit-events: could not write the checkpoint of chain ${chain.chainId} at seq ${checkpoint.seq} to ${entry.store.name} (${thrownMessage(error)}); its events are linked but unsigned until the next checkpoint, which is tried at the next trigger.`,
          );
        }
        return;
      }
      this.failing = false;
      chain.checkpointedSeq = Math.max(chain.checkpointedSeq, checkpoint.seq);
    }
    if (entry.ended && chain.unsigned() === 0) this.chains.delete(chain);
  }
}
