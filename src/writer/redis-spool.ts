import { randomUUID } from "node:crypto";
import { AuditConfigError, AuditError, AuditStoreError } from "../errors";
import { recordMetricError } from "./metrics";
import { DEFAULT_SPOOL_MAX_BYTES, spoolLineBytes, SpoolLinesLost, type AuditLogger, type AuditSpool, type SpoolBatch } from "./spool";
import { thrownMessage } from "../thrown-message";

/** Options of {@link redisSpool}. */
export interface RedisSpoolOptions {
  /** The Redis server, e.g. `"redis://127.0.0.1:6379"`. */
  url: string;
  /**
   * The list holding the lines; `<key>:bytes` keeps their size and `<key>:lock`
   * names the one process using it.
   * @default "audit-events:spool"
   */
  key?: string;
  /** @default 1 GiB */
  maxBytes?: number;
}

/** The part of a node-redis v5+ client the spool uses. */
interface RedisClient {
  connect(): Promise<unknown>;
  close(): Promise<void>;
  on(event: "error", listener: (error: unknown) => void): unknown;
  on(event: "ready", listener: () => void): unknown;
  get(key: string): Promise<string | null>;
  set(key: string, value: string, options: { condition: "NX"; expiration: { type: "PX"; value: number } }): Promise<string | null>;
  lLen(key: string): Promise<number>;
  lRange(key: string, start: number, stop: number): Promise<string[]>;
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  multi(): RedisMulti;
}

interface RedisMulti {
  lLen(key: string): RedisMulti;
  lRange(key: string, start: number, stop: number): RedisMulti;
  get(key: string): RedisMulti;
  rPush(key: string, values: string[]): RedisMulti;
  exec(): Promise<unknown[]>;
}

/** How long the lock outlives a process that stopped renewing it (crashed). */
const LOCK_TTL_MS = 30_000;
const LOCK_RENEW_MS = 10_000;

/** Extends the lock only while it holds our token. */
const RENEW_SCRIPT = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("PEXPIRE", KEYS[1], ARGV[2]) end return 0`;
/** Deletes the lock only while it holds our token. */
const RELEASE_SCRIPT = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`;
/**
 * The most lines one `RPUSH` of {@link APPEND_SCRIPT} takes: Lua's `unpack` refuses
 * more values than its stack holds (about 8 000, "too many results to unpack"), and a
 * batch appended again after a loss can hold every line the writer keeps.
 */
const PUSH_PIECE = 1000;

/**
 * Appends only while the lock holds our token (a process that lost its lock must not
 * acknowledge events into another process's list) and only while the list still holds
 * at least ARGV[2] lines (every line counted; no acknowledgement is on its way meanwhile):
 * a list evicted or deleted under us is reported, never appended to as if
 * whole. The lines (ARGV[4] on) go in pushes of {@link PUSH_PIECE}, all in the one
 * script, so no other command sees part of them. Returns `{ "ok" }`, `{ "lock" }` or
 * `{ "lost", <length> }`.
 */
const APPEND_SCRIPT = `if redis.call("GET", KEYS[3]) ~= ARGV[1] then return {"lock"} end
local length = redis.call("LLEN", KEYS[1])
if length < tonumber(ARGV[2]) then return {"lost", length} end
for first = 4, #ARGV, ${PUSH_PIECE} do
  redis.call("RPUSH", KEYS[1], unpack(ARGV, first, math.min(first + ${PUSH_PIECE - 1}, #ARGV)))
end
redis.call("INCRBY", KEYS[2], tonumber(ARGV[3]))
return {"ok"}`;

/**
 * Trims the head only while the lock holds our token, so a process that lost its
 * lock can never trim lines another process has not stored yet, and only while the
 * head is the batch read (its first and last lines, which carry unique event ids):
 * never lines appended by another process or left after an eviction.
 * Returns `{ "ok" }`, `{ "lock" }` or `{ "moved", <length> }`.
 */
const ACK_SCRIPT = `if redis.call("GET", KEYS[3]) ~= ARGV[1] then return {"lock"} end
local count = tonumber(ARGV[2])
if redis.call("LINDEX", KEYS[1], 0) ~= ARGV[4] or redis.call("LINDEX", KEYS[1], count - 1) ~= ARGV[5] then
  return {"moved", redis.call("LLEN", KEYS[1])}
end
redis.call("LTRIM", KEYS[1], count, -1)
redis.call("INCRBY", KEYS[2], -tonumber(ARGV[3]))
return {"ok"}`;

/** Sets the byte counter only while the lock holds our token. */
const RECOUNT_SCRIPT = `if redis.call("GET", KEYS[1]) ~= ARGV[1] then return 0 end
redis.call("SET", KEYS[2], ARGV[2])
return 1`;
const RECOUNT_PAGE = 1000;

function loadRedis(): { createClient(options: object): RedisClient } {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require("redis") as { createClient(options: object): RedisClient };
  } catch {
    throw new AuditConfigError("redisSpool() needs the redis package: npm install redis");
  }
}

/**
 * A spool in a Redis list, after cased-python's "reliability backend": lines are
 * pushed at the tail and trimmed from the head once stored, with the same
 * checksummed lines as `fileSpool()` (a line refused at replay for its MAC under
 * `integrity` is moved to the list `<key>:refused`). An append resolves once Redis has it; how
 * durable that is depends on the server's persistence (`appendonly yes` with
 * `appendfsync always` survives a Redis crash; without persistence, a Redis
 * restart loses the spool). Commands fail at once while Redis is unreachable,
 * so events then go to the store directly. A lock key (`<key>:lock`, renewed while open,
 * expiring 30 s after a crash) keeps a second process off the same key: appends and
 * acknowledgements are Lua scripts that check it, so a process that lost it neither
 * appends to nor trims the list; an acknowledgement trims only when the head is the
 * lines read. A list that lost lines the process appended (evicted, deleted) is
 * reported at error level (`ERR_AUDIT_SPOOL_LOST`); it {@link AuditSpool.mayLoseLines}, so
 * the writer keeps a copy of each line it appended until the store holds its event, and
 * appends again those the list lost (only lines an earlier process left are lost, and
 * counted in `dropped`). Run its Redis with `maxmemory-policy noeviction`.
 *
 * @example
 * ```ts
 * configureAudit({ store: prismaStore(prisma), writeMode: "buffered", spool: redisSpool({ url: "redis://127.0.0.1:6379" }) });
 * ```
 * @throws {AuditConfigError} for a missing url or a bad `maxBytes`; from `open()`,
 * when another process holds the key.
 */
export function redisSpool(options: RedisSpoolOptions): AuditSpool {
  if (typeof options?.url !== "string" || !/^rediss?:\/\//.test(options.url)) {
    throw new AuditConfigError('redisSpool() needs a url such as redisSpool({ url: "redis://127.0.0.1:6379" }).');
  }
  const key = options.key ?? "audit-events:spool";
  const bytesKey = `${key}:bytes`;
  const lockKey = `${key}:lock`;
  const refusedKey = `${key}:refused`;
  const maxBytes = options.maxBytes ?? DEFAULT_SPOOL_MAX_BYTES;
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 1024) {
    throw new AuditConfigError(`redisSpool(): maxBytes must be an integer of at least 1024, got ${String(options.maxBytes)}.`);
  }
  const token = randomUUID();
  let client: RedisClient | undefined;
  let renewal: NodeJS.Timeout | undefined;
  let log: AuditLogger = console;
  let lockLostReported = false;
  let bytes = 0;
  let lines = 0;
  /**
   * Lines {@link recheck} found lost that no operation has reported yet (found by the lock's
   * renewal, or by a recheck whose operation had an error of its own): the next append,
   * read or acknowledgement throws them as a {@link SpoolLinesLost}.
   */
  let unreported = 0;
  /**
   * The last loss reported, as `<counted>><length>`, until an append or an acknowledgement
   * succeeds: another operation that saw the list in the same state reports nothing new.
   */
  let lastLossSeen: string | undefined;
  /**
   * The counting operations, one at a time: a {@link resync}, an append or an
   * acknowledgement from its send to its note of the lines it added or removed, and a read
   * or recheck from the count it compares with to the length it reads. A resync that read
   * the list while an append or acknowledgement was on its way, and set the counters
   * before or after that noted its lines, left them too low (a later loss of that many
   * lines hidden) or too high (a loss reported that did not happen), and Redis's byte
   * counter wrong; a count taken while an append was on its way hid a loss of its lines.
   */
  let counting: Promise<unknown> = Promise.resolve();

  /** Runs `work` once the counting operations before it are done (see {@link counting}). */
  function inTurn<T>(work: () => Promise<T>): Promise<T> {
    const next = counting.then(work, work);
    counting = next.catch(() => undefined);
    return next;
  }

  function connected(): RedisClient {
    if (client === undefined) throw new AuditConfigError(`redisSpool(${key}) is not open.`);
    return client;
  }

  const sizeOf = (batch: readonly string[]) => batch.reduce((sum, line) => sum + spoolLineBytes(line), 0);

  /**
   * Reads the counters from Redis (both at once), which is right even when a reply was
   * lost; no append is on its way meanwhile (see {@link counting}).
   */
  function resync(redis: RedisClient): Promise<void> {
    return inTurn(() => resyncInTurn(redis));
  }

  /** {@link resync}'s work, inside a turn of {@link counting}. */
  async function resyncInTurn(redis: RedisClient): Promise<void> {
    const [length, stored] = await redis.multi().lLen(key).get(bytesKey).exec();
    lines = Number(length);
    bytes = lines === 0 ? 0 : Number(stored) || 0;
    // maxBytes is kept by this counter: a lost one (evicted, deleted) must not read as empty.
    if (lines > 0 && stored === null) await recount(redis);
  }

  /** Sums the list's lines, a page at a time, and stores the sum as the counter (within {@link resync}). */
  async function recount(redis: RedisClient): Promise<void> {
    let total = 0;
    let counted = 0;
    for (let page: string[]; (page = await redis.lRange(key, counted, counted + RECOUNT_PAGE - 1)).length > 0; counted += page.length) {
      total += sizeOf(page);
    }
    log.warn(`audit-events: spool redis(${key}): its byte counter ${bytesKey} was missing (evicted or deleted); counted ${counted} line(s), ${total} bytes, again.`);
    await redis.eval(RECOUNT_SCRIPT, { keys: [lockKey, bytesKey], arguments: [token, String(total)] });
    lines = counted;
    bytes = total;
  }

  /**
   * Reads the counters again after an operation saw the list hold `length` lines where it
   * counted `counted` (see {@link reportLost}), and returns how many more lines are gone
   * since: the list as read now, against `length` moved by what this process appended and
   * acknowledged meanwhile. A list trimmed again between the two reads (an eviction in
   * progress, a second `LTRIM`) would otherwise be taken as never having held those lines.
   */
  function resyncAfterLoss(redis: RedisClient, length: number, counted: number): Promise<number> {
    return inTurn(async () => {
      const expected = length + (lines - counted);
      await resyncInTurn(redis);
      return Math.max(0, expected - lines);
    });
  }

  /**
   * The list holds `length` lines where this process counted more: lines it had
   * appended (acknowledged) are gone, evicted (`maxmemory-policy allkeys-lru`) or
   * deleted from outside. The counters are read again, with the lines lost since (see
   * {@link resyncAfterLoss}), and the loss is reported at error level (`lastError` with
   * `ERR_AUDIT_SPOOL_LOST`). Returns how many lines were lost: 0 when none was (merely a
   * reply that was lost). The writer counts in `dropped` those it held no copy of.
   * `counted` is the count `length` is compared with, as it was when Redis ran the
   * command that read `length` (see {@link counting}); `least` the fewest lines the list
   * may hold without a loss (fewer than `counted` after an acknowledgement whose reply
   * was lost).
   */
  async function reportLost(redis: RedisClient, length: number, counted: number, least = counted): Promise<number> {
    const since = await resyncAfterLoss(redis, length, counted);
    const lost = Math.max(0, least - length) + since;
    // Operations sent together (the writer reads the spool back while it appends) see one
    // loss alike, each compared with the count it was sent with: it is logged once.
    const seen = `${counted}>${length}`;
    if (lost > 0 && seen !== lastLossSeen) {
      lastLossSeen = seen;
      const error = new AuditError(
        "ERR_AUDIT_SPOOL_LOST",
        `audit-events: spool redis(${key}): the list holds ${length} line(s)${since > 0 ? ` (then ${since} fewer)` : ""} where ${counted} were appended and not yet acknowledged: ${lost} acknowledged event(s) were removed from it by Redis (eviction: set maxmemory-policy noeviction) or by another client. ` +
          "The writer appends again those it holds copies of; the others (left by an earlier process) are lost, and counted in dropped.",
      );
      recordMetricError(error);
      (log.error ?? log.warn).call(log, error.message);
    }
    return lost;
  }

  /**
   * What an operation that found `lost` lines lost throws: the writer must append again
   * the lines it holds copies of, which the list no longer has (see {@link reportLost}).
   */
  function lostError(doing: string, lost: number): SpoolLinesLost {
    return new SpoolLinesLost(lost, `redisSpool(${key}): ${doing} found the list short of ${lost} line(s) appended; the writer appends again the lines it holds copies of.`);
  }

  /**
   * Reads the counters again where a reply was lost or the lock was taken back, and
   * reports (see {@link reportLost}) the lines the list lost meanwhile: a list lost
   * together with the reply that would have said so, or with the lock (Redis restarted
   * empty, `FLUSHALL`), must not be taken as whole. `trimmed` lines may be gone without a
   * loss: those of an acknowledgement whose reply was lost (Redis may have run it). The
   * lines lost are added to {@link unreported}.
   */
  async function recheck(redis: RedisClient, trimmed = 0): Promise<void> {
    const seen = await inTurn(async () => ({ counted: lines, length: await redis.lLen(key) }));
    // Also when the length seen shows no loss: lines removed before the counters are read
    // again must not be taken as never held (see resyncAfterLoss).
    unreported += await reportLost(redis, seen.length, seen.counted, seen.counted - trimmed);
  }

  /** Throws the loss {@link recheck} found and no operation reported yet, if any. */
  function throwUnreported(doing: string): void {
    if (unreported === 0) return;
    const lost = unreported;
    unreported = 0;
    throw lostError(doing, lost);
  }

  /**
   * After an error the command may have run anyway: recheck (allowing the `trimmed` lines of
   * an acknowledgement), then report a loss found, else the error.
   */
  async function resyncAndThrow(redis: RedisClient, error: unknown, doing: string, trimmed = 0): Promise<never> {
    await recheck(redis, trimmed).catch(() => undefined);
    throwUnreported(doing);
    throw error;
  }

  /** Takes the lock if nobody holds it (ours expired while Redis was out of reach). */
  async function retakeLock(redis: RedisClient): Promise<boolean> {
    const taken = (await redis.set(lockKey, token, { condition: "NX", expiration: { type: "PX", value: LOCK_TTL_MS } })) !== null;
    if (taken) {
      lockLostReported = false;
      // Another process may have used the key in between, or Redis lost it with the list.
      await recheck(redis);
    } else if (!lockLostReported) {
      lockLostReported = true;
      log.warn(`audit-events: spool redis(${key}): another process took ${lockKey}; this one no longer removes lines from it. Give each process its own key.`);
    }
    return taken;
  }

  async function renewLock(): Promise<void> {
    const redis = client;
    if (redis === undefined) return;
    const renewed = await redis.eval(RENEW_SCRIPT, { keys: [lockKey], arguments: [token, String(LOCK_TTL_MS)] });
    if (renewed !== 1) await retakeLock(redis);
  }

  return {
    name: `redis(${key})`,
    maxBytes,
    mayLoseLines: true,
    async open(logger: AuditLogger): Promise<void> {
      if (client !== undefined) return;
      log = logger;
      let connectedOnce = false;
      const created = loadRedis().createClient({
        url: options.url,
        disableOfflineQueue: true,
        // A first connection that fails is reported to the caller; a lost one is retried.
        socket: {
          reconnectStrategy: (retries: number, cause: Error) =>
            connectedOnce ? Math.min(100 * 2 ** retries, 5000) : new Error(`redis(${key}): cannot connect to ${options.url}: ${cause.message}`, { cause }),
        },
      });
      // One warning per outage: the client reports every failed reconnection attempt.
      let reported = false;
      created.on("error", (error: unknown) => {
        if (reported) return;
        reported = true;
        logger.warn(`audit-events: spool redis(${key}): ${thrownMessage(error)}; retrying.`);
      });
      created.on("ready", () => {
        reported = false;
      });
      await created.connect();
      connectedOnce = true;
      const locked = await created.set(lockKey, token, { condition: "NX", expiration: { type: "PX", value: LOCK_TTL_MS } }).catch((error: unknown) => created.close().then(() => Promise.reject(error)));
      if (locked === null) {
        await created.close();
        throw new AuditConfigError(
          `redisSpool(): the key ${key} is in use by another process (it holds ${lockKey}; a crashed holder's lock expires within ${LOCK_TTL_MS / 1000} s). Give each process its own key, such as redisSpool({ url, key: "audit-events:spool:<host>:<worker>" }).`,
        );
      }
      try {
        await resync(created);
      } catch (error) {
        await created.eval(RELEASE_SCRIPT, { keys: [lockKey], arguments: [token] }).catch(() => undefined);
        await created.close();
        throw error;
      }
      client = created;
      lockLostReported = false;
      unreported = 0;
      lastLossSeen = undefined;
      renewal = setInterval(() => {
        // A failed renewal is retried at the next tick; the "error" listener reports outages.
        renewLock().catch(() => undefined);
      }, LOCK_RENEW_MS);
      renewal.unref();
    },
    usedBytes: () => bytes,
    count: () => lines,
    async append(added: readonly string[]): Promise<void> {
      if (added.length === 0) return;
      const redis = connected();
      throwUnreported("an append (not made)");
      const size = sizeOf(added);
      let reply: unknown;
      // What the list held, as counted, when Redis ran it (see counting).
      let before = lines;
      try {
        reply = await inTurn(async () => {
          before = lines;
          const answer = await redis.eval(APPEND_SCRIPT, { keys: [key, bytesKey, lockKey], arguments: [token, String(lines), String(size), ...added] });
          if ((answer as [string])[0] === "ok") {
            bytes += size;
            lines += added.length;
            lastLossSeen = undefined;
          }
          return answer;
        });
      } catch (error) {
        await resyncAndThrow(redis, error, "an append (whose reply was lost)");
      }
      const [outcome, length] = reply as [string, number?];
      if (outcome === "lock") {
        await retakeLock(redis);
        throwUnreported("an append (not made)");
        throw new AuditStoreError(`redisSpool(${key}): the lock ${lockKey} expired or was taken by another process; these events were not appended (the writer stores them directly and tries the spool again).`);
      }
      if (outcome === "lost") {
        // Thrown even when no line was lost after all (the count it checked was out of date): nothing was appended.
        throw lostError("an append (not made)", await reportLost(redis, Number(length), before));
      }
    },
    async peek(max: number): Promise<SpoolBatch> {
      const redis = connected();
      throwUnreported("a read");
      // The length with the lines, at once: a list that lost lines anywhere (a head trimmed
      // by another client, not only a list gone) is found by any read, even of one line.
      const read = await inTurn(async () => {
        const count = lines;
        const [found, length] = (await redis.multi().lRange(key, 0, max - 1).lLen(key).exec()) as [string[], number];
        return { count, found, length: Number(length) };
      });
      if (read.length < read.count) {
        const lost = await reportLost(redis, read.length, read.count);
        if (lost > 0) throw lostError("a read", lost);
      }
      return { lines: read.found, bytes: read.found.map(spoolLineBytes) };
    },
    async ack(batch: SpoolBatch, count = batch.lines.length): Promise<void> {
      if (count === 0) return;
      const redis = connected();
      throwUnreported("an acknowledgement (not made)");
      const size = batch.bytes.slice(0, count).reduce((sum, b) => sum + b, 0);
      let reply: unknown;
      // What the list held, as counted, when Redis ran it (see counting).
      let before = lines;
      try {
        reply = await inTurn(async () => {
          before = lines;
          const answer = await redis.eval(ACK_SCRIPT, {
            keys: [key, bytesKey, lockKey],
            arguments: [token, String(count), String(size), batch.lines[0]!, batch.lines[count - 1]!],
          });
          if ((answer as [string])[0] === "ok") {
            bytes = Math.max(0, bytes - size);
            lines = Math.max(0, lines - count);
            lastLossSeen = undefined;
          }
          return answer;
        });
      } catch (error) {
        await resyncAndThrow(redis, error, "an acknowledgement (whose reply was lost)", count);
      }
      const [outcome, length] = reply as [string, number?];
      if (outcome === "lock") {
        // The batch was read under a lock we no longer hold: it may not be the head now.
        await retakeLock(redis);
        throwUnreported("an acknowledgement (not made)");
        throw new AuditStoreError(`redisSpool(${key}): the lock ${lockKey} expired or was taken before these lines were acknowledged; they stay in the spool and are read again.`);
      }
      if (outcome === "moved") {
        const lost = await reportLost(redis, Number(length), before);
        if (lost > 0) throw lostError("an acknowledgement", lost);
        throw new AuditStoreError(`redisSpool(${key}): the list's head is not the lines read; nothing was trimmed, and the writer reads the list again.`);
      }
    },
    async lacking(asked: readonly string[]): Promise<Set<string>> {
      const redis = connected();
      const missing = new Set(asked);
      // A page at a time from the tail back: lines trimmed from the head meanwhile move no
      // line's place counted from the tail, and lines appended meanwhile only make a page
      // read again lines of the one before, never skip one. A short page is the head.
      for (let from = 0; missing.size > 0; from += RECOUNT_PAGE) {
        const page = await redis.lRange(key, -(from + RECOUNT_PAGE), -(from + 1));
        for (const line of page) missing.delete(line);
        if (page.length < RECOUNT_PAGE) break;
      }
      return missing;
    },
    asideName: `redis list ${refusedKey}`,
    async setAside(refused: readonly string[]): Promise<void> {
      if (refused.length === 0) return;
      await connected().multi().rPush(refusedKey, [...refused]).exec();
    },
    async close(): Promise<void> {
      const open = client;
      client = undefined;
      clearInterval(renewal);
      renewal = undefined;
      if (open === undefined) return;
      // Unreachable Redis: the lock then expires by itself.
      await open.eval(RELEASE_SCRIPT, { keys: [lockKey], arguments: [token] }).catch(() => undefined);
      await open.close();
    },
  };
}
