// IPv4 and MAC helpers shared by the inventory checks and the protocol servers.

/**
 * An IPv4 address as an unsigned 32-bit number, or undefined if `s` is not dotted-quad (four
 * decimal parts of 1–3 digits, each ≤ 255, no leading zero). By hand, not by regular expression:
 * DHCP parses a few addresses per packet.
 */
export function parseIPv4(s: string): number | undefined {
  let n = 0;
  let part = 0;
  let digits = 0;
  let parts = 0;
  let leadingZero = false;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 46; // a '.' after the end closes the last part
    if (c === 46) {
      if (digits === 0 || part > 255 || (leadingZero && digits > 1) || parts === 4) return undefined;
      n = n * 256 + part;
      parts++;
      part = 0; digits = 0; leadingZero = false;
    } else if (c >= 48 && c <= 57) {
      if (digits === 3) return undefined;
      if (digits === 0) leadingZero = c === 48;
      part = part * 10 + (c - 48);
      digits++;
    } else {
      return undefined;
    }
  }
  return parts === 4 ? n : undefined;
}

export function formatIPv4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

export interface Cidr {
  network: number;
  prefix: number;
  mask: number;
  /** First and last address of the subnet (network and broadcast). */
  first: number;
  last: number;
}

/** "10.20.0.0/24" → the subnet; undefined if malformed or if host bits are set. */
export function parseCidr(s: string): Cidr | undefined {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(s);
  if (!m) return undefined;
  const addr = parseIPv4(m[1]!);
  const prefix = Number(m[2]);
  if (addr === undefined || prefix > 32) return undefined;
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  if ((addr & ~mask) >>> 0 !== 0) return undefined;
  return { network: addr, prefix, mask, first: addr, last: (addr | ~mask) >>> 0 };
}

export function inCidr(ip: number, c: Cidr): boolean {
  return ((ip & c.mask) >>> 0) === c.network;
}

export function maskToString(c: Cidr): string {
  return formatIPv4(c.mask);
}

export interface IPv4Range {
  start: number;
  end: number;
}

/** "10.20.0.100-10.20.0.199" → the range; undefined if malformed or reversed. */
export function parseRange(s: string): IPv4Range | undefined {
  const [a, b, extra] = s.split('-').map((p) => p.trim());
  if (extra !== undefined || a === undefined || b === undefined) return undefined;
  const start = parseIPv4(a);
  const end = parseIPv4(b);
  if (start === undefined || end === undefined || end < start) return undefined;
  return { start, end };
}

export function inRange(ip: number, r: IPv4Range): boolean {
  return ip >= r.start && ip <= r.end;
}

/** Canonical MAC form (lower case, colon-separated) or undefined; accepts - and : separators. */
export function normalizeMac(s: string): string | undefined {
  const m = /^([0-9a-f]{2})([:-])([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})\2([0-9a-f]{2})$/i.exec(s.trim());
  if (!m) return undefined;
  return [m[1], m[3], m[4], m[5], m[6], m[7]].join(':').toLowerCase();
}
