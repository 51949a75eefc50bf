// The codec on its own: strict lengths with errors that name the field and numbers, accessors that
// tell absent from wrong size, RFC 3396 joining and splitting, option overload on encode.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decode, encode, chaddrFromMac, macOf, HEADER_SIZE, MIN_SIZE, type Packet } from '../../daemon/dhcp/packet.js';
import { Options, Opt, decodeSubOptions, encodeSubOptions, userClasses } from '../../daemon/dhcp/options.js';
import { DhcpError } from '../../daemon/dhcp/errors.js';

function packet(options: Options, extra: Partial<Packet> = {}): Packet {
  return {
    op: 1, htype: 1, hlen: 6, hops: 0, xid: 42, secs: 0, flags: 0, ciaddr: '0.0.0.0', yiaddr: '0.0.0.0',
    siaddr: '0.0.0.0', giaddr: '0.0.0.0', chaddr: chaddrFromMac('52:54:00:00:00:01'), sname: '', file: '', options, ...extra,
  };
}
const discover = () => new Options().setU8(Opt.MESSAGE_TYPE, 1);
/** A valid packet with `tail` replacing the options field. */
function withOptions(tail: number[]): Buffer {
  const b = encode(packet(discover())).subarray(0, HEADER_SIZE);
  return Buffer.concat([b, Buffer.from(tail)]);
}
function rejects(buf: Buffer, reason: string, message: RegExp): void {
  assert.throws(() => decode(buf), (e: unknown) => e instanceof DhcpError && e.reason === reason && message.test(e.message));
}

test('encode pads to 300 bytes and decodes back', () => {
  const b = encode(packet(discover()));
  assert.equal(b.length, MIN_SIZE);
  const p = decode(b);
  assert.equal(macOf(p), '52:54:00:00:00:01');
  assert.equal(p.options.u8(Opt.MESSAGE_TYPE), 1);
});

test('header errors name the field and the numbers', () => {
  rejects(Buffer.alloc(0), 'truncated', /packet: has 0 bytes.*at least 240/);
  rejects(Buffer.alloc(239), 'truncated', /has 239 bytes/);
  const b = encode(packet(discover()));
  const op = Buffer.from(b); op[0] = 3; rejects(op, 'bad_op', /op: is 3, must be 1 or 2/);
  const hlen = Buffer.from(b); hlen[2] = 17; rejects(hlen, 'bad_htype', /hlen: is 17/);
  const magic = Buffer.from(b); magic[236] = 0; rejects(magic, 'bad_magic', /0x00825363/);
});

test('option lengths are strict', () => {
  rejects(withOptions([53, 5, 1]), 'option_overrun', /options option 53: claims 5 bytes, 1 left/);
  rejects(withOptions([53]), 'option_overrun', /length byte missing/);
  rejects(withOptions([53, 1, 1]), 'no_end', /options: no END/);
  rejects(withOptions([53, 2, 1, 1, 255]), 'option_size', /option 53: claims 2 bytes, must be 1/);
  rejects(withOptions([53, 1, 1, 93, 3, 0, 0, 0, 255]), 'option_size', /option 93: claims 3 bytes, must be 2..254 in steps of 2/);
  rejects(withOptions([53, 1, 1, 97, 4, 0, 1, 2, 3, 255]), 'option_size', /option 97: claims 4 bytes, must be 17/);
  rejects(withOptions([53, 1, 1, 54, 3, 1, 2, 3, 255]), 'option_size', /option 54/);
  rejects(withOptions([53, 1, 1, 52, 1, 4, 255]), 'bad_overload', /option 52: value 4/);
  rejects(withOptions([53, 1, 1, 82, 3, 1, 5, 0, 255]), 'suboption', /option 82.1: claims 5 bytes, 1 left/);
  rejects(withOptions([53, 1, 1, 175, 2, 0xb1, 9, 255]), 'suboption', /option 175.177/);
});

test('pad is skipped, bytes after END ignored, repeated options joined (RFC 3396)', () => {
  const p = decode(withOptions([0, 0, 53, 1, 1, 60, 3, 0x50, 0x58, 0x45, 0, 60, 3, 0x43, 0x6c, 0x69, 255, 1, 2, 3]));
  assert.equal(p.options.string(Opt.VENDOR_CLASS), 'PXECli');
});

test('accessors: undefined when absent, option_size when wrong', () => {
  const o = new Options().set(Opt.SERVER_ID, Buffer.from([1, 2, 3])).set(Opt.CLIENT_ARCH, Buffer.from([0, 7, 0, 9]));
  assert.equal(o.ip(Opt.REQUESTED_IP), undefined);
  assert.throws(() => o.ip(Opt.SERVER_ID), /option 54: has 3 bytes, expected 4/);
  assert.deepEqual(o.u16s(Opt.CLIENT_ARCH), [7, 9]);
  assert.throws(() => o.u16(Opt.CLIENT_ARCH), /option 93: has 4 bytes, expected 2/);
  assert.equal(new Options().setString(Opt.VENDOR_CLASS, 'x\0').string(Opt.VENDOR_CLASS), 'x');
});

test('long values are split into 255-byte instances and joined again', () => {
  const big = Buffer.alloc(300, 0x41);
  const o = discover().set(Opt.MESSAGE, big);
  const p = decode(encode(packet(o), { maxSize: 1500 }));
  assert.deepEqual(p.options.raw(Opt.MESSAGE), big);
});

test('options that overflow 576 bytes go into file and sname with option 52', () => {
  const o = discover().set(Opt.MESSAGE, Buffer.alloc(250, 0x42)).set(200, Buffer.alloc(80, 0x43)).set(201, Buffer.alloc(60, 0x44)).set(202, Buffer.alloc(40, 0x45));
  const b = encode(packet(o));
  assert.ok(b.length <= 576, `${b.length} bytes`);
  const p = decode(b);
  for (const code of [Opt.MESSAGE, 200, 201, 202]) assert.deepEqual(p.options.raw(code), o.raw(code), `option ${code}`);
  assert.equal(p.options.has(Opt.OVERLOAD), false);
  assert.throws(() => encode(packet(discover().set(200, Buffer.alloc(255)).set(201, Buffer.alloc(255)).set(202, Buffer.alloc(255)))), /more than 576/);
});

test('sub-options: PXE/iPXE blocks end with 255, relay blocks are bare TLV', () => {
  const subs = new Options().set(1, Buffer.from('circuit')).set(2, Buffer.from([1, 2]));
  const relay = encodeSubOptions(Opt.RELAY_AGENT, subs);
  assert.deepEqual([...relay], [1, 7, ...Buffer.from('circuit'), 2, 2, 1, 2]);
  assert.deepEqual(decodeSubOptions(Opt.RELAY_AGENT, relay).entries(), subs.entries());
  const pxe = encodeSubOptions(Opt.VENDOR_SPECIFIC, new Options().setU8(6, 8));
  assert.deepEqual([...pxe], [6, 1, 8, 255]);
  assert.throws(() => decodeSubOptions(Opt.RELAY_AGENT, Buffer.from([1])), /option 82.1: length byte missing/);
});

test('user class: iPXE raw text and RFC 3004 framing both read', () => {
  assert.deepEqual(userClasses(new Options().setString(Opt.USER_CLASS, 'iPXE')), ['iPXE']);
  assert.ok(userClasses(new Options().set(Opt.USER_CLASS, Buffer.from('\x04iPXE\x03foo', 'latin1'))).includes('iPXE'));
});

test('encode refuses sname/file that do not fit', () => {
  assert.throws(() => encode(packet(discover(), { file: 'x'.repeat(128) })), /file has 128 bytes/);
});
