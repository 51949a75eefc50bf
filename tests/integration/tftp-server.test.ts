// The server in-process on loopback, driven by the small client in tests/fixtures/tftp:
// negotiation, rollover, loss on both sides, duplicate ACKs, limits, timeouts, shutdown.
// Real clients in namespaces are in tests/net/tftp-*.test.ts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { startTftpServer, lossySocketFactory, udpSocketFactory, bufferFile, type TftpServer } from '../../daemon/tftp/index.js';
import { decode, encode } from '../../daemon/tftp/packet.js';
import { tftpGet } from '../fixtures/tftp/client.js';
import type { PendingTrace } from '../../daemon/core/boot-trace.js';

let dir = '';
const files: Record<string, Buffer> = {};
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const opt = (name: string, value: string) => ({ name, value });

before(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'rh-tftp-srv-'));
  files['small.bin'] = randomBytes(5000);
  files['exact.bin'] = randomBytes(512 * 8); // a multiple of 512: the last block is empty
  files['big.bin'] = randomBytes(256 << 10);
  files['roll.bin'] = randomBytes(16 * 66000 + 5); // 66001 blocks of 16: past 65535
  files['empty.bin'] = Buffer.alloc(0);
  for (const [name, data] of Object.entries(files)) writeFileSync(path.join(dir, name), data);
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Waits for a condition the server reaches just after the client is done (the last ACK). */
async function eventually(check: () => boolean, ms = 2000): Promise<void> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) assert.fail(`condition not reached: ${check.toString()}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function withServer(settings: Record<string, unknown>, fn: (s: TftpServer) => Promise<void>, deps = {}): Promise<void> {
  const server = await startTftpServer({ root: dir, address: '127.0.0.1', port: 0, ...settings }, deps);
  try { await fn(server); } finally { await server.close(); }
}

test('lock-step 512-byte blocks, no options: RFC 1350', async () => {
  await withServer({}, async (s) => {
    for (const name of ['small.bin', 'exact.bin', 'empty.bin']) {
      const r = await tftpGet('127.0.0.1', s.port, name);
      assert.equal(r.oack, undefined, 'no options asked, no OACK');
      assert.equal(sha(r.data), sha(files[name]!), name);
      assert.notEqual(r.serverPort, s.port, 'a new TID per transfer');
    }
    await eventually(() => s.stats().transfers.ok === 3).catch((e) => { console.error(s.stats()); throw e; });
  });
});

test('blksize, tsize, timeout and windowsize are negotiated', async () => {
  await withServer({ maxWindowSize: 32 }, async (s) => {
    const r = await tftpGet('127.0.0.1', s.port, 'big.bin',
      { options: [opt('tsize', '0'), opt('blksize', '1468'), opt('windowsize', '64'), opt('timeout', '3'), opt('x-unknown', '1')] });
    assert.deepEqual(r.oack, { tsize: String(files['big.bin']!.length), blksize: '1468', windowsize: '32', timeout: '3' });
    assert.equal(sha(r.data), sha(files['big.bin']!));
  });
});

test('blksize is capped by maxBlockSize and by the interface MTU (lo: 65536)', async () => {
  await withServer({}, async (s) => {
    assert.equal(s.maxBlockSize, 65464);
    const r = await tftpGet('127.0.0.1', s.port, 'big.bin', { options: [opt('blksize', '65464')] });
    assert.equal(r.oack?.blksize, '65464');
    assert.equal(sha(r.data), sha(files['big.bin']!));
  });
  await withServer({ maxBlockSize: 1000 }, async (s) => {
    const r = await tftpGet('127.0.0.1', s.port, 'small.bin', { options: [opt('blksize', '1468')] });
    assert.equal(r.oack?.blksize, '1000');
    assert.equal(sha(r.data), sha(files['small.bin']!));
  });
});

test('block numbers roll over past 65535, lock-step and windowed', async () => {
  await withServer({}, async (s) => {
    for (const windowsize of ['1', '64']) {
      const r = await tftpGet('127.0.0.1', s.port, 'roll.bin', { options: [opt('blksize', '16'), opt('windowsize', windowsize)] });
      assert.equal(sha(r.data), sha(files['roll.bin']!), `windowsize ${windowsize}`);
    }
  });
});

test('10% loss each way: transfers complete intact, retransmissions counted', async () => {
  let seed = 42;
  const random = (): number => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
  const registry = new Registry();
  await withServer({ timeoutMs: 50, minTimeoutMs: 20, maxRetries: 20 }, async (s) => {
    for (const windowsize of ['1', '8']) {
      const r = await tftpGet('127.0.0.1', s.port, 'big.bin',
        { options: [opt('blksize', '1024'), opt('windowsize', windowsize)], lossRate: 0.1, timeoutMs: 100, maxRetries: 50, dallyMs: 1000 });
      assert.equal(sha(r.data), sha(files['big.bin']!), `windowsize ${windowsize}`);
    }
    await eventually(() => s.stats().retransmissions > 0 && s.stats().transfers.ok! >= 1);
    assert.match(await registry.metrics(), /rackhand_tftp_retransmissions_total [1-9]/);
  }, { socketFactory: lossySocketFactory(udpSocketFactory, 0.1, random), registry });
});

test('duplicate ACKs never cause duplicate DATA (sorcerer\'s apprentice)', async () => {
  await withServer({}, async (s) => {
    const r = await tftpGet('127.0.0.1', s.port, 'big.bin', { duplicateAcks: true });
    assert.equal(sha(r.data), sha(files['big.bin']!));
    const blocks = Math.floor(files['big.bin']!.length / 512) + 1;
    assert.ok(r.packets <= blocks + 2, `${r.packets} DATA packets for ${blocks} blocks`);
    await eventually(() => s.stats().transfers.ok === 1);
    assert.equal(s.stats().retransmissions, 0);
  });
});

/** Sends one raw datagram and returns the first reply, or undefined after `ms`. */
function exchange(port: number, packet: Buffer, ms = 300): Promise<ReturnType<typeof decode> | undefined> {
  const sock = dgram.createSocket('udp4');
  return new Promise((resolve) => {
    const t = setTimeout(() => { sock.close(); resolve(undefined); }, ms);
    sock.on('message', (m) => { clearTimeout(t); sock.close(); resolve(decode(m)); });
    sock.send(packet, port, '127.0.0.1');
  });
}

test('refusals: write request 2, missing 1, traversal 2, bad option 8, mail 4', async () => {
  await withServer({}, async (s) => {
    const rrq = (filename: string, mode = 'octet', options: { name: string; value: string }[] = []) =>
      encode({ op: 'RRQ', filename, mode, options });
    const cases: [Buffer, number][] = [
      [encode({ op: 'WRQ', filename: 'small.bin', mode: 'octet', options: [] }), 2],
      [rrq('nope.bin'), 1],
      [rrq('../etc/passwd'), 2],
      [rrq('small.bin', 'octet', [opt('blksize', '2')]), 8],
      [rrq('small.bin', 'mail'), 4],
    ];
    for (const [packet, code] of cases) {
      const reply = await exchange(s.port, packet);
      assert.equal(reply?.op, 'ERROR');
      assert.equal(reply?.op === 'ERROR' && reply.code, code, JSON.stringify(reply));
    }
    const st = s.stats();
    assert.deepEqual(st.drops, { write_request: 1, bad_option: 1, unsupported_mode: 1 });
    assert.deepEqual(st.transfers, { not_found: 1, access_violation: 1 });
  });
});

test('past maxTransfers a request gets ERROR 0 "server busy"; a stalled client times out', async () => {
  await withServer({ maxTransfers: 1, timeoutMs: 30, minTimeoutMs: 30, maxTimeoutMs: 60, maxRetries: 2 }, async (s) => {
    const staller = dgram.createSocket('udp4');
    let dataPackets = 0;
    staller.on('message', () => { dataPackets++; }); // never ACKs
    await new Promise<void>((r) => staller.bind(0, '127.0.0.1', () => r()));
    staller.send(encode({ op: 'RRQ', filename: 'big.bin', mode: 'octet', options: [] }), s.port, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 20));
    const reply = await exchange(s.port, encode({ op: 'RRQ', filename: 'small.bin', mode: 'octet', options: [] }));
    assert.ok(reply?.op === 'ERROR' && reply.code === 0 && /server busy: 1 transfers/.test(reply.message), JSON.stringify(reply));
    await new Promise((r) => setTimeout(r, 400));
    staller.close();
    assert.equal(dataPackets, 3, 'first send and 2 retransmissions');
    assert.equal(s.stats().transfers.timeout, 1);
    assert.equal(s.stats().active, 0);
    const ok = await tftpGet('127.0.0.1', s.port, 'small.bin');
    assert.equal(sha(ok.data), sha(files['small.bin']!), 'served again once the slot is free');
  });
});

test('close() aborts transfers in progress with ERROR 0', async () => {
  const server = await startTftpServer({ root: dir, address: '127.0.0.1', port: 0 });
  const staller = dgram.createSocket('udp4');
  const got: string[] = [];
  staller.on('message', (m) => { got.push(decode(m).op); });
  await new Promise<void>((r) => staller.bind(0, '127.0.0.1', () => r()));
  staller.send(encode({ op: 'RRQ', filename: 'big.bin', mode: 'octet', options: [] }), server.port, '127.0.0.1');
  await new Promise((r) => setTimeout(r, 50));
  await server.close();
  await new Promise((r) => setTimeout(r, 50));
  staller.close();
  assert.deepEqual(got, ['DATA', 'ERROR']);
  assert.equal(server.stats().transfers.aborted, 1);
});

test('a custom handler serves generated files; netascii is converted', async () => {
  const handler = async (p: string, client: { address: string }) =>
    p === 'hello.ipxe' ? bufferFile(Buffer.from(`#!ipxe\necho ${client.address}\n`)) : undefined;
  const server = await startTftpServer({ handler, address: '127.0.0.1', port: 0 });
  try {
    const r = await tftpGet('127.0.0.1', server.port, 'hello.ipxe');
    assert.equal(r.data.toString(), '#!ipxe\necho 127.0.0.1\n');
    const missing = await tftpGet('127.0.0.1', server.port, 'small.bin');
    assert.equal(missing.error?.code, 1);
  } finally { await server.close(); }
});

test('a size asked and the transfer ended before data (EDK2 firmware does this first) is size_read, traced as a step that went well', async () => {
  const traced: PendingTrace[] = [];
  await withServer({}, async (s) => {
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
    const oack = new Promise<{ msg: Buffer; port: number }>((resolve) => sock.once('message', (msg, from) => resolve({ msg, port: from.port })));
    sock.send(encode({ op: 'RRQ', filename: 'big.bin', mode: 'octet', options: [opt('tsize', '0'), opt('blksize', '1468')] }), s.port, '127.0.0.1');
    const reply = await oack;
    const answered = decode(reply.msg);
    assert.equal(answered.op, 'OACK');
    if (answered.op === 'OACK') assert.deepEqual(answered.options.find((o) => o.name === 'tsize')?.value, String(files['big.bin']!.length));
    // What OVMF sends once it has the size: an ERROR to the transfer's port.
    sock.send(encode({ op: 'ERROR', code: 8, message: 'aborted after size' }), reply.port, '127.0.0.1');
    await eventually(() => s.stats().transfers.size_read === 1);
    sock.close();
    // A client that ends a transfer once data flowed is still a client error.
    const cut = dgram.createSocket('udp4');
    await new Promise<void>((r) => cut.bind(0, '127.0.0.1', r));
    const first = new Promise<{ port: number }>((resolve) => cut.once('message', (_m, from) => resolve({ port: from.port })));
    cut.send(encode({ op: 'RRQ', filename: 'big.bin', mode: 'octet', options: [] }), s.port, '127.0.0.1');
    const data = await first;
    cut.send(encode({ op: 'ERROR', code: 0, message: 'disk full' }), data.port, '127.0.0.1');
    await eventually(() => s.stats().transfers.client_error === 1);
    cut.close();
  }, { trace: (e: PendingTrace) => traced.push(e) });
  const sizeRead = traced.find((e) => e.detail.result === 'size_read');
  assert.ok(sizeRead, JSON.stringify(traced));
  assert.equal(sizeRead.outcome, 'ok');
  assert.match(sizeRead.summary, /RRQ big\.bin → size told, the client closed to download it next \(262144 bytes\)/);
  assert.equal(traced.find((e) => e.detail.result === 'client_error')?.outcome, 'error');
});

test('a read request repeated before any ACK gets the first answer again at once (its OACK or block 1), never a second transfer', async () => {
  await withServer({}, async (s) => {
    const client = dgram.createSocket('udp4');
    const got: { packet: ReturnType<typeof decode>; port: number; at: number }[] = [];
    client.on('message', (m, rinfo) => got.push({ packet: decode(m), port: rinfo.port, at: performance.now() }));
    await new Promise<void>((r) => client.bind(0, '127.0.0.1', () => r()));
    const send = (b: Buffer, port = s.port) => client.send(b, port, '127.0.0.1');
    const next = async (): Promise<(typeof got)[number]> => { await eventually(() => got.length > 0, 3000); return got.shift()!; };
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    try {
      // With options: the OACK was "lost" (we ignore it); the repeated request brings it back well
      // before the server's own retransmission (timeoutMs 1000).
      const withOptions = encode({ op: 'RRQ', filename: 'small.bin', mode: 'octet', options: [opt('blksize', '1024')] });
      send(withOptions);
      const first = await next();
      assert.equal(first.packet.op, 'OACK');
      await sleep(150);
      // Three at once (a flood of spoofed repeats, say) get one answer: at most one per minTimeoutMs.
      for (let i = 0; i < 3; i++) send(withOptions);
      const again = await next();
      assert.equal(again.packet.op, 'OACK');
      await sleep(250);
      assert.deepEqual(got.map((g) => g.packet.op), [], 'one OACK for three repeats');
      assert.equal(again.port, first.port, 'the same transfer answers');
      assert.ok(again.at - first.at < 900, `OACK again after ${Math.round(again.at - first.at)} ms: sooner than the 1 s timer`);
      // Once the client has acknowledged, a repeated request changes nothing.
      send(encode({ op: 'ACK', block: 0 }), first.port);
      const data1 = await next();
      assert.ok(data1.packet.op === 'DATA' && data1.packet.block === 1);
      await sleep(150);
      send(withOptions);
      await sleep(200);
      assert.ok(got.every((g) => g.packet.op !== 'OACK'), `no OACK once data flows: ${JSON.stringify(got.map((g) => g.packet.op))}`);
      assert.equal(s.stats().active, 1, 'never a second transfer');
      for (let block = 1; ; block++) { // finish it: 1024-byte blocks of 5000 bytes
        send(encode({ op: 'ACK', block }), first.port);
        if (block === 5) break;
        await eventually(() => got.some((g) => g.packet.op === 'DATA' && g.packet.block === block + 1), 3000);
      }
      await eventually(() => s.stats().transfers.ok === 1);
      got.length = 0;
      // No options: the first answer is block 1 itself.
      const plain = encode({ op: 'RRQ', filename: 'small.bin', mode: 'octet', options: [] });
      send(plain);
      const block1 = await next();
      assert.ok(block1.packet.op === 'DATA' && block1.packet.block === 1);
      await sleep(150);
      send(plain);
      const block1again = await next();
      assert.ok(block1again.packet.op === 'DATA' && block1again.packet.block === 1 && block1again.port === block1.port);
      assert.ok(block1again.at - block1.at < 900, `block 1 again after ${Math.round(block1again.at - block1.at)} ms`);
      assert.equal(s.stats().drops.duplicate_request, 5);
    } finally {
      client.close();
    }
  });
});

test('a read request repeated just after the server\'s own retransmission is not answered twice', async () => {
  // The limit on repeats counts from the last time the first answer went, whoever sent it: the
  // transfer's timer too (before, only the first send and a repeat's answer reset it).
  await withServer({ timeoutMs: 1000, minTimeoutMs: 400 }, async (s) => {
    const client = dgram.createSocket('udp4');
    const got: string[] = [];
    client.on('message', (m) => got.push(decode(m).op));
    await new Promise<void>((r) => client.bind(0, '127.0.0.1', () => r()));
    try {
      const rrq = encode({ op: 'RRQ', filename: 'small.bin', mode: 'octet', options: [opt('blksize', '1024')] });
      client.send(rrq, s.port, '127.0.0.1');
      await eventually(() => got.length === 1, 3000);
      // The OACK "lost": the server's timer sends it again after about a second.
      await eventually(() => got.length === 2, 3000);
      client.send(rrq, s.port, '127.0.0.1');
      await new Promise((r) => setTimeout(r, 250));
      assert.deepEqual(got, ['OACK', 'OACK'], 'the repeat right after the timer\'s OACK brings no third');
      assert.equal(s.stats().drops.duplicate_request, 1);
    } finally {
      client.close();
    }
  });
});
