import { EventEmitter } from "node:events";
import { PassThrough } from "node:stream";
import { AuditContext, currentAuditContext, runWithAuditContext } from "../../src";
import { bindEmitterToContext } from "../../src/async-context";

/** Emits `event` from a timer started outside any context, as a socket would. */
function emitOutsideContext(emitter: EventEmitter, event: string): Promise<void> {
  return new Promise((resolve) =>
    setImmediate(() => {
      emitter.emit(event);
      resolve();
    }),
  );
}

describe("bindEmitterToContext", () => {
  it("runs on, once and prepend listeners in the bound context, wherever the emit comes from", async () => {
    const emitter = new EventEmitter();
    const context = new AuditContext();
    const seen: string[] = [];
    bindEmitterToContext(emitter, context);
    emitter.on("go", () => seen.push(`on:${currentAuditContext() === context}`));
    emitter.once("go", () => seen.push(`once:${currentAuditContext() === context}`));
    emitter.prependListener("go", () => seen.push(`prepend:${currentAuditContext() === context}`));
    emitter.prependOnceListener("go", () => seen.push(`prependOnce:${currentAuditContext() === context}`));
    await runWithAuditContext(new AuditContext(), () => emitOutsideContext(emitter, "go"));
    await emitOutsideContext(emitter, "go");
    expect(seen).toEqual(["prependOnce:true", "prepend:true", "on:true", "once:true", "prepend:true", "on:true"]);
  });

  it("removes listeners by the function the caller added, once() listeners included", async () => {
    const emitter = new EventEmitter();
    bindEmitterToContext(emitter, new AuditContext());
    const calls: string[] = [];
    const a = () => calls.push("a");
    const b = () => calls.push("b");
    emitter.on("go", a);
    emitter.once("go", b);
    emitter.off("go", a);
    emitter.removeListener("go", b);
    expect(emitter.listenerCount("go")).toBe(0);
    await emitOutsideContext(emitter, "go");
    expect(calls).toEqual([]);
  });

  it("keeps a stream's own listener behaviour: a data listener still starts the flow", async () => {
    const stream = new PassThrough();
    const context = new AuditContext();
    bindEmitterToContext(stream, context);
    const chunks: string[] = [];
    const ended = new Promise<boolean>((resolve) => stream.on("end", () => resolve(currentAuditContext() === context)));
    stream.on("data", (chunk: Buffer) => chunks.push(chunk.toString()));
    setImmediate(() => stream.end("hello"));
    expect(await ended).toBe(true);
    expect(chunks).toEqual(["hello"]);
  });
});
