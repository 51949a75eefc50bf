// TFTP packets as plain values: decode(buf) and encode(value), nothing else. No sockets, no
// files. Strings are decoded as latin1 so that every byte survives a round trip (RFC 1350
// calls them netascii; a filename with other bytes is the path resolver's business, not ours).
// Option names keep the client's spelling; they are compared case-insensitively (RFC 2347 §2)
// by the negotiation in options.ts, which also checks their values.

export const OPCODE = { RRQ: 1, WRQ: 2, DATA: 3, ACK: 4, ERROR: 5, OACK: 6 } as const;

/** RFC 1350 §5 error codes, plus 8 from RFC 2347 §2 (option negotiation refused). */
export const ERROR_CODE = {
  notDefined: 0,
  fileNotFound: 1,
  accessViolation: 2,
  diskFull: 3,
  illegalOperation: 4,
  unknownTransferId: 5,
  fileExists: 6,
  noSuchUser: 7,
  optionRefused: 8,
} as const;

/** RFC 2347 §2: a request, options included, must not exceed 512 octets. */
export const MAX_REQUEST_BYTES = 512;

export interface TftpOption { name: string; value: string }

export type TftpPacket =
  | { op: 'RRQ' | 'WRQ'; filename: string; mode: string; options: TftpOption[] }
  | { op: 'DATA'; block: number; data: Buffer }
  | { op: 'ACK'; block: number }
  | { op: 'ERROR'; code: number; message: string }
  | { op: 'OACK'; options: TftpOption[] };

/** Stable reasons, used as the `reason` label of the drop counter. */
export type DecodeErrorCode =
  | 'empty' | 'truncated' | 'bad_opcode' | 'oversized' | 'unterminated' | 'empty_filename'
  | 'bad_mode' | 'option_without_value' | 'empty_option_name' | 'duplicate_option' | 'bad_length';

export class TftpDecodeError extends Error {
  constructor(readonly code: DecodeErrorCode, readonly field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'TftpDecodeError';
  }
}

const MODES = new Set(['netascii', 'octet', 'mail']);
const OP_NAMES = ['', 'RRQ', 'WRQ', 'DATA', 'ACK', 'ERROR', 'OACK'] as const;

/** Reads NUL-terminated strings from `start` to the end; an unterminated tail is an error. */
function readStrings(buf: Buffer, start: number, what: string): string[] {
  const out: string[] = [];
  let pos = start;
  while (pos < buf.length) {
    const end = buf.indexOf(0, pos);
    if (end < 0) {
      throw new TftpDecodeError('unterminated', `${what} string ${out.length + 1}`,
        `no NUL terminator in the last ${buf.length - pos} bytes (offset ${pos} of ${buf.length})`);
    }
    out.push(buf.toString('latin1', pos, end));
    pos = end + 1;
  }
  return out;
}

function decodeOptions(strings: string[], op: string): TftpOption[] {
  if (strings.length % 2 !== 0) {
    throw new TftpDecodeError('option_without_value', `${op} option "${strings[strings.length - 1]}"`,
      `has no value (${strings.length} option strings, expected pairs)`);
  }
  const options: TftpOption[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < strings.length; i += 2) {
    const name = strings[i]!;
    const value = strings[i + 1]!;
    if (name === '') throw new TftpDecodeError('empty_option_name', `${op} option ${i / 2 + 1}`, 'empty name');
    const key = name.toLowerCase();
    if (seen.has(key)) throw new TftpDecodeError('duplicate_option', `${op} option "${name}"`, 'given twice');
    seen.add(key);
    options.push({ name, value });
  }
  return options;
}

function decodeRequest(buf: Buffer, op: 'RRQ' | 'WRQ'): TftpPacket {
  if (buf.length > MAX_REQUEST_BYTES) {
    throw new TftpDecodeError('oversized', op, `${buf.length} bytes, RFC 2347 allows at most ${MAX_REQUEST_BYTES}`);
  }
  const strings = readStrings(buf, 2, op);
  const [filename, mode] = strings;
  if (filename === undefined) throw new TftpDecodeError('truncated', `${op} filename`, 'missing');
  if (filename === '') throw new TftpDecodeError('empty_filename', `${op} filename`, 'empty');
  if (mode === undefined) throw new TftpDecodeError('truncated', `${op} mode`, 'missing');
  if (!MODES.has(mode.toLowerCase())) {
    throw new TftpDecodeError('bad_mode', `${op} mode`, `"${mode}" is not netascii, octet or mail`);
  }
  return { op, filename, mode, options: decodeOptions(strings.slice(2), op) };
}

export function decode(buf: Buffer): TftpPacket {
  if (buf.length === 0) throw new TftpDecodeError('empty', 'packet', '0 bytes');
  if (buf.length < 2) throw new TftpDecodeError('truncated', 'opcode', `needs 2 bytes, has ${buf.length}`);
  const opcode = buf.readUInt16BE(0);
  const op = OP_NAMES[opcode];
  if (op === undefined || op === '') throw new TftpDecodeError('bad_opcode', 'opcode', `${opcode} is not 1..6`);
  switch (op) {
    case 'RRQ':
    case 'WRQ':
      return decodeRequest(buf, op);
    case 'DATA':
      if (buf.length < 4) throw new TftpDecodeError('truncated', 'DATA block', `needs 4 bytes, has ${buf.length}`);
      return { op, block: buf.readUInt16BE(2), data: buf.subarray(4) };
    case 'ACK':
      // Exactly 4: anything else is not an ACK any client we know sends (RFC 1350 §5, figure 5-3).
      if (buf.length !== 4) throw new TftpDecodeError('bad_length', 'ACK', `is ${buf.length} bytes, expected 4`);
      return { op, block: buf.readUInt16BE(2) };
    case 'ERROR': {
      if (buf.length < 5) throw new TftpDecodeError('truncated', 'ERROR', `needs at least 5 bytes, has ${buf.length}`);
      const strings = readStrings(buf, 4, 'ERROR');
      if (strings.length !== 1) {
        throw new TftpDecodeError('bad_length', 'ERROR message', `${strings.length} strings, expected 1`);
      }
      return { op, code: buf.readUInt16BE(2), message: strings[0]! };
    }
    case 'OACK':
      return { op, options: decodeOptions(readStrings(buf, 2, 'OACK'), 'OACK') };
  }
}

function stringsLength(strings: string[]): number {
  let n = 0;
  for (const s of strings) n += Buffer.byteLength(s, 'latin1') + 1;
  return n;
}

function writeStrings(buf: Buffer, pos: number, strings: string[]): number {
  for (const s of strings) {
    if (s.includes('\0')) throw new RangeError(`TFTP string ${JSON.stringify(s)} contains NUL`);
    pos += buf.write(s, pos, 'latin1');
    buf[pos++] = 0;
  }
  return pos;
}

function optionStrings(options: TftpOption[]): string[] {
  return options.flatMap((o) => [o.name, o.value]);
}

export function encode(packet: TftpPacket): Buffer {
  const opcode = OPCODE[packet.op];
  switch (packet.op) {
    case 'RRQ':
    case 'WRQ': {
      const strings = [packet.filename, packet.mode, ...optionStrings(packet.options)];
      const buf = Buffer.alloc(2 + stringsLength(strings));
      buf.writeUInt16BE(opcode, 0);
      writeStrings(buf, 2, strings);
      return buf;
    }
    case 'DATA': {
      const buf = Buffer.alloc(4 + packet.data.length);
      buf.writeUInt16BE(opcode, 0);
      buf.writeUInt16BE(packet.block, 2);
      packet.data.copy(buf, 4);
      return buf;
    }
    case 'ACK': {
      const buf = Buffer.alloc(4);
      buf.writeUInt16BE(opcode, 0);
      buf.writeUInt16BE(packet.block, 2);
      return buf;
    }
    case 'ERROR': {
      const buf = Buffer.alloc(4 + stringsLength([packet.message]));
      buf.writeUInt16BE(opcode, 0);
      buf.writeUInt16BE(packet.code, 2);
      writeStrings(buf, 4, [packet.message]);
      return buf;
    }
    case 'OACK': {
      const strings = optionStrings(packet.options);
      const buf = Buffer.alloc(2 + stringsLength(strings));
      buf.writeUInt16BE(opcode, 0);
      writeStrings(buf, 2, strings);
      return buf;
    }
  }
}

/** An ERROR packet, the one encode the server needs on hot and cold paths alike. */
export function errorPacket(code: number, message: string): Buffer {
  return encode({ op: 'ERROR', code, message });
}
