import { BlockList, isIP, SocketAddress } from "node:net";
import { sanitizeString } from "./serialize";

/** IPv4-mapped IPv6 addresses (`::ffff:0:0/96`), stored as the IPv4 address they carry. */
const IPV4_MAPPED = new BlockList();
IPV4_MAPPED.addSubnet("::ffff:0:0", 96, "ipv6");

/** The port of `host:port` or `[host]:port`: decimal digits, 0 to 65535, or empty (`host:`). */
function isPort(text: string): boolean {
  return text === "" || (/^\d{1,5}$/.test(text) && Number(text) <= 65_535);
}

/**
 * IPv6 addresses canonicalized lately, as given (zone dropped): a client sends many
 * requests, and a SocketAddress costs about 4 µs. Emptied when full, so it holds at
 * most this many.
 */
const recentIpv6 = new Map<string, string>();
const RECENT_IPV6_MAX = 1024;

/** The `::ffff:` prefix of an IPv4-mapped address as a dual-stack server sees IPv4 clients (`::ffff:203.0.113.5`). */
const MAPPED_PREFIX = /^::ffff:/i;

/** An IPv6 address in its RFC 5952 form (lower case, zeros compressed), zone id dropped; IPv4-mapped ones as IPv4. */
function canonicalIpv6(address: string): string | undefined {
  const zoneless = address.split("%", 1)[0]!;
  if (isIP(zoneless) !== 6) return undefined;
  // The common form, read without the BlockList and SocketAddress below (2 µs a request):
  // a valid dotted IPv4 after `::ffff:` is what they would give.
  if (MAPPED_PREFIX.test(zoneless) && isIP(zoneless.slice(7)) === 4) return zoneless.slice(7);
  let canonical = recentIpv6.get(zoneless);
  if (canonical === undefined) {
    canonical = new SocketAddress({ address: zoneless, family: "ipv6" }).address;
    // inet_ntop writes a mapped address with its IPv4 part dotted: "::ffff:10.0.0.1".
    if (IPV4_MAPPED.check(zoneless, "ipv6")) canonical = canonical.slice(canonical.lastIndexOf(":") + 1);
    if (recentIpv6.size >= RECENT_IPV6_MAX) recentIpv6.clear();
    recentIpv6.set(zoneless, canonical);
  }
  return canonical;
}

/** The address in `text` when it is one, with or without port, brackets and zone id. */
function parseAddress(text: string): string | undefined {
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    const rest = text.slice(close + 1);
    if (close < 0 || (rest !== "" && !(rest.startsWith(":") && isPort(rest.slice(1))))) return undefined;
    const inner = text.slice(1, close);
    return isIP(inner) === 4 ? inner : canonicalIpv6(inner);
  }
  // Any zone id (an interface name may hold more than isIP() accepts), not only isIP()'s.
  if (text.includes("%")) return canonicalIpv6(text);
  switch (isIP(text)) {
    case 4:
      return text;
    case 6:
      return canonicalIpv6(text);
  }
  const colon = text.lastIndexOf(":");
  if (colon > 0 && isIP(text.slice(0, colon)) === 4 && isPort(text.slice(colon + 1))) return text.slice(0, colon);
  return undefined;
}

/**
 * The client address as stored in `remoteAddr`, so that equal addresses compare
 * equal: a port and brackets are stripped (`203.0.113.5:4711`, `[2001:db8::1]:443`),
 * so is an IPv6 zone id (`fe80::1%eth0`); IPv6 is written in its RFC 5952 form
 * (lower case, longest run of zeros compressed) and an IPv4-mapped one
 * (`::ffff:10.0.0.1`) as the IPv4 address. A value that is no IP address at all
 * (`unknown`, an RFC 7239 obfuscated identifier, garbage from a misconfigured proxy)
 * is kept as given, trimmed: the stored event bounds it to its column.
 *
 * @example
 * ```ts
 * normalizeClientIp("[2001:DB8:0::1]:443"); // "2001:db8::1"
 * normalizeClientIp("::ffff:10.0.0.1");     // "10.0.0.1"
 * normalizeClientIp("unknown");             // "unknown"
 * ```
 */
export function normalizeClientIp(value: string | null | undefined): string | null {
  if (typeof value !== "string") return null;
  const text = value.trim();
  if (text.length === 0) return null;
  return parseAddress(text) ?? sanitizeString(text);
}
