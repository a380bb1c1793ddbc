/** A switch: when `loseNext` is set, the spool's next Lua script runs in Redis but its reply is lost (the connection dropped then). */
export interface ReplySwitch {
  loseNext: boolean;
  /**
   * Run once, after the next `LLEN` sent on its own has its reply and before the spool
   * gets it: what another client does between the spool's read of the list's length and
   * its next command.
   */
  afterNextLength?: () => Promise<void>;
}

/**
 * The `redis` module for `jest.mock("redis", ...)`: the real one, whose clients' `eval`
 * throws "Socket closed unexpectedly" instead of returning the reply once `replies()`
 * says `loseNext` (and clears it), and whose `lLen` runs `afterNextLength` once before
 * returning its reply. `replies` is called at each script, not when the mock
 * is made: a jest.mock factory runs before the test file's own variables exist.
 *
 * @example
 * ```ts
 * const mockReplies = { loseNext: false };
 * jest.mock("redis", () => jest.requireActual<typeof import("../support/redis-losing-replies")>("../support/redis-losing-replies").redisLosingReplies(() => mockReplies));
 * ```
 */
export function redisLosingReplies(replies: () => ReplySwitch): typeof import("redis") {
  const actual = jest.requireActual<typeof import("redis")>("redis");
  return {
    ...actual,
    createClient: ((options: object) => {
      const client = actual.createClient(options);
      const evaluate = client.eval.bind(client);
      const length = client.lLen.bind(client);
      return Object.assign(client, {
        lLen: async (...args: Parameters<typeof length>) => {
          const reply = await length(...args);
          const switched = replies();
          const meanwhile = switched.afterNextLength;
          switched.afterNextLength = undefined;
          if (meanwhile !== undefined) await meanwhile();
          return reply;
        },
        eval: async (...args: Parameters<typeof evaluate>) => {
          const reply = await evaluate(...args);
          const switched = replies();
          if (!switched.loseNext) return reply;
          switched.loseNext = false;
          throw new Error("Socket closed unexpectedly (test: the reply was lost)");
        },
      });
    }) as typeof actual.createClient,
  };
}
