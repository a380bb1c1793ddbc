import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { crc32 } from "node:zlib";

import fc from "fast-check";
import { createClient } from "redis";

import { AuditContext, auditMetrics, closeAudit, configureAudit, fileSpool, flushAudit, memoryStore, redisSpool, type AuditSpool, type MemoryStore } from "../../src";
import { resolveIntegrityKeys } from "../../src/integrity/integrity-keys";
import { decodeSpoolLine, encodeSpoolLine } from "../../src/writer/spool-line";
import { sampleRecord } from "../conformance/store-conformance";

const KEY = "the integrity key, 32 characters+";
const OLD_KEY = Buffer.alloc(32, 9);
const ring = resolveIntegrityKeys(KEY);

/** A line with its CRC32 made right again after an edit, as a forger would. */
function withCrc(rest: string): string {
  return `${crc32(rest).toString(16).padStart(8, "0")} ${rest}`;
}

describe("spool lines under an integrity key", () => {
  it("carry the key id and an HMAC, and read back under the key, or under no key", () => {
    const row = { ...sampleRecord() };
    const line = encodeSpoolLine(row, ring.signing);
    expect(line).toMatch(new RegExp(`^[0-9a-f]{8} hmac=${ring.signing.id}:[0-9a-f]{64} \\{`));
    expect(decodeSpoolLine(line, ring)).toEqual({ row });
    expect(decodeSpoolLine(line)).toEqual({ row });
  });

  it("refuse any edit whose CRC32 was recomputed, as unauthentic", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 20 }), fc.nat(), (text, at) => {
        const line = encodeSpoolLine({ ...sampleRecord({ content: { note: text } }) }, ring.signing);
        const json = line.slice(line.indexOf(" {") + 1);
        const i = at % json.length;
        const edited = `${json.slice(0, i)}${json[i] === "1" ? "2" : "1"}${json.slice(i + 1)}`;
        const forged = withCrc(`${line.slice(9, line.indexOf(" {"))} ${edited}`);
        expect(decodeSpoolLine(forged, ring)).toEqual({ problem: expect.stringMatching(/does not match .*edited or forged/), unauthentic: true });
      }),
    );
  });

  it("refuse a line stripped of its MAC, one made under another key, and a malformed MAC", () => {
    const line = encodeSpoolLine({ ...sampleRecord() }, ring.signing);
    const json = line.slice(line.indexOf(" {") + 1);
    expect(decodeSpoolLine(withCrc(json), ring)).toEqual({ problem: expect.stringMatching(/carries no MAC while integrity.key is configured/), unauthentic: true });
    const other = resolveIntegrityKeys([{ id: "old", secret: OLD_KEY }]);
    expect(decodeSpoolLine(encodeSpoolLine({ ...sampleRecord() }, other.signing), ring)).toEqual({ problem: expect.stringMatching(/key "old", which integrity.key does not hold/), unauthentic: true });
    // A forger who names the right key id but signs with his own key.
    const impostor = { id: ring.signing.id, secret: OLD_KEY };
    expect(decodeSpoolLine(encodeSpoolLine({ ...sampleRecord() }, impostor), ring)).toMatchObject({ unauthentic: true });
    expect(decodeSpoolLine(withCrc(`hmac=nohex ${json}`), ring)).toEqual({ problem: expect.stringMatching(/malformed/), unauthentic: true });
    // Corruption that breaks the CRC32 stays what it was: a bad line, not a forgery.
    expect(decodeSpoolLine(line.replace("refund", "refunD"), ring)).toEqual({ problem: expect.stringMatching(/checksum mismatch/) });
  });

  it("read under any key of a rotation list, whatever characters the key id holds", () => {
    const rotated = resolveIntegrityKeys([{ id: "new:2027=a", secret: KEY }, { id: "old", secret: OLD_KEY }]);
    const old = resolveIntegrityKeys([{ id: "old", secret: OLD_KEY }]);
    for (const key of [rotated.signing, old.signing]) {
      const row = { ...sampleRecord() };
      expect(decodeSpoolLine(encodeSpoolLine(row, key), rotated)).toEqual({ row });
    }
  });
});

/** A memory store that is down while `down` is set: its writes fail as a lost connection does. */
function switchableStore(): MemoryStore & { down: boolean } {
  const inner = memoryStore();
  const store = Object.create(inner) as MemoryStore & { down: boolean };
  store.down = true;
  const fail = () => Promise.reject(new Error("connect ECONNREFUSED 127.0.0.1:5432 (test)"));
  store.writeRows = (rows) => (store.down ? fail() : inner.writeRows(rows));
  store.insert = (records, options) => (store.down ? fail() : inner.insert(records, options));
  return store;
}

function recordingLogger() {
  const errors: string[] = [];
  const warnings: string[] = [];
  return { errors, warnings, warn: (m: string) => warnings.push(m), error: (m: string) => errors.push(m) };
}

/** How a test reaches into a spool's storage, as an attacker with access to it would. */
interface SpoolUnderTest {
  make(): AuditSpool;
  lines(): Promise<string[]>;
  replace(lines: string[]): Promise<void>;
  refused(): Promise<string[]>;
  reset(): Promise<void>;
}

const dir = mkdtempSync(path.join(tmpdir(), "audit-spool-mac-"));
const file = path.join(dir, "spool.log");
const redisUrl = process.env.AUDIT_TEST_REDIS_URL || "redis://127.0.0.1:6379";
const redisKey = `audit-events-test:${process.pid}:spool-mac`;
const admin = createClient({ url: redisUrl });

beforeAll(async () => {
  await admin.connect();
});
afterAll(async () => {
  await closeAudit().catch(() => undefined);
  await admin.del([redisKey, `${redisKey}:bytes`, `${redisKey}:lock`, `${redisKey}:refused`]);
  await admin.close();
  rmSync(dir, { recursive: true, force: true });
});

const spools: Array<[string, SpoolUnderTest]> = [
  [
    "fileSpool()",
    {
      make: () => fileSpool({ path: file }),
      lines: async () => (existsSync(file) ? readFileSync(file, "utf8").split("\n").filter((l) => l.length > 0) : []),
      replace: async (lines) => writeFileSync(file, lines.map((l) => `${l}\n`).join("")),
      refused: async () => (existsSync(`${file}.refused`) ? readFileSync(`${file}.refused`, "utf8").split("\n").filter((l) => l.length > 0) : []),
      reset: async () => {
        for (const f of [file, `${file}.head`, `${file}.lock`, `${file}.refused`]) rmSync(f, { force: true });
      },
    },
  ],
  [
    "redisSpool()",
    {
      make: () => redisSpool({ url: redisUrl, key: redisKey }),
      lines: () => admin.lRange(redisKey, 0, -1),
      replace: async (lines) => {
        await admin.del(redisKey);
        if (lines.length > 0) await admin.rPush(redisKey, lines);
        await admin.set(`${redisKey}:bytes`, String(lines.reduce((sum, l) => sum + Buffer.byteLength(l) + 1, 0)));
      },
      refused: () => admin.lRange(`${redisKey}:refused`, 0, -1),
      reset: async () => {
        await admin.del([redisKey, `${redisKey}:bytes`, `${redisKey}:lock`, `${redisKey}:refused`]);
      },
    },
  ],
];

describe.each(spools)("%s with integrity.key", (_name, subject) => {
  let store: ReturnType<typeof switchableStore>;
  let logger: ReturnType<typeof recordingLogger>;

  beforeEach(async () => {
    await subject.reset();
    store = switchableStore();
    logger = recordingLogger();
  });
  afterEach(async () => {
    await closeAudit();
  });

  /** Spools `count` events while the store is down, then closes, as a process that ends during an outage; `key` null: without integrity. */
  async function spoolWhileDown(count: number, key: unknown = KEY): Promise<string[]> {
    const spool = subject.make();
    configureAudit({ store, writeMode: "buffered", flushIntervalMs: 5, spool, logger, ...(key === null ? {} : { integrity: { key: key as string } }) });
    const context = new AuditContext({ extraData: { job: "spool-mac" } });
    for (let i = 0; i < count; i++) await context.createEvent({ contentType: "Order", objectId: String(i) }, { amount: i });
    await flushAudit().catch(() => undefined);
    await closeAudit();
    return subject.lines();
  }

  /** Starts the next process on the same spool with the store up, and lets it replay. */
  async function replay(key: unknown = KEY): Promise<void> {
    store.down = false;
    configureAudit({ store, writeMode: "buffered", flushIntervalMs: 5, spool: subject.make(), logger, integrity: { key: key as never } });
    await flushAudit();
  }

  it("signs every line it spools, replays them all, and refuses an edited one: reported whole, counted, kept aside", async () => {
    const lines = await spoolWhileDown(5);
    expect(lines).toHaveLength(5);
    for (const line of lines) expect(line).toMatch(new RegExp(`^[0-9a-f]{8} hmac=${ring.signing.id}:[0-9a-f]{64} `));
    // An attacker with access to the spool changes who paid, and fixes the CRC32.
    const rest = lines[2]!.slice(9).replace('"amount":2', '"amount":2000');
    expect(rest).not.toBe(lines[2]!.slice(9));
    const edited = withCrc(rest);
    await subject.replace([...lines.slice(0, 2), edited, ...lines.slice(3)]);
    const rejectedBefore = auditMetrics().rejected;
    await replay();
    expect(store.list().map((e) => e.objectId).sort()).toEqual(["0", "1", "3", "4"]);
    expect(store.list().some((e) => e.content.amount === 2000)).toBe(false);
    expect(auditMetrics().rejected - rejectedBefore).toBe(1);
    expect(auditMetrics().lastError).toMatch(/refused a line at replay/);
    expect(logger.errors).toHaveLength(1);
    expect(logger.errors[0]).toMatch(/refused a line at replay: its MAC does not match .*edited or forged.*The line, whole: /);
    expect(logger.errors[0]!.endsWith(edited)).toBe(true);
    expect(await subject.refused()).toEqual([edited]);
    expect(await subject.lines()).toEqual([]);
  });

  it("refuses a forged line, and lines written before the key was configured, with what to do", async () => {
    const unsigned = await spoolWhileDown(2, null);
    for (const line of unsigned) expect(line).not.toContain("hmac=");
    const forged = withCrc(`hmac=${ring.signing.id}:${"ab".repeat(32)} ${unsigned[0]!.slice(9)}`);
    await subject.replace([...unsigned, forged]);
    await replay();
    expect(store.list()).toEqual([]);
    expect(logger.errors).toHaveLength(3);
    expect(logger.errors.slice(0, 2).every((m) => /carries no MAC while integrity.key is configured .*replay it from a process configured with the key it was written under, or without integrity/.test(m))).toBe(true);
    expect(logger.errors[2]).toMatch(/its MAC does not match/);
    expect(await subject.refused()).toEqual([...unsigned, forged]);
  });

  it("replays lines of a key that was rotated out of signing but kept for verifying, and refuses them once it is dropped", async () => {
    const lines = await spoolWhileDown(3, [{ id: "2026", secret: OLD_KEY }]);
    await replay([{ id: "2027", secret: KEY }, { id: "2026", secret: OLD_KEY }]);
    expect(store.list()).toHaveLength(3);
    await closeAudit();
    store = switchableStore();
    await subject.replace(lines);
    await replay([{ id: "2027", secret: KEY }]);
    expect(store.list()).toEqual([]);
    expect(logger.errors.at(-1)).toMatch(/key "2026", which integrity.key does not hold/);
    expect(await subject.refused()).toEqual(lines);
  });
});
