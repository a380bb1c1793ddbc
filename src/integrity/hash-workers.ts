import path from "node:path";
import { Worker } from "node:worker_threads";
import { AuditConfigError } from "../errors";
import { checkChainText } from "./chain-text";
import type { CheckedRow } from "./verify-chain";
import type { HashRequest } from "./verify-worker";

interface HashAnswer {
  id: number;
  rows?: CheckedRow[];
  error?: unknown;
}

/**
 * The thread entry: the compiled verify-worker.js next to this module, or, when this module
 * runs from its TypeScript source (the tests, tsx), verify-worker.ts loaded through tsx.
 */
function workerEntry(): { file: string; execArgv: string[] } {
  return __filename.endsWith(".ts") ? { file: path.join(__dirname, "verify-worker.ts"), execArgv: ["--require", "tsx/cjs"] } : { file: path.join(__dirname, "verify-worker.js"), execArgv: [] };
}

/**
 * Threads (node:worker_threads) that parse chunks of the chain sequence read as text and
 * check their events' hashes, while the main thread reads the next chunks and checks the
 * links in order: hashing is most of verify's work. With no thread, chunks are checked on
 * the main thread.
 */
export class HashWorkers {
  private readonly workers: Worker[];
  private readonly waiting = new Map<number, { resolve(rows: CheckedRow[]): void; reject(error: unknown): void }>();
  private next = 0;
  private failure: unknown = null;

  constructor(count: number) {
    const { file, execArgv } = workerEntry();
    this.workers = Array.from({ length: count }, () => {
      const worker = new Worker(file, { execArgv });
      worker.on("message", ({ id, rows, error }: HashAnswer) => {
        const waiter = this.waiting.get(id)!;
        this.waiting.delete(id);
        if (rows === undefined) waiter.reject(error);
        else waiter.resolve(rows);
      });
      worker.on("error", (error) =>
        this.fail(new AuditConfigError(`verifyAuditTrail(): a hashing thread (${file}) failed: ${error.message}. Pass { workers: 0 } to hash on the main thread (a bundler that leaves verify-worker.js out cannot start the threads).`, "ERR_AUDIT_CONFIG", { cause: error })),
      );
      worker.on("exit", (code) => this.fail(new Error(`a hashing thread of verifyAuditTrail() exited (code ${code})`)));
      return worker;
    });
  }

  private fail(error: unknown): void {
    this.failure ??= error;
    for (const waiter of this.waiting.values()) waiter.reject(this.failure);
    this.waiting.clear();
  }

  /** The rows of `chunk`, their hashes checked; `chunk` is handed to a thread (its buffer is detached from this one when it is a whole `ArrayBuffer`). */
  check(chunk: Uint8Array): Promise<CheckedRow[]> {
    if (this.workers.length === 0) {
      try {
        return Promise.resolve(checkChainText(chunk));
      } catch (error) {
        return Promise.reject(error);
      }
    }
    if (this.failure !== null) return Promise.reject(this.failure);
    const id = this.next++;
    const request: HashRequest = { id, chunk };
    const owned = chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength && chunk.buffer instanceof ArrayBuffer;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.workers[id % this.workers.length]!.postMessage(request, owned ? [chunk.buffer as ArrayBuffer] : []);
    });
  }

  /** Stops the threads. */
  async close(): Promise<void> {
    this.failure ??= new Error("the hashing threads were stopped");
    await Promise.all(this.workers.map((worker) => worker.terminate()));
  }
}
