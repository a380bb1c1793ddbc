/** A switch: when `loseNext` is set, the spool's next Lua script runs in Redis but its reply is lost (the connection dropped then). */
export interface ReplySwitch {
  loseNext: boolean;
}

/**
 * The `redis` module for `jest.mock("redis", ...)`: the real one, whose clients' `eval`
 * throws "Socket closed unexpectedly" instead of returning the reply once `replies()`
 * says `loseNext` (and clears it). `replies` is called at each script, not when the mock
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
      return Object.assign(client, {
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
