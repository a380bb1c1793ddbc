/**
 * A hashing thread of `verifyAuditTrail()` (see hash-workers.ts): takes chunks of the chain
 * sequence as text, answers their rows with each event's hash checked.
 */
import { parentPort } from "node:worker_threads";
import { checkChainText } from "./chain-text";

/** A chunk to check: its number, and its bytes (transferred, not copied). */
export interface HashRequest {
  readonly id: number;
  readonly chunk: Uint8Array;
}

parentPort?.on("message", ({ id, chunk }: HashRequest) => {
  try {
    parentPort!.postMessage({ id, rows: checkChainText(chunk) });
  } catch (error) {
    parentPort!.postMessage({ id, error });
  }
});
