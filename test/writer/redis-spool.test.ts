import { createClient, type RedisClientType } from "redis";
import { redisSpool, AuditConfigError, AuditStoreError } from "../../src";
import { describeSpoolConformance, recordingLogger } from "./spool-conformance";

/**
 * Every client the spool creates, and a switch that makes the next transaction or
 * script lose its reply after Redis ran it (as when a connection drops at that moment).
 */
const mockRedisLab = { clients: [] as RedisClientType[], loseNextReply: false };

function mockLoseReply<T>(reply: T): T {
  if (!mockRedisLab.loseNextReply) return reply;
  mockRedisLab.loseNextReply = false;
  throw new Error("Socket closed unexpectedly (test: the reply was lost)");
}

jest.mock("redis", () => {
  const actual = jest.requireActual<typeof import("redis")>("redis");
  return {
    ...actual,
    createClient: (options: object) => {
      const client = actual.createClient(options) as RedisClientType;
      mockRedisLab.clients.push(client);
      return new Proxy(client, {
        get(target, property) {
          const value: unknown = Reflect.get(target, property, target);
          if (typeof value !== "function") return value;
          if (property === "eval") {
            return async (...args: unknown[]) => mockLoseReply(await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args));
          }
          if (property === "multi") {
            return () => {
              const multi = (value as () => { exec(): Promise<unknown> }).apply(target);
              const exec = multi.exec.bind(multi);
              multi.exec = async () => mockLoseReply(await exec());
              return multi;
            };
          }
          return (value as (...a: unknown[]) => unknown).bind(target);
        },
      });
    },
  };
});

const url = process.env.AUDIT_TEST_REDIS_URL || "redis://127.0.0.1:6379";
const key = `audit-events-test:${process.pid}:spool`;
const lockKey = `${key}:lock`;
const admin = createClient({ url });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => Promise<boolean>): Promise<void> {
  for (let waited = 0; !(await condition()); waited += 10) {
    if (waited > 20_000) throw new Error("timed out");
    await sleep(10);
  }
}

beforeAll(async () => {
  await admin.connect().catch((error: unknown) => {
    throw new Error(`Redis is not reachable at ${url}: start it (redis-server --daemonize yes) or set AUDIT_TEST_REDIS_URL.`, { cause: error });
  });
});
afterAll(async () => {
  await admin.del([key, `${key}:bytes`, lockKey]);
  await admin.close();
});

describeSpoolConformance("redisSpool()", {
  open: (o) => redisSpool({ url, key, ...o }),
  reset: async () => {
    await admin.del([key, `${key}:bytes`, lockKey]);
  },
  storedBytes: async () => (await admin.lRange(key, 0, -1)).reduce((sum, line) => sum + Buffer.byteLength(line) + 1, 0),
});

describe("redisSpool()", () => {
  beforeEach(async () => {
    mockRedisLab.loseNextReply = false;
    await admin.del([key, `${key}:bytes`, lockKey]);
  });

  it("keeps its lines in the named list", async () => {
    const spool = redisSpool({ url, key });
    await spool.open(recordingLogger());
    await spool.append(["one", "two"]);
    expect(await admin.lRange(key, 0, -1)).toEqual(["one", "two"]);
    expect(await admin.get(`${key}:bytes`)).toBe("8");
    await spool.close();
  });

  it("refuses a second process on the same key while the first has it open, and opens once the first closed", async () => {
    const first = redisSpool({ url, key });
    await first.open(recordingLogger());
    const second = redisSpool({ url, key });
    const refused = second.open(recordingLogger());
    await expect(refused).rejects.toThrow(AuditConfigError);
    await expect(refused).rejects.toThrow(/in use by another process.*Give each process its own key/);
    await first.append(["kept"]);
    await first.close();
    expect(await admin.exists(lockKey)).toBe(0);
    await second.open(recordingLogger());
    expect((await second.peek(10)).lines).toEqual(["kept"]);
    await second.close();
  });

  it("takes over a lock whose holder crashed, once it expired", async () => {
    // Long enough that the first open (a new connection) meets the lock on a loaded machine;
    // then Redis's own expiry is waited for, not assumed done after a fixed time.
    await admin.set(lockKey, "token-of-a-crashed-process", { expiration: { type: "PX", value: 3000 } });
    await expect(redisSpool({ url, key }).open(recordingLogger())).rejects.toThrow(/in use/);
    await until(async () => (await admin.exists(lockKey)) === 0);
    const spool = redisSpool({ url, key });
    await spool.open(recordingLogger());
    expect(await admin.get(lockKey)).not.toBe("token-of-a-crashed-process");
    expect(await admin.pTTL(lockKey)).toBeGreaterThan(20_000);
    await spool.close();
  });

  it("never trims lines once another process took its lock, and says so", async () => {
    const logger = recordingLogger();
    const spool = redisSpool({ url, key });
    await spool.open(logger);
    await spool.append(["a", "b", "c"]);
    const batch = await spool.peek(2);
    // Our lock expired (Redis out of reach too long) and another process took the key.
    await admin.set(lockKey, "another-process");
    await expect(spool.ack(batch)).rejects.toThrow(AuditStoreError);
    expect(await admin.lRange(key, 0, -1)).toEqual(["a", "b", "c"]);
    expect(logger.warnings.join("\n")).toMatch(/another process took .*:lock/);
    // Once that process is gone, the lock is taken back and acknowledging works after a new read.
    await admin.del(lockKey);
    await expect(spool.ack(batch)).rejects.toThrow(/read again/);
    await spool.ack(await spool.peek(2));
    expect(await admin.lRange(key, 0, -1)).toEqual(["c"]);
    expect(spool.count()).toBe(1);
    await spool.close();
  });

  it("keeps its counts right when Redis ran an append but the reply was lost", async () => {
    const spool = redisSpool({ url, key });
    await spool.open(recordingLogger());
    await spool.append(["a"]);
    mockRedisLab.loseNextReply = true;
    await expect(spool.append(["bb", "ccc"])).rejects.toThrow(/reply was lost/);
    expect(spool.count()).toBe(3);
    expect(spool.usedBytes()).toBe(2 + 3 + 4);
    await spool.close();
  });

  it("keeps its counts right when Redis ran an acknowledgement but the reply was lost", async () => {
    const spool = redisSpool({ url, key });
    await spool.open(recordingLogger());
    await spool.append(["a", "bb", "ccc"]);
    const read = await spool.peek(2);
    mockRedisLab.loseNextReply = true;
    await expect(spool.ack(read)).rejects.toThrow(/reply was lost/);
    expect(spool.count()).toBe(1);
    expect(spool.usedBytes()).toBe(4);
    expect((await spool.peek(10)).lines).toEqual(["ccc"]);
    await spool.close();
  });

  it("recounts when it reads fewer lines than it counted, and says they were lost (the writer appends again what it holds)", async () => {
    const spool = redisSpool({ url, key });
    await spool.open(recordingLogger());
    await spool.append(["a", "bb", "ccc"]);
    await admin.multi().lTrim(key, 2, -1).decrBy(`${key}:bytes`, 5).exec();
    await expect(spool.peek(10)).rejects.toMatchObject({ code: "ERR_AUDIT_SPOOL_LOST" });
    expect((await spool.peek(10)).lines).toEqual(["ccc"]);
    expect(spool.count()).toBe(1);
    expect(spool.usedBytes()).toBe(4);
    await spool.close();
  });

  it("counts its lines again when its byte counter was lost, so maxBytes still holds", async () => {
    const first = redisSpool({ url, key });
    await first.open(recordingLogger());
    const lines = Array.from({ length: 2500 }, (_, i) => `line-${i}`);
    await first.append(lines);
    await first.close();
    await admin.del(`${key}:bytes`);
    const logger = recordingLogger();
    const again = redisSpool({ url, key });
    await again.open(logger);
    const bytes = lines.reduce((sum, line) => sum + line.length + 1, 0);
    expect(again.usedBytes()).toBe(bytes);
    expect(await admin.get(`${key}:bytes`)).toBe(String(bytes));
    expect(logger.warnings.join("\n")).toMatch(/byte counter .* was missing .*; counted 2500 line\(s\)/);
    await again.ack(await again.peek(500));
    expect(again.usedBytes()).toBe(bytes - lines.slice(0, 500).reduce((sum, line) => sum + line.length + 1, 0));
    await again.close();
  });

  it("warns once per outage, and again for the next one", async () => {
    const logger = recordingLogger();
    const spool = redisSpool({ url, key });
    mockRedisLab.clients.length = 0;
    await spool.open(logger);
    try {
      const client = mockRedisLab.clients[0]!;
      for (let outage = 0; outage < 2; outage++) {
        const before = await client.clientId();
        await admin.sendCommand(["CLIENT", "KILL", "ID", String(before)]);
        await until(async () => (await client.clientId().catch(() => before)) !== before);
      }
      expect(logger.warnings.filter((w) => /Socket closed unexpectedly; retrying/.test(w))).toHaveLength(2);
    } finally {
      await spool.close();
    }
  });

  it("fails to open, clearly, when Redis does not answer", async () => {
    const spool = redisSpool({ url: "redis://127.0.0.1:1", key });
    await expect(spool.open(recordingLogger())).rejects.toThrow(/ECONNREFUSED|connect/);
    await spool.close();
  });

  it("names the fix for bad options", () => {
    expect(() => redisSpool({ url: "127.0.0.1:6379" })).toThrow(AuditConfigError);
    expect(() => redisSpool({ url, maxBytes: 1 })).toThrow(/at least 1024/);
  });
});
