// The BOOTP/DHCP message (RFC 2131 §2, RFC 951) as a plain value, with decode(buf) and encode(value)
// that never touch a socket. Decoding is strict: every length is checked against the bytes present,
// and an error names the field and the numbers.
import { DhcpError } from './errors.js';
import { Opt, Options, checkSize, decodeSubOptions, writeIp } from './options.js';

export const BOOTREQUEST = 1;
export const BOOTREPLY = 2;
/** RFC 2131 §3: the first four octets of the options field. */
export const MAGIC_COOKIE = 0x63825363;
/** Fixed header (236) + magic cookie (4). */
export const HEADER_SIZE = 240;
/** RFC 2131 §2: every client must accept 576-byte messages; larger only if option 57 says so. */
export const DEFAULT_MAX_SIZE = 576;
/** RFC 1542 §3.4 / BOOTP: relays and old clients expect at least 300 octets. */
export const MIN_SIZE = 300;
export const BROADCAST_FLAG = 0x8000;

const SNAME = { at: 44, len: 64 } as const;
const FILE = { at: 108, len: 128 } as const;

export interface Packet {
  op: number;
  htype: number;
  hlen: number;
  hops: number;
  xid: number;
  secs: number;
  flags: number;
  ciaddr: string;
  yiaddr: string;
  siaddr: string;
  giaddr: string;
  /** All 16 bytes of the field; the hardware address is the first `hlen`. */
  chaddr: Buffer;
  /** Empty when the field carried options (option 52). */
  sname: string;
  file: string;
  options: Options;
}

function ip(buf: Buffer, at: number): string {
  return `${buf[at]}.${buf[at + 1]}.${buf[at + 2]}.${buf[at + 3]}`;
}

function cString(buf: Buffer, at: number, len: number): string {
  const end = buf.indexOf(0, at);
  return buf.toString('latin1', at, end === -1 || end > at + len ? at + len : end);
}

/** Walks one options area; returns true if it ended with END (RFC 2132 §3.2). */
function readOptions(buf: Buffer, start: number, end: number, field: string, into: Options): void {
  let i = start;
  while (i < end) {
    const code = buf[i]!;
    if (code === Opt.PAD) { i++; continue; }
    if (code === Opt.END) return;
    if (i + 1 >= end) throw new DhcpError('option_overrun', `${field} option ${code}`, `length byte missing at offset ${i}`);
    const len = buf[i + 1]!;
    if (i + 2 + len > end) {
      throw new DhcpError('option_overrun', `${field} option ${code}`, `claims ${len} bytes, ${end - i - 2} left`);
    }
    // RFC 3396 §5: instances of one option are joined in the order they appear. Values are views
    // of the datagram, which is ours alone (dgram hands each message its own buffer).
    into.append(code, buf.subarray(i + 2, i + 2 + len));
    i += 2 + len;
  }
  throw new DhcpError('no_end', field, `no END option within ${end - start} bytes`);
}

export function decode(buf: Buffer): Packet {
  if (buf.length < HEADER_SIZE) {
    throw new DhcpError('truncated', 'packet', `has ${buf.length} bytes, a DHCP message needs at least ${HEADER_SIZE}`);
  }
  const op = buf[0]!;
  if (op !== BOOTREQUEST && op !== BOOTREPLY) throw new DhcpError('bad_op', 'op', `is ${op}, must be 1 or 2`);
  const hlen = buf[2]!;
  if (hlen > 16) throw new DhcpError('bad_htype', 'hlen', `is ${hlen}, chaddr holds 16`);
  const cookie = buf.readUInt32BE(236);
  if (cookie !== MAGIC_COOKIE) {
    throw new DhcpError('bad_magic', 'magic cookie', `is 0x${cookie.toString(16).padStart(8, '0')}, must be 0x63825363`);
  }

  const options = new Options();
  readOptions(buf, HEADER_SIZE, buf.length, 'options', options);
  let sname = cString(buf, SNAME.at, SNAME.len);
  let file = cString(buf, FILE.at, FILE.len);
  // RFC 2131 §4.1 / RFC 2132 §9.3: with option 52, file (1), sname (2) or both (3) hold more options,
  // read after the options field, file first.
  const overload = options.raw(Opt.OVERLOAD);
  if (overload) {
    if (overload.length !== 1 || overload[0]! < 1 || overload[0]! > 3) {
      throw new DhcpError('bad_overload', 'option 52', `value ${[...overload].join(',')} is not 1, 2 or 3 (one byte)`);
    }
    const v = overload[0]!;
    if (v & 1) { readOptions(buf, FILE.at, FILE.at + FILE.len, 'file', options); file = ''; }
    if (v & 2) { readOptions(buf, SNAME.at, SNAME.at + SNAME.len, 'sname', options); sname = ''; }
    if (options.raw(Opt.OVERLOAD)!.length !== 1) throw new DhcpError('bad_overload', 'option 52', 'repeated inside an overloaded field');
    // Option 52 is framing, like PAD and END: encode() sets it again when options overflow.
    options.delete(Opt.OVERLOAD);
  }

  for (const code of options.codes()) checkSize(code, options.raw(code)!.length);
  // Sub-option blocks are validated here so a handler never meets a malformed one.
  if (options.has(Opt.RELAY_AGENT)) decodeSubOptions(Opt.RELAY_AGENT, options.raw(Opt.RELAY_AGENT)!);
  if (options.has(Opt.IPXE_ENCAP)) decodeSubOptions(Opt.IPXE_ENCAP, options.raw(Opt.IPXE_ENCAP)!);
  // Option 43 is vendor-defined; its layout is known only when the vendor is PXE.
  const vc = options.string(Opt.VENDOR_CLASS) ?? '';
  if (options.has(Opt.VENDOR_SPECIFIC) && /^(PXEClient|HTTPClient)/.test(vc)) {
    decodeSubOptions(Opt.VENDOR_SPECIFIC, options.raw(Opt.VENDOR_SPECIFIC)!);
  }

  return {
    op, htype: buf[1]!, hlen, hops: buf[3]!,
    xid: buf.readUInt32BE(4), secs: buf.readUInt16BE(8), flags: buf.readUInt16BE(10),
    ciaddr: ip(buf, 12), yiaddr: ip(buf, 16), siaddr: ip(buf, 20), giaddr: ip(buf, 24),
    chaddr: Buffer.from(buf.subarray(28, 44)), sname, file, options,
  };
}

/** Bytes one option takes on the wire, split into 255-byte instances (RFC 3396). */
function optionSize(data: Buffer): number {
  return data.length === 0 ? 2 : data.length + 2 * Math.ceil(data.length / 255);
}

function writeOption(code: number, data: Buffer, buf: Buffer, at: number): number {
  if (data.length === 0) { buf[at] = code; buf[at + 1] = 0; return at + 2; }
  for (let i = 0; i < data.length; i += 255) {
    const n = Math.min(255, data.length - i);
    buf[at] = code; buf[at + 1] = n;
    data.copy(buf, at + 2, i, i + n);
    at += 2 + n;
  }
  return at;
}

export interface EncodeOptions {
  /** Largest message the receiver takes (its option 57, else 576). */
  maxSize?: number;
}

export function encode(p: Packet, opts: EncodeOptions = {}): Buffer {
  const maxSize = Math.max(opts.maxSize ?? DEFAULT_MAX_SIZE, DEFAULT_MAX_SIZE);
  if (p.sname.length >= SNAME.len) throw new RangeError(`sname has ${p.sname.length} bytes, max ${SNAME.len - 1}`);
  if (p.file.length >= FILE.len) throw new RangeError(`file has ${p.file.length} bytes, max ${FILE.len - 1}`);
  const entries = p.options.entries();
  let optBytes = 0;
  for (const [c, d] of entries) if (c !== Opt.OVERLOAD) optBytes += optionSize(d);
  const room = maxSize - HEADER_SIZE - 1;
  const fits = optBytes <= room;
  // From Node's shared pool, zeroed here: Buffer.alloc makes a new ArrayBuffer per reply.
  const buf = Buffer.allocUnsafe(Math.max(MIN_SIZE, HEADER_SIZE + (fits ? optBytes : room) + 1)).fill(0);
  buf[0] = p.op; buf[1] = p.htype; buf[2] = p.hlen; buf[3] = p.hops;
  buf.writeUInt32BE(p.xid >>> 0, 4);
  buf.writeUInt16BE(p.secs, 8);
  buf.writeUInt16BE(p.flags, 10);
  writeIp(p.ciaddr, buf, 12);
  writeIp(p.yiaddr, buf, 16);
  writeIp(p.siaddr, buf, 20);
  writeIp(p.giaddr, buf, 24);
  p.chaddr.copy(buf, 28, 0, 16);
  buf.write(p.sname, SNAME.at, 'latin1');
  buf.write(p.file, FILE.at, 'latin1');
  buf.writeUInt32BE(MAGIC_COOKIE, 236);
  let at = HEADER_SIZE;
  if (fits) {
    for (const [code, data] of entries) if (code !== Opt.OVERLOAD) at = writeOption(code, data, buf, at);
    buf[at++] = Opt.END;
    return buf.length === at || at < MIN_SIZE ? buf : buf.subarray(0, at);
  }
  // Too big: move whole options into file, then sname, if those fields are free (RFC 2131 §4.1).
  const free = [p.file === '' ? FILE.len - 1 : 0, p.sname === '' ? SNAME.len - 1 : 0];
  const field = [FILE, SNAME];
  const fieldAt: number[] = [FILE.at, SNAME.at];
  let used = 3; // option 52 itself
  const main: [number, Buffer][] = [];
  let overload = 0;
  for (const [code, data] of entries) {
    if (code === Opt.OVERLOAD) continue;
    const size = optionSize(data);
    if (used + size <= room) { main.push([code, data]); used += size; continue; }
    const slot = size <= free[0]! ? 0 : size <= free[1]! ? 1 : -1;
    if (slot < 0) throw new RangeError(`options need more than ${maxSize} bytes`);
    if (!(overload & (slot + 1))) buf.fill(0, field[slot]!.at, field[slot]!.at + field[slot]!.len);
    overload |= slot + 1;
    fieldAt[slot] = writeOption(code, data, buf, fieldAt[slot]!);
    free[slot]! -= size;
  }
  if (overload & 1) buf[fieldAt[0]!] = Opt.END;
  if (overload & 2) buf[fieldAt[1]!] = Opt.END;
  buf[at++] = Opt.OVERLOAD; buf[at++] = 1; buf[at++] = overload;
  for (const [code, data] of main) at = writeOption(code, data, buf, at);
  buf[at++] = Opt.END;
  return buf.subarray(0, Math.max(at, MIN_SIZE));
}

const HEX = '0123456789abcdef';
/** Scratch for macOf: a flat string read out of bytes costs less than one built by `+=`. */
const macScratch = Buffer.alloc(16 * 3);

/** The client's hardware address as lower-case colon-separated hex. */
export function macOf(p: Pick<Packet, 'chaddr' | 'hlen'>): string {
  if (p.hlen === 0) return '';
  let at = 0;
  for (let i = 0; i < p.hlen; i++) {
    if (i) macScratch[at++] = 58; // ':'
    const b = p.chaddr[i]!;
    macScratch[at++] = HEX.charCodeAt(b >> 4);
    macScratch[at++] = HEX.charCodeAt(b & 15);
  }
  return macScratch.toString('latin1', 0, at);
}

export function chaddrFromMac(mac: string): Buffer {
  const b = Buffer.alloc(16);
  Buffer.from(mac.replace(/[:-]/g, ''), 'hex').copy(b);
  return b;
}
