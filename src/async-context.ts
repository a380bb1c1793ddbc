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

type Listener = ((...args: unknown[]) => void) & { listener?: Listener };

/** Where a bound emitter keeps its context, its own listener methods and the wrappers. */
const BINDING = Symbol("audit-events.binding");

type MethodName = "on" | "addListener" | "once" | "prependListener" | "prependOnceListener" | "off" | "removeListener";
type ListenerMethod = (this: EventEmitter, event: string | symbol, listener: Listener) => EventEmitter;

interface Binding {
  context: AuditContext;
  wrappers: WeakMap<Listener, Listener> | undefined;
  /** The emitter's methods before binding: a stream's `on` is not EventEmitter's. */
  original: Record<MethodName, ListenerMethod>;
}

interface BoundEmitter extends EventEmitter {
  [BINDING]: Binding;
}

/** The wrapper that runs `listener` in the emitter's bound context; one per listener. */
function wrapperOf(binding: Binding, listener: Listener): Listener {
  binding.wrappers ??= new WeakMap();
  let wrapper = binding.wrappers.get(listener);
  if (wrapper === undefined) {
    const { context } = binding;
    wrapper = function runListenerInContext(this: unknown, ...args: unknown[]) {
      return storage.run(context, () => listener.apply(this, args));
    };
    // EventEmitter finds a once() listener for removeListener() through `.listener`.
    wrapper.listener = listener.listener ?? listener;
    binding.wrappers.set(listener, wrapper);
  }
  return wrapper;
}

/** Replacements for the listener methods, shared by every bound emitter. */
const boundMethods: Record<MethodName, ListenerMethod> = {
  on(event, listener) {
    const binding = (this as BoundEmitter)[BINDING];
    return binding.original.on.call(this, event, wrapperOf(binding, listener));
  },
  addListener(event, listener) {
    const binding = (this as BoundEmitter)[BINDING];
    return binding.original.addListener.call(this, event, wrapperOf(binding, listener));
  },
  once(event, listener) {
    const binding = (this as BoundEmitter)[BINDING];
    return binding.original.once.call(this, event, wrapperOf(binding, listener));
  },
  prependListener(event, listener) {
    const binding = (this as BoundEmitter)[BINDING];
    return binding.original.prependListener.call(this, event, wrapperOf(binding, listener));
  },
  prependOnceListener(event, listener) {
    const binding = (this as BoundEmitter)[BINDING];
    return binding.original.prependOnceListener.call(this, event, wrapperOf(binding, listener));
  },
  off(event, listener) {
    const binding = (this as BoundEmitter)[BINDING];
    return binding.original.off.call(this, event, binding.wrappers?.get(listener) ?? listener);
  },
  removeListener(event, listener) {
    const binding = (this as BoundEmitter)[BINDING];
    return binding.original.removeListener.call(this, event, binding.wrappers?.get(listener) ?? listener);
  },
};

/**
 * Runs every listener later added to `emitter` inside `context`. Body parsers that
 * read the stream themselves call `next()` from its `data`/`end` events, which Node
 * runs in the socket's async context, not the request's (expressjs/express#4396);
 * without this the handlers after them would see no context. Only this one emitter
 * changes; the wrappers are made when listeners are added.
 */
export function bindEmitterToContext(emitter: EventEmitter, context: AuditContext): void {
  const { on, addListener, once, prependListener, prependOnceListener, off, removeListener } = emitter as unknown as Binding["original"];
  const original = { on, addListener, once, prependListener, prependOnceListener, off, removeListener };
  (emitter as BoundEmitter)[BINDING] = { context, wrappers: undefined, original };
  Object.assign(emitter, boundMethods);
}
