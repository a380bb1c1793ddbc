import { AuditConfigError } from "../errors";
import { DEFAULT_SPOOL_MAX_BYTES, spoolLineBytes, type AuditLogger, type AuditSpool, type SpoolBatch } from "./spool";

/** Options of {@link redisSpool}. */
export interface RedisSpoolOptions {
  /** The Redis server, e.g. `"redis://127.0.0.1:6379"`. */
  url: string;
  /**
   * The list holding the lines; `<key>:bytes` keeps their size.
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
  get(key: string): Promise<string | null>;
  lLen(key: string): Promise<number>;
  lRange(key: string, start: number, stop: number): Promise<string[]>;
  multi(): RedisMulti;
}

interface RedisMulti {
  rPush(key: string, values: string[]): RedisMulti;
  lTrim(key: string, start: number, stop: number): RedisMulti;
  incrBy(key: string, by: number): RedisMulti;
  exec(): Promise<unknown[]>;
}

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
 * checksummed lines as `fileSpool()`. An append resolves once Redis has it; how
 * durable that is depends on the server's persistence (`appendonly yes` with
 * `appendfsync always` survives a Redis crash; without persistence, a Redis
 * restart loses the spool). Commands fail at once while Redis is unreachable,
 * so events then wait in memory.
 *
 * @example
 * ```ts
 * configureAudit({ store: prismaStore(prisma), writeMode: "buffered", spool: redisSpool({ url: "redis://127.0.0.1:6379" }) });
 * ```
 * @throws {AuditConfigError} for a missing url or a bad `maxBytes`.
 */
export function redisSpool(options: RedisSpoolOptions): AuditSpool {
  if (typeof options?.url !== "string" || !/^rediss?:\/\//.test(options.url)) {
    throw new AuditConfigError('redisSpool() needs a url such as redisSpool({ url: "redis://127.0.0.1:6379" }).');
  }
  const key = options.key ?? "audit-events:spool";
  const bytesKey = `${key}:bytes`;
  const maxBytes = options.maxBytes ?? DEFAULT_SPOOL_MAX_BYTES;
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 1024) {
    throw new AuditConfigError(`redisSpool(): maxBytes must be an integer of at least 1024, got ${String(options.maxBytes)}.`);
  }
  let client: RedisClient | undefined;
  let bytes = 0;
  let lines = 0;

  function connected(): RedisClient {
    if (client === undefined) throw new AuditConfigError(`redisSpool(${key}) is not open.`);
    return client;
  }

  const sizeOf = (batch: readonly string[]) => batch.reduce((sum, line) => sum + spoolLineBytes(line), 0);

  return {
    name: `redis(${key})`,
    maxBytes,
    async open(logger: AuditLogger): Promise<void> {
      if (client !== undefined) return;
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
      let reported = false;
      created.on("error", (error: unknown) => {
        if (reported) return;
        reported = true;
        logger.warn(`audit-events: spool redis(${key}): ${error instanceof Error ? error.message : String(error)}; retrying.`);
      });
      await created.connect();
      connectedOnce = true;
      client = created;
      lines = await created.lLen(key);
      bytes = Number(await created.get(bytesKey)) || 0;
      if (lines === 0) bytes = 0;
    },
    usedBytes: () => bytes,
    count: () => lines,
    async append(added: readonly string[]): Promise<void> {
      if (added.length === 0) return;
      const size = sizeOf(added);
      await connected().multi().rPush(key, [...added]).incrBy(bytesKey, size).exec();
      bytes += size;
      lines += added.length;
    },
    async peek(max: number): Promise<SpoolBatch> {
      const found = await connected().lRange(key, 0, max - 1);
      return { lines: found, bytes: found.map(spoolLineBytes) };
    },
    async ack(batch: SpoolBatch, count = batch.lines.length): Promise<void> {
      const size = batch.bytes.slice(0, count).reduce((sum, b) => sum + b, 0);
      await connected().multi().lTrim(key, count, -1).incrBy(bytesKey, -size).exec();
      bytes = Math.max(0, bytes - size);
      lines = Math.max(0, lines - count);
    },
    async close(): Promise<void> {
      const open = client;
      client = undefined;
      await open?.close();
    },
  };
}
