// The batched UDP addon's TFTP half (daemon/native/udpconn.c through daemon/tftp/socket-batched.ts)
// on loopback: a run of datagrams leaves whole and in order (GSO or sendmmsg), prefixes wrapping
// round their table; ACKs arrive through the shared receive views; an ICMP "port unreachable" from
// a client that went away reaches onError; a window the socket takes only part of is a counted short
// send whose rest still arrives; and the switch falls back to dgram when the addon is off or missing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { UDPBATCH_PATH, loadUdpBatch, type UdpBatchAddon } from '../../daemon/udp-batch.js';
import { batchedSocketFactory, defaultSocketFactory } from '../../daemon/tftp/socket-batched.js';
import { bufferFile, startTftpServer, type SocketFactory, type TftpSocket } from '../../daemon/tftp/index.js';
import { tftpGet } from '../fixtures/tftp/client.js';

const built = existsSync(UDPBATCH_PATH);
const skip = !built && 'addon not built (make build)';
const addon = () => loadUdpBatch({}).addon!;

async function receiver(): Promise<{ sock: dgram.Socket; port: number; got: Buffer[]; wait(n: number): Promise<void> }> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  const got: Buffer[] = [];
  sock.on('message', (m) => got.push(m));
  return {
    sock, port: sock.address().port, got,
    async wait(n) {
      const until = Date.now() + 3000;
      while (got.length < n && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
    },
  };
}

test('the switch: RACKHAND_UDPBATCH=0 or a missing addon gives dgram sockets, with the reason', () => {
  const off = defaultSocketFactory({ RACKHAND_UDPBATCH: '0' });
  assert.equal(off.transport, 'dgram');
  assert.match(off.why ?? '', /RACKHAND_UDPBATCH=0/);
  assert.equal(off.factory('transfer').transport, 'dgram');
  const missing = defaultSocketFactory({}, '/nonexistent/udpbatch.node');
  assert.equal(missing.transport, 'dgram');
  assert.match(missing.why ?? '', /not built/);
  if (built) assert.equal(defaultSocketFactory({}).factory('transfer').transport, 'batched');
});

test('a run leaves whole and in order: prefixes wrap round their table, the last datagram is short', { skip }, async () => {
  const rx = await receiver();
  const sock = batchedSocketFactory(addon())('transfer');
  try {
    await sock.bind(0, '127.0.0.1');
    await sock.connect(rx.port, '127.0.0.1');
    // Four 2-byte records; starting at record 3 the prefixes go 3, 0, 1, 2, 3, …
    const prefixes = Buffer.from([0, 10, 0, 11, 0, 12, 0, 13]);
    const data = randomBytes(100 + 70 * 1400);
    const count = 70; // more than one GSO send (64 segments at most)
    const took = sock.sendRun!(prefixes, 3, 2, data, 100, 1400, count, 333);
    assert.equal(took, count);
    await rx.wait(count);
    assert.equal(rx.got.length, count);
    for (let i = 0; i < count; i++) {
      const m = rx.got[i]!;
      assert.deepEqual([...m.subarray(0, 2)], [0, 10 + ((3 + i) % 4)], `prefix of datagram ${i}`);
      const len = i === count - 1 ? 333 : 1400;
      assert.equal(m.length, 2 + len);
      assert.ok(m.subarray(2).equals(data.subarray(100 + i * 1400, 100 + i * 1400 + len)), `payload of datagram ${i}`);
    }
    assert.throws(() => sock.sendRun!(prefixes, 0, 2, data, data.length - 10, 1400, 2, 1400), /outside its buffers/);
  } finally {
    sock.close();
    rx.sock.close();
  }
});

test('ACKs arrive through the same shared views; a closed client port reaches onError as ECONNREFUSED', { skip }, async () => {
  const rx = await receiver();
  const sock = batchedSocketFactory(addon())('transfer');
  try {
    await sock.bind(0, '127.0.0.1');
    await sock.connect(rx.port, '127.0.0.1');
    const seen: { buffer: ArrayBufferLike; block: number }[] = [];
    sock.onMessage((msg, from) => {
      assert.equal(from.port, rx.port);
      seen.push({ buffer: msg.buffer, block: msg.readUInt16BE(2) });
    });
    const errors: string[] = [];
    sock.onError((err) => errors.push((err as NodeJS.ErrnoException).code ?? err.message));
    for (let b = 1; b <= 40; b++) rx.sock.send(Buffer.from([0, 4, 0, b]), sock.localPort(), '127.0.0.1');
    const until = Date.now() + 3000;
    while (seen.length < 40 && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(seen.map((s) => s.block), Array.from({ length: 40 }, (_, i) => i + 1));
    assert.equal(new Set(seen.map((s) => s.buffer)).size, 1, 'one slab, no allocation per batch');
    // The client goes away: the next datagram draws an ICMP port unreachable.
    rx.sock.close();
    await new Promise((r) => setTimeout(r, 20));
    sock.send(Buffer.from([0, 3, 0, 1]));
    const deadline = Date.now() + 2000;
    while (!errors.includes('ECONNREFUSED') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
      sock.sendRun!(Buffer.from([0, 3, 0, 1]), 0, 4, Buffer.alloc(8), 0, 4, 2, 4);
    }
    assert.ok(errors.includes('ECONNREFUSED'), `errors: ${errors.join(', ')}`);
  } finally {
    sock.close();
  }
});

/**
 * Real batched sockets whose first `shortCalls` runs are cut to `keep` datagrams, as a full socket
 * buffer (EAGAIN or ENOBUFS part-way through a sendmmsg) cuts them.
 */
function cuttingFactory(base: SocketFactory, shortCalls: number, keep: number): SocketFactory {
  let left = shortCalls;
  return (purpose) => {
    const inner: TftpSocket = base(purpose);
    if (purpose !== 'transfer') return inner;
    return {
      transport: inner.transport,
      bind: (port, address) => inner.bind(port, address),
      connect: (port, address) => inner.connect(port, address),
      send: (data, peer) => inner.send(data, peer),
      sendRun: (prefixes, start, len, data, offset, stride, count, lastLen) => (left-- > 0 && count > keep
        ? inner.sendRun!(prefixes, start, len, data, offset, stride, keep, stride)
        : inner.sendRun!(prefixes, start, len, data, offset, stride, count, lastLen)),
      onMessage: (fn) => inner.onMessage(fn),
      onError: (fn) => inner.onError(fn),
      localPort: () => inner.localPort(),
      close: () => inner.close(),
    };
  };
}

test('a transfer on batched sockets: windows in one call each, short sends counted and their rest delivered', { skip }, async () => {
  const data = randomBytes(1468 * 200 + 17);
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  for (const [name, factory] of [['batched', batchedSocketFactory(addon())], ['cut', cuttingFactory(batchedSocketFactory(addon()), 3, 5)]] as const) {
    const server = await startTftpServer({ address: '127.0.0.1', port: 0, handler: async () => bufferFile(data), busyPoll: false }, { socketFactory: factory });
    try {
      const got = await tftpGet('127.0.0.1', server.port, 'f', { options: [{ name: 'blksize', value: '1468' }, { name: 'windowsize', value: '16' }] });
      assert.equal(got.error, undefined, name);
      assert.equal(sha(got.data), sha(data), `${name}: every byte`);
      const until = Date.now() + 2000;
      while (server.stats().transfers.ok !== 1 && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
      const stats = server.stats();
      assert.equal(stats.transfers.ok, 1, name);
      // Cut three times in a row: the first window went as 5 + 5 + 5 + 1 blocks, one short send.
      assert.equal(stats.shortSends, name === 'cut' ? 1 : 0, `${name}: short sends counted`);
    } finally {
      await server.close();
    }
  }
});

test('every transfer socket gets a port of its own (no SO_REUSEADDR on port 0: it hands out duplicates)', { skip }, async () => {
  const factory = batchedSocketFactory(addon());
  const socks = Array.from({ length: 1500 }, () => factory('transfer'));
  try {
    for (const s of socks) await s.bind(0, '127.0.0.1');
    const ports = socks.map((s) => s.localPort());
    assert.equal(new Set(ports).size, ports.length);
  } finally {
    for (const s of socks) s.close();
  }
});

test('EAGAIN and ENOBUFS from the addon are short sends, not errors: the window goes again a moment later', { skip }, async () => {
  const real = addon();
  let calls = 0;
  // The real addon, but its first two runs find the socket buffer full.
  const sendRun: UdpBatchAddon['sendRun'] = (...args) =>
    (++calls === 1 ? -constants.errno.EAGAIN : calls === 2 ? -constants.errno.ENOBUFS : real.sendRun(...args));
  const full = Object.create(real, { sendRun: { value: sendRun } }) as UdpBatchAddon;
  const data = randomBytes(1468 * 40 + 3);
  const server = await startTftpServer({ address: '127.0.0.1', port: 0, handler: async () => bufferFile(data), busyPoll: false }, { socketFactory: batchedSocketFactory(full) });
  try {
    const got = await tftpGet('127.0.0.1', server.port, 'f', { options: [{ name: 'blksize', value: '1468' }, { name: 'windowsize', value: '16' }] });
    assert.equal(got.error, undefined);
    assert.ok(got.data.equals(data));
    const until = Date.now() + 2000;
    while (server.stats().transfers.ok !== 1 && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
    assert.equal(server.stats().transfers.ok, 1);
    assert.equal(server.stats().shortSends, 1, 'one window, refused twice, counted once');
    assert.equal(server.stats().retransmissions, 0, 'sent again by the short-send path, not by the timer');
  } finally {
    await server.close();
  }
});
