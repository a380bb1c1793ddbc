import { createClient } from "redis";

/**
 * A Redis spool key for one test file on the shared Redis (`AUDIT_TEST_REDIS_URL`, else
 * the local server): `url`, `key` (`audit-events-test:<pid>:<name>`), `admin`, a
 * connection of the test's own to look at or change the list behind the spool's back,
 * and `resetKeys()`, which deletes the list and the keys `redisSpool` keeps beside it
 * (`:bytes`, `:lock`, `:refused`). `beforeAll` opens `admin` and starts from no keys;
 * `afterAll` deletes them and closes it. Call it at the top of the file, outside any
 * `describe`.
 *
 * @example
 * ```ts
 * const { url, key, admin, resetKeys } = redisSpoolKey("close-head-moved");
 * beforeEach(resetKeys);
 * const spool = redisSpool({ url, key });
 * ```
 */
export function redisSpoolKey(name: string) {
  const url = process.env.AUDIT_TEST_REDIS_URL || "redis://127.0.0.1:6379";
  const key = `audit-events-test:${process.pid}:${name}`;
  const admin = createClient({ url });
  const resetKeys = () => admin.del([key, `${key}:bytes`, `${key}:lock`, `${key}:refused`]);
  beforeAll(async () => {
    await admin.connect();
    await resetKeys();
  });
  afterAll(async () => {
    await resetKeys();
    await admin.close();
  });
  return { url, key, admin, resetKeys };
}
