import type { AuditSpool } from "../../src";

/**
 * Where a spool call can be stopped: after Redis ran an append, before an acknowledgement
 * reaches Redis, or after one failed, before the writer hears it.
 */
export type PausePoint = "append-ran" | "ack-sent" | "ack-failed";

/** A pause set at a point: `reached` once a call got there; the call goes on after `release()`. */
export interface Pause {
  reached: Promise<void>;
  release(): void;
  /** Whether a call got there. */
  isReached(): boolean;
}

/** `inner`, whose next call at a point waits there until released (see {@link Pause}). */
export function pausableSpool(inner: AuditSpool): AuditSpool & { pauseAt(point: PausePoint): Pause; unpause(point: PausePoint): void } {
  const armed = new Map<PausePoint, { arrive(): void; gate: Promise<void> }>();
  const stop = async (point: PausePoint) => {
    const pause = armed.get(point);
    if (pause === undefined) return;
    armed.delete(point);
    pause.arrive();
    await pause.gate;
  };
  const spool: AuditSpool & { pauseAt(point: PausePoint): Pause; unpause(point: PausePoint): void } = {
    pauseAt(point) {
      let arrive!: () => void;
      let release!: () => void;
      let reached = false;
      const arrived = new Promise<void>((resolve) => (arrive = resolve));
      const gate = new Promise<void>((resolve) => (release = resolve));
      armed.set(point, {
        arrive: () => {
          reached = true;
          arrive();
        },
        gate,
      });
      return { reached: arrived, release, isReached: () => reached };
    },
    unpause(point) {
      armed.delete(point);
    },
    name: inner.name,
    maxBytes: inner.maxBytes,
    mayLoseLines: inner.mayLoseLines,
    asideName: inner.asideName,
    open: (logger) => inner.open(logger),
    usedBytes: () => inner.usedBytes(),
    count: () => inner.count(),
    peek: (max) => inner.peek(max),
    lacking: inner.lacking === undefined ? undefined : (lines) => inner.lacking!(lines),
    close: () => inner.close(),
    setAside: (lines) => inner.setAside!(lines),
    async append(lines) {
      await inner.append(lines);
      await stop("append-ran");
    },
    async ack(batch, count) {
      await stop("ack-sent");
      try {
        await inner.ack(batch, count);
      } catch (error) {
        await stop("ack-failed");
        throw error;
      }
    },
  };
  return spool;
}

