import fc from "fast-check";
import type { AuditLogger, AuditSpool } from "../../src";
import { dropOldest, spoolLineBytes } from "../../src/writer/spool";

/** What a spool's test file hands the conformance suite. */
export interface SpoolUnderTest {
  /** A new handle on the same spool (as the next process would open it). */
  open(options?: { maxBytes?: number }): AuditSpool;
  /** Empties the spool's storage between tests. */
  reset(): Promise<void>;
  /** What the spool takes in its storage now, measured there (the file's size, the list's bytes). */
  storedBytes(): Promise<number>;
}

/** A logger that keeps what it was told. */
export function recordingLogger(): AuditLogger & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, warn: (message: string) => warnings.push(message) };
}

/** What the writer does before an append that would not fit, per `onSpoolFull` (block: a replay frees the head). */
type Policy = "block" | "drop-oldest" | "throw";
type Step =
  | { kind: "append"; sizes: number[]; policy: Policy }
  | { kind: "ack"; count: number }
  | { kind: "drop"; bytes: number }
  | { kind: "reopen" };

const stepArbitrary: fc.Arbitrary<Step> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant("append" as const), sizes: fc.array(fc.integer({ min: 1, max: 700 }), { minLength: 1, maxLength: 8 }), policy: fc.constantFrom<Policy>("block", "drop-oldest", "throw") }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("ack" as const), count: fc.integer({ min: 1, max: 12 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("drop" as const), bytes: fc.integer({ min: 1, max: 3000 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: "reopen" as const }) },
);

const lines = (from: number, count: number) => Array.from({ length: count }, (_, i) => `line-${from + i} ${"x".repeat((from + i) % 7)}`);

/** The behaviour every {@link AuditSpool} must have. */
export function describeSpoolConformance(name: string, subject: SpoolUnderTest): void {
  describe(`${name} (spool conformance)`, () => {
    const opened: AuditSpool[] = [];
    async function openSpool(options?: { maxBytes?: number }): Promise<AuditSpool> {
      const spool = subject.open(options);
      await spool.open(recordingLogger());
      opened.push(spool);
      return spool;
    }
    beforeEach(() => subject.reset());
    afterEach(async () => {
      for (const spool of opened.splice(0)) await spool.close();
    });

    it("gives lines back oldest first, and removes only what was acknowledged", async () => {
      const spool = await openSpool();
      await spool.append(lines(0, 3));
      await spool.append(lines(3, 4));
      expect(spool.count()).toBe(7);
      const first = await spool.peek(5);
      expect(first.lines).toEqual(lines(0, 5));
      expect(await spool.peek(5)).toEqual(first);
      await spool.ack(first, 2);
      expect(spool.count()).toBe(5);
      expect((await spool.peek(100)).lines).toEqual(lines(2, 5));
      await spool.ack(await spool.peek(100));
      expect(spool.count()).toBe(0);
      expect(spool.usedBytes()).toBe(0);
      expect((await spool.peek(10)).lines).toEqual([]);
    });

    it("counts the bytes it holds", async () => {
      const spool = await openSpool();
      await spool.append(["abc", "ü"]);
      expect(spool.usedBytes()).toBe(4 + 3);
      await spool.ack(await spool.peek(1));
      expect(spool.usedBytes()).toBe(3);
    });

    it("keeps unacknowledged lines for the next process, in order", async () => {
      const first = await openSpool();
      await first.append(lines(0, 10));
      await first.ack(await first.peek(4));
      await first.close();
      const second = await openSpool();
      expect(second.count()).toBe(6);
      expect((await second.peek(100)).lines).toEqual(lines(4, 6));
    });

    it("takes appends while lines are being read and acknowledged", async () => {
      const spool = await openSpool();
      const appends = Array.from({ length: 20 }, (_, i) => spool.append(lines(i * 10, 10)));
      const seen: string[] = [];
      await Promise.all(appends.slice(0, 5));
      while (seen.length < 200) {
        const batch = await spool.peek(7);
        seen.push(...batch.lines);
        await spool.ack(batch);
        if (batch.lines.length === 0) await Promise.all(appends);
      }
      expect(seen).toEqual(lines(0, 200));
    });

    it("takes an append made while an acknowledgement is on its way, without reporting lines lost", async () => {
      const spool = await openSpool();
      await spool.append(lines(0, 10));
      const batch = await spool.peek(4);
      // The writer's feed and its group commit run side by side: the append starts before the ack has answered.
      const acked = spool.ack(batch);
      const appended = spool.append(lines(10, 5));
      await Promise.all([acked, appended]);
      expect(spool.count()).toBe(11);
      expect((await spool.peek(100)).lines).toEqual(lines(4, 11));
    });

    it("takes an append of more lines than a Redis script can unpack at once (about 8 000)", async () => {
      const spool = await openSpool();
      await spool.append(lines(0, 9000));
      expect(spool.count()).toBe(9000);
      expect((await spool.peek(9000)).lines).toEqual(lines(0, 9000));
    });

    it("drops whole lines from the head until enough bytes are free, and says which", async () => {
      const spool = await openSpool();
      await spool.append(lines(0, 2500));
      const bytes = (await spool.peek(1500)).bytes.reduce((sum, b) => sum + b, 0);
      expect(await dropOldest(spool, bytes - 1)).toEqual(lines(0, 1500));
      expect(spool.count()).toBe(1000);
      expect((await spool.peek(1)).lines).toEqual(lines(1500, 1));
      expect(await dropOldest(spool, Number.MAX_SAFE_INTEGER)).toEqual(lines(1500, 1000));
      expect(spool.usedBytes()).toBe(0);
    });

    it("never takes more than maxBytes plus the batch appended last, whatever appends, acks and drops come, and loses no line it kept", async () => {
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 1024, max: 6000 }), fc.array(stepArbitrary, { minLength: 1, maxLength: 40 }), async (maxBytes, steps) => {
          await subject.reset();
          let spool = await openSpool({ maxBytes });
          const model: string[] = [];
          const modelBytes = () => model.reduce((sum, line) => sum + spoolLineBytes(line), 0);
          let next = 0;
          let lastBatch = 0;
          for (const step of steps) {
            if (step.kind === "append") {
              const batch = step.sizes.map((size) => {
                const id = `${next++}:`;
                return id + "b".repeat(Math.max(0, size - id.length));
              });
              const bytes = batch.reduce((sum, line) => sum + spoolLineBytes(line), 0);
              if (bytes > maxBytes) continue;
              if (spool.usedBytes() + bytes > maxBytes) {
                if (step.policy === "throw") continue;
                if (step.policy === "drop-oldest") {
                  const dropped = await dropOldest(spool, spool.usedBytes() + bytes - maxBytes);
                  expect(dropped).toEqual(model.splice(0, dropped.length));
                } else {
                  while (spool.usedBytes() + bytes > maxBytes) {
                    const replayed = await spool.peek(3);
                    await spool.ack(replayed);
                    model.splice(0, replayed.lines.length);
                  }
                }
              }
              await spool.append(batch);
              model.push(...batch);
              lastBatch = bytes;
            } else if (step.kind === "ack") {
              const batch = await spool.peek(step.count);
              expect(batch.lines).toEqual(model.slice(0, step.count));
              await spool.ack(batch);
              model.splice(0, batch.lines.length);
            } else if (step.kind === "drop") {
              const dropped = await dropOldest(spool, step.bytes);
              expect(dropped).toEqual(model.splice(0, dropped.length));
            } else {
              await spool.close();
              opened.splice(opened.indexOf(spool), 1);
              spool = await openSpool({ maxBytes });
            }
            expect(spool.usedBytes()).toBe(modelBytes());
            expect(spool.count()).toBe(model.length);
            expect(await subject.storedBytes()).toBeLessThanOrEqual(maxBytes + lastBatch);
          }
          expect((await spool.peek(model.length + 1)).lines).toEqual(model);
          await spool.close();
          opened.splice(opened.indexOf(spool), 1);
        }),
        { numRuns: 50 },
      );
    }, 120_000);

    it("keeps 20 000 lines of 500 bytes and reads them back in pages", async () => {
      const spool = await openSpool();
      const big = Array.from({ length: 20_000 }, (_, i) => `${String(i).padStart(6, "0")}${"y".repeat(494)}`);
      for (let i = 0; i < big.length; i += 1000) await spool.append(big.slice(i, i + 1000));
      let index = 0;
      for (;;) {
        const batch = await spool.peek(3000);
        if (batch.lines.length === 0) break;
        for (const line of batch.lines) expect(line).toBe(big[index++]);
        await spool.ack(batch);
      }
      expect(index).toBe(20_000);
    });
  });
}
