import { isIP } from "node:net";
import fc from "fast-check";
import { normalizeClientIp } from "../../src/client-ip";

/** The 128-bit value of an IPv6 address, as WHATWG URL serializes it: an oracle independent of node:net's. */
function ipv6Value(address: string): string {
  return new URL(`http://[${address}]/`).hostname;
}

describe("normalizeClientIp", () => {
  it.each([
    ["203.0.113.5:4711", "203.0.113.5"],
    ["[2001:db8::1]:443", "2001:db8::1"],
    ["[2001:DB8::1]", "2001:db8::1"],
    ["fe80::1%eth0", "fe80::1"],
    [`fe80::1%${"z".repeat(300)}`, "fe80::1"],
    ["[fe80::1%25eth0]:8080", "fe80::1"],
    ["::ffff:10.0.0.1", "10.0.0.1"],
    ["::FFFF:a00:1", "10.0.0.1"],
    ["[::ffff:10.0.0.1]:80", "10.0.0.1"],
    ["2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"],
    [" 10.0.0.1 ", "10.0.0.1"],
    ["[203.0.113.5]:4711", "203.0.113.5"],
    ["[203.0.113.5]", "203.0.113.5"],
    ["203.0.113.5:", "203.0.113.5"],
    ["[2001:db8::1]:", "2001:db8::1"],
  ])("stores %j as %j", (input, stored) => {
    expect(normalizeClientIp(input)).toBe(stored);
  });

  it.each(["unknown", "_hidden", "1.2.3.4:99999", "[::1]x", "[1.2.3.4]x", "010.0.0.1", "1.2.3.4, 5.6.7.8", "x".repeat(65)])(
    "keeps %j, which is no address, as given",
    (input) => {
      expect(normalizeClientIp(input)).toBe(input);
    },
  );

  it("stores nothing for no address", () => {
    expect(normalizeClientIp(undefined)).toBeNull();
    expect(normalizeClientIp(null)).toBeNull();
    expect(normalizeClientIp("   ")).toBeNull();
  });

  const port = fc.integer({ min: 0, max: 65_535 });
  // Zone ids up to 300 characters: whatever an interface name or a client holds, but a space (trimmed) or "]" (ends the brackets).
  const zone = fc.string({ unit: "grapheme", minLength: 1, maxLength: 300 }).filter((z) => !/[\]\s]/u.test(z));
  const randomCase = (text: string, upper: boolean[]) => [...text].map((c, i) => (upper[i % upper.length] ? c.toUpperCase() : c)).join("");

  it("stores any IPv4 address the same with or without a port (property)", () => {
    fc.assert(
      fc.property(fc.ipV4(), fc.option(port), (address, p) => {
        expect(normalizeClientIp(p === null ? address : `${address}:${p}`)).toBe(address);
      }),
      { numRuns: 500 },
    );
  });

  it("stores any IPv4-mapped address as its IPv4 address, in any case, with or without port, brackets and zone (property)", () => {
    fc.assert(
      fc.property(fc.ipV4(), fc.option(port), fc.option(zone), fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }), (address, p, z, upper) => {
        let sent = randomCase(`::ffff:${address}`, upper) + (z === null ? "" : `%${z}`);
        if (p !== null) sent = `[${sent}]:${p}`;
        expect(normalizeClientIp(sent)).toBe(address);
      }),
      { numRuns: 500 },
    );
  });

  it("stores any IPv6 address in one lower-case compressed form, whatever its port, brackets, zone and case (property)", () => {
    fc.assert(
      fc.property(fc.ipV6(), fc.option(port), fc.option(zone), fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }), fc.boolean(), (address, p, z, upper, bracket) => {
        const plain = normalizeClientIp(address)!;
        let sent = randomCase(address, upper) + (z === null ? "" : `%${z}`);
        if (p !== null) sent = `[${sent}]:${p}`;
        else if (bracket) sent = `[${sent}]`;
        expect(normalizeClientIp(sent)).toBe(plain);
        expect(normalizeClientIp(plain)).toBe(plain);
        if (isIP(plain) === 4) {
          // Only an IPv4-mapped address is stored as IPv4.
          expect(ipv6Value(address)).toBe(ipv6Value(`::ffff:${plain}`));
        } else {
          expect(isIP(plain)).toBe(6);
          expect(ipv6Value(plain)).toBe(ipv6Value(address));
          if (!plain.includes(".")) expect(`[${plain}]`).toBe(ipv6Value(address));
        }
      }),
      { numRuns: 1000 },
    );
  });
});
