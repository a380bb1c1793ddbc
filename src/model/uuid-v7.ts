import { randomFillSync } from "node:crypto";

// UUID version 7 (RFC 9562, section 5.7) for ids made on the request path: an event's id
// and a request's id, two per request. The `uuid` package allocates two typed arrays and
// joins twenty strings per id and refills its 256-byte random pool every 16 ids; this
// makes one string per id from a pool refilled every few hundred ids. The layout follows
// the `uuid` package's: 48 bits of Unix milliseconds, then a 32-bit counter (RFC 9562
// method 1, seeded at random each millisecond) across `rand_a` and the top of `rand_b`,
// then 42 random bits, so ids made in one process are strictly increasing.

/** Random bytes drawn at once: an id takes 6 (and 4 more in a new millisecond), so one draw serves 400 to 680 ids. */
const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
let poolAt = POOL_BYTES;

/** The 36 characters of an id, written in place, then read out as one string. */
const text = Buffer.from("00000000-0000-7000-8000-000000000000", "latin1");
/** The character codes of byte `b`'s two lower-case hex digits: `HEX_HIGH[b]`, then `HEX_LOW[b]`. */
const HEX_HIGH = new Uint8Array(256);
const HEX_LOW = new Uint8Array(256);
for (let b = 0; b < 256; b++) {
  const hex = b.toString(16).padStart(2, "0");
  HEX_HIGH[b] = hex.charCodeAt(0);
  HEX_LOW[b] = hex.charCodeAt(1);
}

let lastMillis = -Infinity;
let counter = 0;

function randomBytes(count: number): number {
  if (poolAt + count > POOL_BYTES) {
    randomFillSync(pool);
    poolAt = 0;
  }
  const at = poolAt;
  poolAt += count;
  return at;
}

function writeByte(at: number, byte: number): void {
  text[at] = HEX_HIGH[byte]!;
  text[at + 1] = HEX_LOW[byte]!;
}

/**
 * A new UUID v7 (RFC 9562) in its lower-case text form, and the Unix time in milliseconds
 * it carries. Ids made in one process are strictly increasing, even within a millisecond
 * (a 32-bit counter, seeded at random each millisecond, moves the time on by one
 * millisecond in the rare case it wraps, as the `uuid` package does).
 *
 * @example
 * ```ts
 * const { id, millis } = uuidV7(); // { id: "019ad4e2-5c1a-7f3b-9d2e-4b1c0a9e8f77", millis: 1764573510170 }
 * ```
 */
export function uuidV7(): { id: string; millis: number } {
  const now = Date.now();
  if (now > lastMillis) {
    const at = randomBytes(4);
    // 31 random bits: the counter keeps room to count up within this millisecond.
    counter = pool.readUInt32BE(at) >>> 1;
    lastMillis = now;
  } else {
    counter = (counter + 1) | 0;
    if (counter === 0) lastMillis++;
  }
  const millis = lastMillis;
  const seq = counter;
  const tail = randomBytes(6);
  // 48-bit time: the top 16 bits, then the low 32.
  const high = Math.floor(millis / 0x1_0000_0000);
  const low = millis >>> 0;
  writeByte(0, (high >>> 8) & 0xff);
  writeByte(2, high & 0xff);
  writeByte(4, low >>> 24);
  writeByte(6, (low >>> 16) & 0xff);
  writeByte(9, (low >>> 8) & 0xff);
  writeByte(11, low & 0xff);
  // Version 7 and the counter's top 4 bits, then 8 more.
  writeByte(14, 0x70 | ((seq >>> 28) & 0x0f));
  writeByte(16, (seq >>> 20) & 0xff);
  // Variant 10, the counter's next 6 bits, then 8 more.
  writeByte(19, 0x80 | ((seq >>> 14) & 0x3f));
  writeByte(21, (seq >>> 6) & 0xff);
  // The counter's last 6 bits and 2 random ones, then 40 random bits.
  writeByte(24, ((seq << 2) & 0xff) | (pool[tail]! & 0x03));
  writeByte(26, pool[tail + 1]!);
  writeByte(28, pool[tail + 2]!);
  writeByte(30, pool[tail + 3]!);
  writeByte(32, pool[tail + 4]!);
  writeByte(34, pool[tail + 5]!);
  return { id: text.toString("latin1", 0, 36), millis };
}
