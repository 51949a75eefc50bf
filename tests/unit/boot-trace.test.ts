// The boot trace's pure core (bounds, redaction, the batching recorder) and the DHCP edge driven
// through a fake socket: a known machine's exchange is told after its answer with what was asked
// and answered, a stranger's is told to nobody.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Registry } from 'prom-client';
import { BootTraceRecorder, boundEntry, FIELD_MAX, redactSecrets, SUMMARY_MAX, TEXT_MAX, type NewTraceEntry, type PendingTrace, type TraceDrop } from '../../daemon/core/boot-trace.js';
import { DhcpServer } from '../../daemon/dhcp/server.js';
import { memoryBackend } from '../../daemon/dhcp/backend.js';
import { dhcpSettingsFromSite } from '../../daemon/dhcp/settings.js';
import { Options, Opt, MessageType } from '../../daemon/dhcp/options.js';
import { chaddrFromMac, encode, type Packet } from '../../daemon/dhcp/packet.js';
import { tftpTraceEntry } from '../../daemon/tftp/trace.js';
import { planBoot, renderScript } from '../../daemon/http/ipxe.js';
import { addressBook } from '../../daemon/boot-trace-recorder.js';
import type { MachineRecord } from '../../daemon/core/store/types.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const step = (over: Partial<PendingTrace> = {}): PendingTrace => ({ kind: 'dhcp', outcome: 'ok', summary: 's', detail: {}, ...over });

test('bounds: long strings are cut, detail fields capped, non-finite numbers become null', () => {
  const long = 'x'.repeat(100_000);
  const detail = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, long]));
  const e = boundEntry({ machine: 'm', kind: 'dhcp', outcome: 'ok', summary: long, detail: { ...detail }, text: long });
  assert.equal(e.summary.length, SUMMARY_MAX);
  assert.equal(e.text!.length, TEXT_MAX);
  assert.equal(Object.keys(e.detail).length, 24);
  assert.ok(Object.values(e.detail).every((v) => typeof v === 'string' && v.length === FIELD_MAX));
  assert.equal(boundEntry({ machine: 'm', kind: 'dhcp', outcome: 'ok', summary: '', detail: { n: Infinity } }).detail.n, null);
});

test('redaction: tokens in boot paths, the agent nonce on a kernel line, token= and nonce= arguments', () => {
  assert.equal(redactSecrets('/v1/nocloud/abcDEF123-_/user-data'), '/v1/nocloud/[redacted]/user-data');
  assert.equal(redactSecrets('/v1/answer/s3cret'), '/v1/answer/[redacted]');
  assert.equal(redactSecrets('/v1/phone-home/s3cret?x=1'), '/v1/phone-home/[redacted]?x=1');
  assert.equal(redactSecrets('/v1/installer/s3cret/started'), '/v1/installer/[redacted]/started');
  assert.equal(redactSecrets('/boot/x.img?token=abc&y=2'), '/boot/x.img?token=[redacted]&y=2');
  // The routers match paths without regard to case, and the trace keeps what they are handed.
  assert.equal(redactSecrets('/V1/NoCloud/s3cret/meta-data'), '/V1/NoCloud/[redacted]/meta-data');
  assert.equal(redactSecrets('/v1/ANSWER/s3cret'), '/v1/ANSWER/[redacted]');
  // A token in a path no rule above names (a route added later) is still taken out by its shape.
  const token = randomBytes(24).toString('base64url');
  assert.equal(redactSecrets(`/v1/installer/${token}/started`), '/v1/installer/[redacted]/started');
  assert.equal(redactSecrets(`wget http://h:8080/v1/x/${token}`), 'wget http://h:8080/v1/x/[redacted]');
  assert.equal(redactSecrets('/boot/images/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.raw'),
    '/boot/images/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.raw', 'a sha256 name is not a token');
  const script = renderScript(planBoot({
    mac: '52:54:00:00:01:01', machine: { name: 'node-01', mac: '52:54:00:00:01:01', state: 'inspecting' } as never,
    operation: { id: 'op-1', kind: 'inspect' } as never, profile: undefined, nonce: 'N0NCE-abcdef0123456789',
    site: { baseUrl: 'http://10.0.0.1:8080', agentArgs: 'console=ttyS0' },
  }));
  assert.match(script, /rackhand\.nonce=N0NCE/, 'the script as rendered carries the nonce');
  const kept = redactSecrets(script);
  assert.doesNotMatch(kept, /N0NCE/);
  assert.match(kept, /rackhand\.nonce=\[redacted\] console=ttyS0/);
  assert.match(kept, /^#!ipxe/);
  assert.equal(redactSecrets('ks=http://h/v1/answer/T0K inst.ks.token=T0K2 x'), 'ks=http://h/v1/answer/[redacted] inst.ks.token=[redacted] x');
});

test('recorder: one write per interval, never from record(); addresses resolved once per batch; strangers dropped and counted', async () => {
  const writes: NewTraceEntry[][] = [];
  const drops: Record<string, number> = {};
  let lookups = 0;
  const rec = new BootTraceRecorder({
    write: async (es) => { writes.push(es); },
    resolveAddress: async (ip) => { lookups++; return ip === '10.0.0.11' ? 'node-01' : undefined; },
    dropped: (r: TraceDrop, n) => { drops[r] = (drops[r] ?? 0) + n; },
    intervalMs: 50,
  }).start();
  rec.record(step({ machine: 'node-02', summary: 'a' }));
  rec.record(step({ address: '10.0.0.11', summary: 'b' }));
  rec.record(step({ address: '10.0.0.11', summary: 'c' }));
  rec.record(step({ address: '10.9.9.9', summary: 'stranger' }));
  rec.record(step({ summary: 'nobody' }));
  assert.equal(writes.length, 0, 'record() writes nothing itself');
  assert.equal(rec.size, 4, 'an entry naming no machine and no address is not even held');
  await sleep(120);
  assert.equal(writes.length, 1, 'one batch');
  assert.deepEqual(writes[0]!.map((e) => [e.machine, e.summary]), [['node-02', 'a'], ['node-01', 'b'], ['node-01', 'c']]);
  assert.ok(writes[0]!.every((e) => typeof e.at === 'string' && !('address' in e)));
  assert.equal(lookups, 2, 'each address once per batch');
  assert.deepEqual(drops, { unknown: 2 });
  await sleep(120);
  assert.equal(writes.length, 1, 'nothing pending, nothing written');
  await rec.close();
});

test('recorder: bounded while the store is slow; a failed write is dropped and counted; close() flushes', async () => {
  let release!: () => void;
  const writes: NewTraceEntry[][] = [];
  const drops: Record<string, number> = {};
  let fail = false;
  const rec = new BootTraceRecorder({
    write: async (es) => { if (fail) throw new Error('store away'); await new Promise<void>((r) => { release = r; }); writes.push(es); },
    resolveAddress: async () => undefined,
    dropped: (r, n) => { drops[r] = (drops[r] ?? 0) + n; },
    maxPending: 10,
  });
  for (let i = 0; i < 25; i++) rec.record(step({ machine: 'node-01', summary: String(i) }));
  assert.equal(rec.size, 10);
  assert.equal(drops.overflow, 15);
  const first = rec.flush();
  await sleep(10);
  for (let i = 0; i < 3; i++) rec.record(step({ machine: 'node-01' }));
  const second = rec.close();
  release();
  await first;
  await sleep(10);
  release();
  await second;
  assert.deepEqual(writes.map((w) => w.length), [10, 3], 'close waits for the batch under way, then writes the rest');
  fail = true;
  rec.record(step({ machine: 'node-01' }));
  await rec.flush();
  assert.equal(drops.write_failed, 1);
});

test('TFTP entries: outcome from the result, sizes and options kept, file name bounded later', () => {
  const ok = tftpTraceEntry({ address: '10.0.0.11', file: 'undionly.kpxe', result: 'ok', bytes: 1000, blksize: 1468, windowsize: 4, ms: 3 });
  assert.equal(ok.outcome, 'ok');
  assert.equal(ok.address, '10.0.0.11');
  assert.deepEqual(ok.detail, { file: 'undionly.kpxe', result: 'ok', client: '10.0.0.11', blksize: 1468, windowsize: 4, bytes: 1000, ms: 3 });
  assert.equal(tftpTraceEntry({ address: 'a', file: 'nope', result: 'not_found', detail: 'file not found' }).outcome, 'refused');
  assert.equal(tftpTraceEntry({ address: 'a', file: 'x', result: 'timeout' }).outcome, 'error');
});

const SITE = { interface: 'prov0', address: '10.20.0.1', http_port: 8080,
  dhcp: { mode: 'full' as const, subnet: '10.20.0.0/24', router: '10.20.0.1', dns: [], pool: '10.20.0.100-10.20.0.102', lease_time: 3600 } };
const MAC = '52:54:00:00:01:01';

function packet(mac: string, type: number, o: { uc?: string; requested?: string; vc?: string } = {}): Packet {
  const options = new Options().setU8(Opt.MESSAGE_TYPE, type).setString(Opt.VENDOR_CLASS, o.vc ?? 'PXEClient:Arch:00007:UNDI:003016').setU16(Opt.CLIENT_ARCH, 7);
  if (o.uc) options.setString(Opt.USER_CLASS, o.uc);
  if (o.requested) options.setIp(Opt.REQUESTED_IP, o.requested).setIp(Opt.SERVER_ID, '10.20.0.1');
  return { op: 1, htype: 1, hlen: 6, hops: 0, xid: 0xabc, secs: 0, flags: 0, ciaddr: '0.0.0.0', yiaddr: '0.0.0.0', siaddr: '0.0.0.0', giaddr: '0.0.0.0',
    chaddr: chaddrFromMac(mac), sname: '', file: '', options };
}

test('DHCP edge: a known machine\'s DISCOVER/REQUEST are told with the answer, loader and client facts; a stranger\'s are not', async () => {
  const traced: PendingTrace[] = [];
  const tracedWhenSent: number[] = [];
  const mem = memoryBackend([{ name: 'node-01', mac: MAC, ip: '10.20.0.11', hostname: 'node-01', state: 'ready' }]);
  const server = new DhcpServer({
    settings: dhcpSettingsFromSite(SITE), backend: mem.backend, registry: new Registry(), trace: (e) => traced.push(e),
    openSocket: async ({ port }) => ({ port, onMessage() {}, async close() {}, async send() { tracedWhenSent.push(traced.length); } }),
  });
  await server.start();
  const from = { address: '0.0.0.0', port: 68 };
  await server.receive(encode(packet(MAC, MessageType.DISCOVER)), 67, from);
  await server.receive(encode(packet(MAC, MessageType.REQUEST, { requested: '10.20.0.11', uc: 'iPXE' })), 67, from);
  await server.receive(encode(packet('52:54:00:99:99:99', MessageType.DISCOVER)), 67, from);
  await server.receive(encode(packet(MAC, MessageType.REQUEST, { requested: '10.20.0.99' })), 67, from);
  await server.close();
  assert.deepEqual(tracedWhenSent, [0, 1, 3], 'each answer leaves before its exchange is told');
  const known = traced.filter((e) => e.machine);
  assert.deepEqual(known.map((e) => [e.machine, e.outcome, e.detail.type, e.detail.answer]), [
    ['node-01', 'ok', 'DISCOVER', 'OFFER'], ['node-01', 'ok', 'REQUEST', 'ACK'], ['node-01', 'refused', 'REQUEST', 'NAK']]);
  assert.equal(known[0]!.detail.file, 'ipxe.efi');
  assert.equal(known[0]!.detail.address, '10.20.0.11');
  assert.equal(known[0]!.detail.arch, 7);
  assert.equal(known[0]!.detail.xid, '0x00000abc');
  assert.equal(known[0]!.detail.ipxe, false);
  assert.equal(known[1]!.detail.ipxe, true);
  assert.equal(known[1]!.detail.user_class, 'iPXE');
  assert.match(String(known[1]!.detail.file), /^http:\/\/10\.20\.0\.1:8080\/boot\/52:54:00:00:01:01\.ipxe$/);
  assert.match(String(known[2]!.detail.why), /10\.20\.0\.99/);
  const stranger = traced.filter((e) => !e.machine);
  assert.equal(stranger.length, 1, 'the stranger\'s entry names no machine: the recorder drops it');
  assert.equal(stranger[0]!.outcome, 'no_answer');
  assert.equal(stranger[0]!.detail.reason, 'unmanaged');
});

test('recorder: a batch is written in chunks with a turn of the event loop between them (SQLite blocks the loop)', async () => {
  const order: string[] = [];
  const rec = new BootTraceRecorder({ write: async (es) => { order.push(`write ${es.length}`); }, resolveAddress: async () => undefined, chunk: 2 });
  for (let i = 0; i < 5; i++) rec.record(step({ machine: 'node-01' }));
  const flushed = rec.flush();
  setImmediate(() => order.push('packet'));
  await flushed;
  assert.deepEqual(order, ['write 2', 'packet', 'write 2', 'write 1']);
});

test('recorder: an address its DHCP entries say was acknowledged names the machine without a lookup; an OFFER teaches nothing', async () => {
  const writes: NewTraceEntry[][] = [];
  const learned: [string, string][] = [];
  const drops: Record<string, number> = {};
  let lookups = 0;
  const rec = new BootTraceRecorder({
    write: async (es) => { writes.push(es); },
    resolveAddress: async () => { lookups++; return undefined; },
    learnAddress: (ip, machine) => { learned.push([ip, machine]); },
    dropped: (r, n) => { drops[r] = (drops[r] ?? 0) + n; },
  });
  // The TFTP step comes first in the batch: what the batch's ACKs say is learned before resolving.
  rec.record(step({ kind: 'tftp', address: '10.0.0.50', summary: 'RRQ' }));
  rec.record(step({ machine: 'node-01', summary: 'ACK', detail: { answer: 'ACK', address: '10.0.0.50' } }));
  rec.record(step({ machine: 'node-02', summary: 'OFFER', detail: { answer: 'OFFER', address: '10.0.0.60' } }));
  rec.record(step({ kind: 'http', address: '10.0.0.60', summary: 'GET' }));
  await rec.flush();
  assert.deepEqual(writes[0]!.map((e) => [e.machine, e.summary]), [['node-01', 'RRQ'], ['node-01', 'ACK'], ['node-02', 'OFFER']]);
  assert.deepEqual(learned, [['10.0.0.50', 'node-01']], 'only an ACK is a lease');
  assert.equal(lookups, 1, 'the offered address alone was looked up');
  assert.deepEqual(drops, { unknown: 1 });
});

test('address book: a learned address is found without rereading the store; a stranger costs one read a second', async () => {
  let reads = 0;
  let t = 0;
  const machine = (name: string, ip?: string) => ({ name, mac: `52:54:00:00:00:0${name.slice(-1)}`, ...(ip && { ip }) }) as unknown as MachineRecord;
  const book = addressBook({
    listMachines: async () => { reads++; return [machine('node-1', '10.0.0.11'), machine('node-2')]; },
    listLeases: async () => [],
  }, () => t);
  assert.equal(await book.resolve('10.0.0.11'), 'node-1');
  assert.equal(reads, 1);
  book.learn('10.0.0.99', 'node-2');
  t += 5000;
  assert.equal(await book.resolve('10.0.0.99'), 'node-2', 'learned: no reread though the snapshot is old');
  assert.equal(reads, 1);
  assert.equal(await book.resolve('10.9.9.9'), undefined);
  assert.equal(await book.resolve('10.9.9.8'), undefined);
  assert.equal(reads, 2, 'a miss on an old snapshot rereads once, a second miss within the second does not');
});
