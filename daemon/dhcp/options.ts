// DHCP options (RFC 2132 and the PXE additions of RFC 4578, 3004, 3046): kept as raw bytes in
// arrival order and read through typed accessors. An accessor returns undefined when the option is
// absent and throws DhcpError('option_size') when it is present with the wrong size, so a caller can
// never mistake a malformed option for a missing one.
import { DhcpError } from './errors.js';

/** Option codes, each with the value type RFC 2132 (or the cited RFC) gives it. */
export const Opt = {
  PAD: 0,
  SUBNET_MASK: 1,           // ip
  ROUTER: 3,                // ip list
  DNS: 6,                   // ip list
  HOSTNAME: 12,             // string
  DOMAIN_NAME: 15,          // string
  BROADCAST: 28,            // ip
  VENDOR_SPECIFIC: 43,      // sub-options (PXE: RFC 4578 §2.4 / PXE 2.1 §2.2)
  REQUESTED_IP: 50,         // ip
  LEASE_TIME: 51,           // u32 seconds
  OVERLOAD: 52,             // u8: 1 file, 2 sname, 3 both (RFC 2132 §9.3)
  MESSAGE_TYPE: 53,         // u8
  SERVER_ID: 54,            // ip
  PARAM_REQUEST: 55,        // u8 list
  MESSAGE: 56,              // string
  MAX_MESSAGE_SIZE: 57,     // u16, >= 576
  RENEWAL_TIME: 58,         // u32 (T1)
  REBINDING_TIME: 59,       // u32 (T2)
  VENDOR_CLASS: 60,         // string
  CLIENT_ID: 61,            // bytes
  TFTP_SERVER: 66,          // string
  BOOTFILE: 67,             // string
  USER_CLASS: 77,           // RFC 3004 instances, or raw text as iPXE sends it
  RELAY_AGENT: 82,          // sub-options (RFC 3046)
  CLIENT_ARCH: 93,          // u16 list (RFC 4578 §2.1)
  CLIENT_NDI: 94,           // 3 bytes (RFC 4578 §2.2)
  CLIENT_UUID: 97,          // 17 bytes: type 0 + 16-byte GUID (RFC 4578 §2.3)
  IPXE_ENCAP: 175,          // sub-options (iPXE)
  END: 255,
} as const;

export const MessageType = {
  DISCOVER: 1, OFFER: 2, REQUEST: 3, DECLINE: 4, ACK: 5, NAK: 6, RELEASE: 7, INFORM: 8,
} as const;
export type MessageTypeName = keyof typeof MessageType;
export const MESSAGE_TYPE_NAMES: Record<number, MessageTypeName> = Object.fromEntries(
  Object.entries(MessageType).map(([k, v]) => [v, k as MessageTypeName]),
);

/**
 * Size rules checked at decode time for options whose size RFC 2132/4578 fix. [min, max, multiple]
 * A packet breaking one is dropped whole: a client that gets option 53 wrong is not one to answer.
 */
export const SIZE_RULES: Readonly<Record<number, readonly [number, number, number]>> = {
  [Opt.SUBNET_MASK]: [4, 4, 1],
  [Opt.ROUTER]: [4, 252, 4],
  [Opt.DNS]: [4, 252, 4],
  [Opt.BROADCAST]: [4, 4, 1],
  [Opt.REQUESTED_IP]: [4, 4, 1],
  [Opt.LEASE_TIME]: [4, 4, 1],
  [Opt.OVERLOAD]: [1, 1, 1],
  [Opt.MESSAGE_TYPE]: [1, 1, 1],
  [Opt.SERVER_ID]: [4, 4, 1],
  [Opt.PARAM_REQUEST]: [1, 255, 1],
  [Opt.MAX_MESSAGE_SIZE]: [2, 2, 1],
  [Opt.RENEWAL_TIME]: [4, 4, 1],
  [Opt.REBINDING_TIME]: [4, 4, 1],
  [Opt.VENDOR_CLASS]: [1, 255, 1],
  [Opt.CLIENT_ID]: [2, 255, 1],
  [Opt.CLIENT_ARCH]: [2, 254, 2],
  [Opt.CLIENT_NDI]: [3, 3, 1],
  [Opt.CLIENT_UUID]: [17, 17, 1],
};

export function checkSize(code: number, len: number): void {
  const rule = SIZE_RULES[code];
  if (!rule) return;
  const [min, max, multiple] = rule;
  if (len < min || len > max || len % multiple !== 0) {
    const want = min === max ? `${min}` : `${min}..${max}${multiple > 1 ? ` in steps of ${multiple}` : ''}`;
    throw new DhcpError('option_size', `option ${code}`, `claims ${len} bytes, must be ${want}`);
  }
}

function ipString(b: Buffer, at: number): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

/** Writes dotted-quad `ip` at `at` (hand-parsed: this runs several times per packet). */
export function writeIp(ip: string, buf: Buffer, at: number): void {
  let part = 0;
  let digits = 0;
  let idx = 0;
  for (let i = 0; i <= ip.length; i++) {
    const c = i < ip.length ? ip.charCodeAt(i) : 46;
    if (c === 46) {
      if (digits === 0 || digits > 3 || part > 255 || idx > 3) throw new TypeError(`not an IPv4 address: ${ip}`);
      buf[at + idx++] = part;
      part = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      part = part * 10 + (c - 48);
      digits++;
    } else {
      throw new TypeError(`not an IPv4 address: ${ip}`);
    }
  }
  if (idx !== 4) throw new TypeError(`not an IPv4 address: ${ip}`);
}

export function ipBytes(ip: string): Buffer {
  const b = Buffer.allocUnsafe(4);
  writeIp(ip, b, 0);
  return b;
}

/** An ordered set of options; a code appears once (split instances are joined, RFC 3396). */
export class Options {
  private readonly map = new Map<number, Buffer>();

  constructor(entries: Iterable<readonly [number, Buffer]> = []) {
    for (const [code, data] of entries) this.set(code, data);
  }

  get size(): number { return this.map.size; }
  has(code: number): boolean { return this.map.has(code); }
  raw(code: number): Buffer | undefined { return this.map.get(code); }
  entries(): [number, Buffer][] { return [...this.map.entries()]; }
  codes(): number[] { return [...this.map.keys()]; }

  set(code: number, data: Buffer): this {
    if (code === Opt.PAD || code === Opt.END) throw new TypeError(`option ${code} carries no data`);
    this.map.set(code, data);
    return this;
  }
  delete(code: number): this { this.map.delete(code); return this; }

  /** Appends to an existing option: RFC 3396 concatenation of repeated instances. */
  append(code: number, data: Buffer): this {
    const prev = this.map.get(code);
    this.map.set(code, prev ? Buffer.concat([prev, data]) : data);
    return this;
  }

  private sized(code: number, n: number): Buffer | undefined {
    const b = this.map.get(code);
    if (b && b.length !== n) throw new DhcpError('option_size', `option ${code}`, `has ${b.length} bytes, expected ${n}`);
    return b;
  }

  u8(code: number): number | undefined { return this.sized(code, 1)?.readUInt8(0); }
  u16(code: number): number | undefined { return this.sized(code, 2)?.readUInt16BE(0); }
  u32(code: number): number | undefined { return this.sized(code, 4)?.readUInt32BE(0); }
  ip(code: number): string | undefined {
    const b = this.sized(code, 4);
    return b && ipString(b, 0);
  }
  ips(code: number): string[] | undefined {
    const b = this.map.get(code);
    if (!b) return undefined;
    if (b.length === 0 || b.length % 4 !== 0) {
      throw new DhcpError('option_size', `option ${code}`, `has ${b.length} bytes, expected a multiple of 4`);
    }
    const out: string[] = [];
    for (let i = 0; i < b.length; i += 4) out.push(ipString(b, i));
    return out;
  }
  u16s(code: number): number[] | undefined {
    const b = this.map.get(code);
    if (!b) return undefined;
    if (b.length === 0 || b.length % 2 !== 0) {
      throw new DhcpError('option_size', `option ${code}`, `has ${b.length} bytes, expected a multiple of 2`);
    }
    const out: number[] = [];
    for (let i = 0; i < b.length; i += 2) out.push(b.readUInt16BE(i));
    return out;
  }
  bytes(code: number): number[] | undefined {
    const b = this.map.get(code);
    return b && [...b];
  }
  /** Text as sent; a trailing NUL some firmware adds is not part of the value. */
  string(code: number): string | undefined {
    const b = this.map.get(code);
    if (!b) return undefined;
    const end = b.length > 0 && b[b.length - 1] === 0 ? b.length - 1 : b.length;
    return b.toString('latin1', 0, end);
  }

  setU8(code: number, v: number): this { return this.set(code, Buffer.from([v])); }
  // allocUnsafe: a slice of Node's pool, written whole; Buffer.alloc makes an ArrayBuffer each time.
  setU16(code: number, v: number): this { const b = Buffer.allocUnsafe(2); b.writeUInt16BE(v); return this.set(code, b); }
  setU32(code: number, v: number): this { const b = Buffer.allocUnsafe(4); b.writeUInt32BE(v >>> 0); return this.set(code, b); }
  setIp(code: number, ip: string): this { return this.set(code, ipBytes(ip)); }
  setIps(code: number, ips: readonly string[]): this {
    const b = Buffer.allocUnsafe(4 * ips.length);
    ips.forEach((ip, i) => writeIp(ip, b, 4 * i));
    return this.set(code, b);
  }
  setString(code: number, s: string): this { return this.set(code, Buffer.from(s, 'latin1')); }
}

/**
 * Sub-options (43 for PXE, 175 for iPXE, 82 for relay agents): code-length-value triples. PXE and
 * iPXE blocks use 0 as pad and 255 as end; RFC 3046 §2.0 relay sub-options have neither.
 */
export function decodeSubOptions(parent: number, data: Buffer): Options {
  const padEnd = parent !== Opt.RELAY_AGENT;
  const out = new Options();
  let i = 0;
  while (i < data.length) {
    const code = data[i]!;
    if (padEnd && code === 0) { i++; continue; }
    if (padEnd && code === 255) break;
    if (i + 1 >= data.length) throw new DhcpError('suboption', `option ${parent}.${code}`, `length byte missing at offset ${i}`);
    const len = data[i + 1]!;
    if (i + 2 + len > data.length) {
      throw new DhcpError('suboption', `option ${parent}.${code}`, `claims ${len} bytes, ${data.length - i - 2} left`);
    }
    if (code === 0 || code === 255) throw new DhcpError('suboption', `option ${parent}`, `sub-option code ${code} is reserved`);
    out.append(code, data.subarray(i + 2, i + 2 + len));
    i += 2 + len;
  }
  return out;
}

export function encodeSubOptions(parent: number, opts: Options): Buffer {
  const parts: Buffer[] = [];
  for (const [code, data] of opts.entries()) {
    if (data.length > 255) throw new RangeError(`sub-option ${parent}.${code} has ${data.length} bytes, max 255`);
    parts.push(Buffer.from([code, data.length]), data);
  }
  if (parent !== Opt.RELAY_AGENT && parts.length > 0) parts.push(Buffer.from([255]));
  return Buffer.concat(parts);
}

/**
 * User classes (option 77). RFC 3004 §4 frames each class with a length byte; iPXE and dhclient's
 * `send user-class "iPXE"` send bare text. Both readings are returned when the framing fits.
 */
export function userClasses(opts: Options): string[] {
  const b = opts.raw(Opt.USER_CLASS);
  if (!b || b.length === 0) return [];
  const framed: string[] = [];
  let i = 0;
  while (i < b.length) {
    const len = b[i]!;
    if (len === 0 || i + 1 + len > b.length) break;
    framed.push(b.toString('latin1', i + 1, i + 1 + len));
    i += 1 + len;
  }
  const raw = opts.string(Opt.USER_CLASS) ?? '';
  return i === b.length ? [...framed, raw] : [raw];
}
