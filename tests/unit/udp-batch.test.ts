// The JS half of batched UDP (daemon/udp-batch.ts): how batches are split and packed, how the send
// queue groups one turn's sends into one call and settles each datagram on its own, the switch,
// and the addon itself on loopback when it is built.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import {
  SendQueue, UDPBATCH_PATH, ipv4ToNumber, loadUdpBatch, numberToIpv4, openBatchedSocket, packBatch, splitBatch, type Datagram,
} from '../../daemon/udp-batch.js';

test('a packed batch splits back into the same datagrams, as views of one buffer', () => {
  const sent: Datagram[] = [
    { msg: Buffer.from('first'), address: '10.20.0.2', port: 67 },
    { msg: Buffer.alloc(0), address: '255.255.255.255', port: 68 },
    { msg: Buffer.from('third datagram'), address: '0.0.0.0', port: 65535 },
  ];
  const { buf, meta } = packBatch(sent);
  assert.equal(buf.length, 5 + 0 + 14);
  const got = splitBatch(buf, meta);
  assert.deepEqual(got.map((d) => [d.msg.toString(), d.address, d.port]), sent.map((d) => [d.msg.toString(), d.address, d.port]));
  assert.equal(got[2]!.msg.buffer, buf.buffer, 'no copy per datagram');
});

test('IPv4 addresses convert both ways and garbage is refused', () => {
  for (const a of ['0.0.0.0', '10.20.0.1', '255.255.255.255', '192.168.1.200']) assert.equal(numberToIpv4(ipv4ToNumber(a)), a);
  for (const bad of ['10.20.0', '10.20.0.256', 'a.b.c.d', '1.2.3.4.5', '']) assert.throws(() => ipv4ToNumber(bad));
});

/** A fake sendBatch recording its calls; `plan` says per call how many go and which fail. */
function recorder(plan: (call: number, count: number, errs: Int32Array) => number) {
  const calls: { count: number; start: number; ports: number[] }[] = [];
  const fn = (buf: Buffer, meta: Uint32Array, errs: Int32Array, start: number) => {
    const count = meta.length / 4;
    calls.push({ count, start, ports: splitBatch(buf, meta).map((d) => d.port) });
    return plan(calls.length - 1, count, errs);
  };
  return { calls, fn };
}

test('the sends of one turn leave in one call, each settled on its own', async () => {
  const r = recorder((_call, count, errs) => { errs.fill(0); errs[1] = constants.errno.EHOSTUNREACH; return count; });
  const q = new SendQueue(r.fn);
  const results = await Promise.allSettled([1, 2, 3].map((port) => q.send(Buffer.from([port]), port, '10.0.0.1')));
  assert.equal(r.calls.length, 1);
  assert.deepEqual(r.calls[0]!.ports, [1, 2, 3]);
  assert.deepEqual(results.map((x) => x.status), ['fulfilled', 'rejected', 'fulfilled']);
  assert.match(String((results[1] as PromiseRejectedResult).reason), /EHOSTUNREACH 10\.0\.0\.1:2/);
});

test('a full socket buffer (the addon stops early) keeps the rest queued for a later call', async () => {
  const r = recorder((call, count, errs) => { errs.fill(0); return call === 0 ? 2 : count; });
  const q = new SendQueue(r.fn);
  await Promise.all([1, 2, 3, 4, 5].map((port) => q.send(Buffer.from([port]), port, '10.0.0.1')));
  assert.deepEqual(r.calls.map((c) => c.ports), [[1, 2, 3, 4, 5], [3, 4, 5]]);
  assert.equal(q.waiting, 0);
});

test('a send call that throws fails that batch only; an address that is not IPv4 fails at once', async () => {
  let throwing = true;
  const q = new SendQueue((_b, meta, errs) => { if (throwing) throw new Error('boom'); errs.fill(0); return meta.length / 4; });
  await assert.rejects(q.send(Buffer.from('a'), 1, '10.0.0.1'), /boom/);
  throwing = false;
  await q.send(Buffer.from('b'), 1, '10.0.0.1');
  await assert.rejects(q.send(Buffer.from('c'), 1, 'fe80::1'), /not an IPv4 address/);
  q.close();
  await assert.rejects(q.send(Buffer.from('d'), 1, '10.0.0.1'), /closed/);
});

test('the switch: RACKHAND_UDPBATCH=0 or a missing addon means dgram, with the reason', () => {
  assert.match(loadUdpBatch({ RACKHAND_UDPBATCH: '0' }).why ?? '', /RACKHAND_UDPBATCH=0 turned it off/);
  const missing = loadUdpBatch({}, '/nonexistent/udpbatch.node');
  assert.equal(missing.addon, undefined);
  assert.match(missing.why ?? '', /is not built \(make build\)/);
});

test('the addon on loopback: a burst arrives in few batches, every datagram intact, replies go out', { skip: !existsSync(UDPBATCH_PATH) && 'addon not built (make build)' }, async () => {
  const { addon } = loadUdpBatch({});
  assert.ok(addon);
  const batches: number[] = [];
  const got: string[] = [];
  let resolveAll!: () => void;
  const all = new Promise<void>((r) => { resolveAll = r; });
  const N = 500;
  const server = openBatchedSocket(addon, { port: 0, ifindex: 0, rcvbuf: 4 << 20 }, (batch) => {
    batches.push(batch.length);
    for (const d of batch) got.push(d.msg.toString());
    if (got.length === N) resolveAll();
  });
  const client = dgram.createSocket('udp4');
  try {
    await new Promise<void>((r) => client.bind(0, '127.0.0.1', r));
    const port = server.port;
    for (let i = 0; i < N; i++) client.send(`datagram ${i}`, port, '127.0.0.1');
    await Promise.race([all, new Promise((_, j) => setTimeout(() => j(new Error(`only ${got.length} of ${N}`)), 5000))]);
    assert.deepEqual(new Set(got), new Set(Array.from({ length: N }, (_, i) => `datagram ${i}`)));
    assert.ok(batches.length < N / 4, `${batches.length} batches for ${N} datagrams`);
    const echoes: string[] = [];
    client.on('message', (m) => echoes.push(m.toString()));
    await Promise.all(Array.from({ length: 50 }, (_, i) => server.send(Buffer.from(`reply ${i}`), client.address().port, '127.0.0.1')));
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(echoes.length, 50);
  } finally {
    client.close();
    await server.close();
  }
});
