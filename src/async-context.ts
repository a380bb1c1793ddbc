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
 *   await currentAuditContext().createEvent(order, {}, { action: "refund" });
 * }
 * ```
 */
export function currentAuditContext(): AuditContext {
  return storage.getStore() ?? new AuditContext();
}

type Listener = ((...args: unknown[]) => void) & { listener?: Listener };

type MethodName = "on" | "addListener" | "once" | "prependListener" | "prependOnceListener" | "off" | "removeListener";
type ListenerMethod = (this: EventEmitter, event: string | symbol, listener: Listener) => EventEmitter;

const ADDING: readonly MethodName[] = ["on", "addListener", "once", "prependListener", "prependOnceListener"];
const REMOVING: readonly MethodName[] = ["off", "removeListener"];

/**
 * A bound emitter's context, and the wrappers made for its listeners. A Map, not a
 * WeakMap: it lives as long as its emitter (one request), which holds the listeners
 * anyway, and a WeakMap's entries cost the garbage collector on every request.
 */
interface Binding {
  context: AuditContext;
  wrappers: Map<Listener, Listener> | undefined;
}

/**
 * Where a bound emitter keeps its binding: one property, always the same, so every
 * request and response goes through the same hidden-class change. (Copying seven
 * listener methods onto each of them, as an earlier version did, cost a third of
 * an Express app's throughput on Node 20; a WeakMap beside them cost as much on
 * Node 24.)
 */
const BINDING = Symbol("audit-events.binding");

interface BoundEmitter extends EventEmitter {
  [BINDING]?: Binding;
}
/** Prototypes whose listener methods consult the binding. */
const hookedPrototypes = new WeakSet<object>();

/** The wrapper that runs `listener` in the emitter's bound context; one per listener. */
function wrapperOf(binding: Binding, listener: Listener): Listener {
  binding.wrappers ??= new Map();
  let wrapper = binding.wrappers.get(listener);
  if (wrapper === undefined) {
    const { context } = binding;
    // run() hands its extra arguments to the callback: no closure per call.
    wrapper = function runListenerInContext(this: unknown, ...args: unknown[]) {
      return storage.run(context, Reflect.apply, listener, this, args);
    };
    // EventEmitter finds a once() listener for removeListener() through `.listener`.
    wrapper.listener = listener.listener ?? listener;
    binding.wrappers.set(listener, wrapper);
  }
  return wrapper;
}

/**
 * Gives `prototype` listener methods that wrap listeners of bound emitters and pass
 * everything else through unchanged to the methods it inherited (a stream's `on` is
 * not EventEmitter's). Done once per prototype: Express gives each app its own
 * request and response prototypes.
 */
function hookPrototype(prototype: object): void {
  if (hookedPrototypes.has(prototype)) return;
  hookedPrototypes.add(prototype);
  const target = prototype as Record<MethodName, ListenerMethod>;
  for (const name of ADDING) {
    const inherited = target[name];
    Object.defineProperty(prototype, name, {
      configurable: true,
      writable: true,
      value: function addListenerInContext(this: EventEmitter, event: string | symbol, listener: Listener) {
        const binding = (this as BoundEmitter)[BINDING];
        return inherited.call(this, event, binding === undefined ? listener : wrapperOf(binding, listener));
      },
    });
  }
  for (const name of REMOVING) {
    const inherited = target[name];
    Object.defineProperty(prototype, name, {
      configurable: true,
      writable: true,
      value: function removeListenerInContext(this: EventEmitter, event: string | symbol, listener: Listener) {
        return inherited.call(this, event, (this as BoundEmitter)[BINDING]?.wrappers?.get(listener) ?? listener);
      },
    });
  }
}

/**
 * Runs every listener later added to `emitter` inside `context`. Body parsers that
 * read the stream themselves call `next()` from its `data`/`end` events, which Node
 * runs in the socket's async context, not the request's (expressjs/express#4396);
 * without this the handlers after them would see no context. The emitter gets one
 * property, its binding; its prototype's listener methods look it up.
 */
export function bindEmitterToContext(emitter: EventEmitter, context: AuditContext): void {
  const prototype = Object.getPrototypeOf(emitter) as object | null;
  if (prototype !== null) hookPrototype(prototype);
  (emitter as BoundEmitter)[BINDING] = { context, wrappers: undefined };
}
