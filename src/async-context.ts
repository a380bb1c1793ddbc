import { AsyncLocalStorage } from "node:async_hooks";
import type { EventEmitter } from "node:events";
import { AuditContext } from "./context";

const storage = new AsyncLocalStorage<AuditContext>();

/**
 * Makes `context` current for `fn` and everything it starts: promises, timers,
 * callbacks. Returns what `fn` returns.
 *
 * @example
 * ```ts
 * await runWithAuditContext(new AuditContext({ extraData: { job: "sync" } }), async () => {
 *   await syncOrders(); // currentAuditContext() is the job's context in here
 * });
 * ```
 */
export function runWithAuditContext<T>(context: AuditContext, fn: () => T): T {
  return storage.run(context, fn);
}

/**
 * Returns the context of the request or job running now, or a new blank context
 * outside of any. Never throws.
 *
 * @example
 * ```ts
 * async function refund(order) {
 *   await currentAuditContext().createEvent(order, { action: "refund" });
 * }
 * ```
 */
export function currentAuditContext(): AuditContext {
  return storage.getStore() ?? new AuditContext();
}

const LISTENER_METHODS = ["on", "addListener", "once", "prependListener", "prependOnceListener"] as const;
const REMOVAL_METHODS = ["off", "removeListener"] as const;
type Listener = (...args: unknown[]) => void;

/**
 * Runs every listener later added to `emitter` inside `context`. Body parsers call
 * `next()` from the request stream's `data`/`end` events, which Node runs in the
 * socket's async context, not the request's (expressjs/express#4396); without this
 * the handlers after them would see no context. Only this one emitter is patched.
 */
export function bindEmitterToContext(emitter: EventEmitter, context: AuditContext): void {
  const bound = new WeakMap<Listener, Listener>();
  for (const method of LISTENER_METHODS) {
    const original = emitter[method];
    emitter[method] = function bindListener(this: EventEmitter, event: string | symbol, listener: Listener) {
      let wrapped = bound.get(listener);
      if (wrapped === undefined) {
        wrapped = function runListenerInContext(this: unknown, ...args: unknown[]) {
          return storage.run(context, () => listener.apply(this, args));
        };
        bound.set(listener, wrapped);
      }
      return original.call(this, event, wrapped);
    } as EventEmitter[typeof method];
  }
  for (const method of REMOVAL_METHODS) {
    const original = emitter[method];
    emitter[method] = function unbindListener(this: EventEmitter, event: string | symbol, listener: Listener) {
      return original.call(this, event, bound.get(listener) ?? listener);
    } as EventEmitter[typeof method];
  }
}
