// Codec: every packet type round-trips, every malformed shape fails with its stable code, and
// real client requests (tests/fixtures/tftp/captures.json) decode to a committed dump.
// UPDATE_GOLDEN=1 rewrites the dump after a deliberate change; a missing dump fails.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { decode, encode, TftpDecodeError, type TftpPacket } from '../../daemon/tftp/packet.js';
import { MALFORMED } from '../fixtures/tftp/malformed.js';
import { assertGolden } from '../lib/golden.js';

const fixtures = new URL('../fixtures/tftp/', import.meta.url);

test('every packet type round-trips', () => {
  const packets: TftpPacket[] = [
    { op: 'RRQ', filename: 'undionly.kpxe', mode: 'octet', options: [] },
    { op: 'RRQ', filename: 'a/b c.cfg', mode: 'NetASCII', options: [{ name: 'BlkSize', value: '1468' }, { name: 'tsize', value: '0' }] },
    { op: 'WRQ', filename: 'up', mode: 'octet', options: [{ name: 'x-vendor', value: '' }] },
    { op: 'DATA', block: 0, data: Buffer.alloc(0) },
    { op: 'DATA', block: 65535, data: Buffer.from([0, 1, 2, 0xff]) },
    { op: 'ACK', block: 0 },
    { op: 'ACK', block: 65535 },
    { op: 'ERROR', code: 8, message: '' },
    { op: 'ERROR', code: 1, message: 'file not found' },
    { op: 'OACK', options: [{ name: 'blksize', value: '1468' }, { name: 'windowsize', value: '16' }] },
    { op: 'OACK', options: [] },
  ];
  for (const p of packets) {
    const wire = encode(p);
    assert.deepEqual(decode(wire), p, `${p.op} decodes back`);
    assert.deepEqual(encode(decode(wire)), wire, `${p.op} re-encodes byte for byte`);
  }
});

test('latin1 bytes in a filename survive a round trip', () => {
  const wire = Buffer.concat([Buffer.from([0, 1, 0xc3, 0xa9, 0xff, 0]), Buffer.from('octet\0')]);
  assert.deepEqual(encode(decode(wire)), wire);
});

test('encode refuses a NUL inside a string', () => {
  assert.throws(() => encode({ op: 'ERROR', code: 0, message: 'a\0b' }), RangeError);
});

test('malformed packets fail with their stable code and name the field', () => {
  let failures = 0;
  for (const c of MALFORMED) {
    if (c.reason === 'decode:*' || c.reason === 'bad_option' || c.reason === 'unexpected_opcode' || c.reason === 'unsupported_mode' || c.reason === 'ignored') {
      // Structurally valid (refused later by the server) or random: decode must not crash.
      try { decode(c.packet); } catch (err) { assert.ok(err instanceof TftpDecodeError, `${c.name}: ${String(err)}`); }
      continue;
    }
    failures++;
    assert.throws(() => decode(c.packet), (err: unknown) => {
      assert.ok(err instanceof TftpDecodeError, c.name);
      assert.equal(err.code, c.reason, `${c.name}: ${err.message}`);
      assert.ok(err.field.length > 0 && err.message.includes(err.field), c.name);
      return true;
    }, c.name);
  }
  assert.ok(failures >= 20, `corpus has ${failures} decode failures`);
});

test('error messages carry the numbers', () => {
  assert.throws(() => decode(Buffer.from([0, 4, 0, 1, 9])), /ACK: is 5 bytes, expected 4/);
  assert.throws(() => decode(Buffer.from([0, 9])), /opcode: 9 is not 1\.\.6/);
  assert.throws(() => decode(Buffer.concat([Buffer.from([0, 1]), Buffer.alloc(600, 0x61), Buffer.from([0])])),
    /RRQ: 603 bytes, RFC 2347 allows at most 512/);
});

test('random datagrams never throw anything but TftpDecodeError', () => {
  let x = 12345;
  const next = (): number => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x; };
  for (let i = 0; i < 20000; i++) {
    const len = next() % 64;
    const buf = Buffer.alloc(len);
    for (let j = 0; j < len; j++) buf[j] = next() & 0xff;
    if (len >= 2 && i % 2 === 0) buf[0] = 0, buf[1] = 1 + (next() % 6); // mostly-valid opcodes
    try { decode(buf); } catch (err) { assert.ok(err instanceof TftpDecodeError, String(err)); }
  }
});

function dump(p: TftpPacket): string {
  switch (p.op) {
    case 'DATA': return `DATA block=${p.block} data=${p.data.toString('hex')}`;
    case 'ACK': return `ACK block=${p.block}`;
    case 'ERROR': return `ERROR code=${p.code} message=${JSON.stringify(p.message)}`;
    case 'OACK': return `OACK ${p.options.map((o) => `${o.name}=${JSON.stringify(o.value)}`).join(' ')}`.trimEnd();
    default:
      return `${p.op} filename=${JSON.stringify(p.filename)} mode=${p.mode} ` +
        p.options.map((o) => `${o.name}=${JSON.stringify(o.value)}`).join(' ');
  }
}

test('golden packets: real client requests decode to the committed dump and round-trip', () => {
  const captures = JSON.parse(readFileSync(new URL('captures.json', fixtures), 'utf8')) as { name: string; hex: string }[];
  const lines = captures.map((c) => {
    const wire = Buffer.from(c.hex, 'hex');
    const packet = decode(wire);
    assert.equal(encode(packet).toString('hex'), c.hex, `${c.name} round-trips`);
    return `${c.name}: ${dump(packet)}`.trimEnd();
  });
  const text = lines.join('\n') + '\n';
  assertGolden(new URL('captures.golden.txt', fixtures), text, import.meta.url);
});
