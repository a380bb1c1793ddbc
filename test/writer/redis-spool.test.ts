import { createClient } from "redis";
import { redisSpool, AuditConfigError } from "../../src";
import { describeSpoolConformance, recordingLogger } from "./spool-conformance";

const url = process.env.AUDIT_TEST_REDIS_URL || "redis://127.0.0.1:6379";
const key = `audit-events-test:${process.pid}:spool`;
const admin = createClient({ url });

beforeAll(async () => {
  await admin.connect().catch((error: unknown) => {
    throw new Error(`Redis is not reachable at ${url}: start it (redis-server --daemonize yes) or set AUDIT_TEST_REDIS_URL.`, { cause: error });
  });
});
afterAll(async () => {
  await admin.del([key, `${key}:bytes`]);
  await admin.close();
});

describeSpoolConformance("redisSpool()", {
  open: (o) => redisSpool({ url, key, ...o }),
  reset: async () => {
    await admin.del([key, `${key}:bytes`]);
  },
});

describe("redisSpool()", () => {
  it("keeps its lines in the named list", async () => {
    await admin.del([key, `${key}:bytes`]);
    const spool = redisSpool({ url, key });
    await spool.open(recordingLogger());
    await spool.append(["one", "two"]);
    expect(await admin.lRange(key, 0, -1)).toEqual(["one", "two"]);
    expect(await admin.get(`${key}:bytes`)).toBe("8");
    await spool.close();
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
