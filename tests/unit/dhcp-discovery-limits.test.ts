// Discovery's limits inside the DHCP server: the enrolment gate on its own (rate, cap, one at a
// time, refusals told once per interval), then the server driven through a fake socket with the
// in-memory backend: a flood of unknown PXE MACs enrols only within the limits, takes at most its
// share of the pool, and an inventory machine without a reservation still gets an address.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { Registry } from 'prom-client';
import { EnrolGate, type RefusalSummary } from '../../daemon/dhcp/enrol-gate.js';
import { DhcpServer } from '../../daemon/dhcp/server.js';
import { memoryBackend, type DhcpMachine } from '../../daemon/dhcp/backend.js';
import { dhcpSettingsFromSite, type SiteLike } from '../../daemon/dhcp/settings.js';
import { Options, Opt, MessageType } from '../../daemon/dhcp/options.js';
import { chaddrFromMac, decode, encode, type Packet } from '../../daemon/dhcp/packet.js';
import type { DhcpSocket } from '../../daemon/dhcp/socket.js';

function gate(o: { perMinute: number; maxPending: number; pending?: () => number; intervalMs?: number }) {
  let t = 0;
  let enrolled = 0;
  const told: RefusalSummary[] = [];
  const g = new EnrolGate({
    perMinute: o.perMinute, maxPending: o.maxPending, now: () => t, intervalMs: o.intervalMs ?? 60_000,
    countPending: async () => o.pending?.() ?? enrolled, onRefusals: (s) => told.push(s),
  });
  const admit = (mac: string) => g.admit(mac, async () => { enrolled++; return mac; });
  return { g, admit, told, advance: (ms: number) => { t += ms; }, enrolled: () => enrolled };
}

test('gate: a burst of per_minute, then one per 60/per_minute seconds', async () => {
  const { g, admit, advance, enrolled } = gate({ perMinute: 6, maxPending: 1000 });
  const first = await Promise.all(Array.from({ length: 20 }, (_, i) => admit(`m${i}`)));
  assert.equal(first.filter((r) => r.ok).length, 6);
  assert.ok(first.filter((r) => !r.ok).every((r) => !r.ok && r.reason === 'discovery_rate'));
  advance(9_999);
  assert.equal((await admit('late')).ok, false, 'under 10 s: no token yet');
  advance(1);
  assert.equal((await admit('next')).ok, true, 'one token every 10 s at 6 a minute');
  assert.equal(enrolled(), 7);
  g.close();
});

test('gate: max_pending caps enrolments even when concurrent packets race for the last place', async () => {
  const { g, admit, enrolled } = gate({ perMinute: 100, maxPending: 3 });
  const results = await Promise.all(Array.from({ length: 10 }, (_, i) => admit(`m${i}`)));
  assert.equal(enrolled(), 3);
  assert.equal(results.filter((r) => !r.ok && r.reason === 'discovery_cap').length, 7);
  g.close();
});

test('gate: refusals are told once, then summed once per interval, never one per packet', async () => {
  const { g, admit, told } = gate({ perMinute: 1, maxPending: 1000, intervalMs: 80 });
  await admit('ok');
  for (let i = 0; i < 500; i++) await admit(`x${i}`);
  assert.equal(told.length, 1, 'the first refusal is told at once');
  assert.equal(told[0]!.counts.discovery_rate, 1);
  await sleep(120);
  assert.equal(told.length, 2, 'the rest in one summary at the end of the interval');
  assert.equal(told[1]!.counts.discovery_rate, 499);
  assert.equal(told[1]!.lastMac, 'x499');
  await sleep(120);
  assert.equal(told.length, 2, 'nothing refused meanwhile: nothing told');
  g.close();
});

const PXE = 'PXEClient:Arch:00000:UNDI:002001';
const POOLED: DhcpMachine = { name: 'node-02', mac: '52:54:00:00:01:02', ip: null, hostname: 'node-02', state: 'enrolled' };
const site = (discovery: SiteLike['discovery'], pool = '10.20.0.100-10.20.0.109', percent?: number): SiteLike => ({
  interface: 'prov0', address: '10.20.0.1', http_port: 8080, discovery,
  dhcp: { mode: 'full', subnet: '10.20.0.0/24', pool, lease_time: 3600, ...(percent !== undefined && { discovered_pool_percent: percent }) },
});

async function setup(s: SiteLike, machines: DhcpMachine[] = [POOLED]) {
  const mem = memoryBackend(machines.map((m) => ({ ...m })));
  const sent: Packet[] = [];
  const server = new DhcpServer({
    settings: dhcpSettingsFromSite(s), backend: mem.backend, registry: new Registry(),
    openSocket: async ({ port }): Promise<DhcpSocket> => ({ port, onMessage() {}, async close() {}, async send(msg) { sent.push(decode(msg)); } }),
  });
  await server.start();
  const send = async (p: Packet) => { sent.length = 0; await server.receive(encode(p), 67, { address: '0.0.0.0', port: 68 }); return [...sent]; };
  const drops = async (): Promise<Record<string, number>> => Object.fromEntries((await server.metrics.drops.get()).values.map((v) => [v.labels.reason, v.value]));
  return { server, mem, send, drops };
}

function req(mac: string, type: number, o: { vc?: string; requested?: string; serverId?: string; giaddr?: string } = {}): Packet {
  const options = new Options().setU8(Opt.MESSAGE_TYPE, type);
  if (o.requested) options.setIp(Opt.REQUESTED_IP, o.requested);
  if (o.serverId) options.setIp(Opt.SERVER_ID, o.serverId);
  if (o.vc) options.setString(Opt.VENDOR_CLASS, o.vc);
  options.setU16(Opt.CLIENT_ARCH, 0);
  return { op: 1, htype: 1, hlen: 6, hops: 0, xid: 7, secs: 0, flags: 0, ciaddr: '0.0.0.0', yiaddr: '0.0.0.0',
    siaddr: '0.0.0.0', giaddr: o.giaddr ?? '0.0.0.0', chaddr: chaddrFromMac(mac), sname: '', file: '', options };
}
const spoofed = (i: number) => `02:66:00:00:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;

test('server: a flood of unknown PXE MACs enrols per_minute of them, the rest are counted drops told once', async () => {
  const { server, mem, send, drops } = await setup(site({ per_minute: 5, max_pending: 100 }));
  for (let i = 0; i < 300; i++) await send(req(spoofed(i), MessageType.DISCOVER, { vc: PXE }));
  const discovered = [...mem.machines.values()].filter((m) => m.source === 'discovered');
  assert.equal(discovered.length, 5);
  assert.equal((await drops()).discovery_rate, 295);
  assert.equal(mem.refusals.length, 1, 'one summary so far, not one per packet');
  await server.close();
});

test('server: max_pending caps the discovered machines', async () => {
  const { server, mem, send, drops } = await setup(site({ per_minute: 1000, max_pending: 4 }));
  for (let i = 0; i < 50; i++) await send(req(spoofed(i), MessageType.DISCOVER, { vc: PXE }));
  assert.equal([...mem.machines.values()].filter((m) => m.source === 'discovered').length, 4);
  assert.equal((await drops()).discovery_cap, 46);
  await server.close();
});

test('server: machines outside the inventory get at most their share of the pool; an inventory machine still gets an address', async () => {
  // Ten addresses, 50 % for discovered machines; the enrolment limits are wide open on purpose, so
  // that only the pool share stands between the flood and the pool.
  const { server, send, drops } = await setup(site({ per_minute: 10_000, max_pending: 10_000 }));
  let offers = 0;
  for (let i = 0; i < 200; i++) {
    const [offer] = await send(req(spoofed(i), MessageType.DISCOVER, { vc: PXE }));
    if (!offer) continue;
    offers++;
    const [ack] = await send(req(spoofed(i), MessageType.REQUEST, { vc: PXE, requested: offer.yiaddr, serverId: '10.20.0.1' }));
    assert.equal(ack?.options.u8(Opt.MESSAGE_TYPE), MessageType.ACK);
  }
  assert.equal(offers, 5);
  assert.equal(server.leases.all().length, 5, 'bound leases of discovered machines stay within the share');
  assert.equal((await drops()).discovered_share, 195);
  const [offer] = await send(req(POOLED.mac, MessageType.DISCOVER, { vc: PXE }));
  assert.match(offer?.yiaddr ?? '', /^10\.20\.0\.10\d$/, 'the inventory machine is not starved');
  // A discovered machine that holds an address keeps it (renewal), share or no share.
  const [again] = await send(req(spoofed(0), MessageType.DISCOVER, { vc: PXE }));
  assert.ok(again, 'a holder is answered again');
  await server.close();
});

test('server: offers held in memory count against the share too', async () => {
  const { server, send } = await setup(site(true, '10.20.0.100-10.20.0.103', 50));
  const offered = [];
  for (let i = 0; i < 10; i++) offered.push((await send(req(spoofed(i), MessageType.DISCOVER, { vc: PXE })))[0]);
  assert.equal(offered.filter(Boolean).length, 2, 'two of four addresses, DISCOVERs only');
  await server.close();
});

test('proxy mode: a relayed request from outside the served subnets never enrols', async () => {
  const { server, mem, send } = await setup({ interface: 'prov0', address: '10.20.0.1', discovery: true, dhcp: { mode: 'proxy', subnet: '10.20.0.0/24' } });
  assert.deepEqual(await send(req(spoofed(1), MessageType.DISCOVER, { vc: PXE, giaddr: '192.0.2.1' })), []);
  assert.equal(mem.machines.size, 1);
  assert.equal((await send(req(spoofed(2), MessageType.DISCOVER, { vc: PXE, giaddr: '10.20.0.7' }))).length, 1, 'a relay inside the subnet is a provisioning network');
  assert.equal(mem.machines.size, 2);
  await server.close();
});

test('settings: discovery true takes the default limits; an object sets them; enabled false is off', () => {
  const on = dhcpSettingsFromSite(site(true));
  assert.equal(on.discovery, true);
  assert.deepEqual(on.discoveryLimits, { perMinute: 10, maxPending: 50 });
  assert.equal(on.discoveredPoolPercent, 50);
  assert.deepEqual(dhcpSettingsFromSite(site({ per_minute: 2 })).discoveryLimits, { perMinute: 2, maxPending: 50 });
  assert.equal(dhcpSettingsFromSite(site({ enabled: false, per_minute: 2 })).discovery, false);
  assert.throws(() => dhcpSettingsFromSite(site({ per_minute: 0 })), /site\.discovery\.per_minute/);
  assert.throws(() => dhcpSettingsFromSite(site(true, undefined, 100)), /site\.dhcp\.discovered_pool_percent/);
});

test('inventory schema: discovery is false, true or strict settings; parsed to false when off', async () => {
  const { siteSchema } = await import('../../daemon/core/inventory/schema.js');
  const base = { interface: 'prov0', address: '10.20.0.1', dhcp: { mode: 'full', subnet: '10.20.0.0/24', pool: '10.20.0.100-10.20.0.199' } };
  const parse = (discovery: unknown) => siteSchema.safeParse({ ...base, ...(discovery !== undefined && { discovery }) });
  assert.equal(parse(undefined).data?.discovery, false);
  assert.equal(parse(false).data?.discovery, false);
  assert.deepEqual(parse(true).data?.discovery, { per_minute: 10, max_pending: 50 });
  assert.deepEqual(parse({ max_pending: 5 }).data?.discovery, { per_minute: 10, max_pending: 5 });
  assert.equal(parse({ enabled: false, per_minute: 3 }).data?.discovery, false);
  assert.equal(parse({ per_minut: 3 }).success, false, 'a misspelt key is an error');
  assert.equal(parse({ per_minute: 0 }).success, false);
  assert.equal(parse(true).data?.dhcp?.discovered_pool_percent, 50);
  assert.equal(siteSchema.safeParse({ ...base, dhcp: { ...base.dhcp, discovered_pool_percent: 95 } }).success, false);
});

test('validate: with discovery on, the pools must leave room for every inventory machine without a reservation', async () => {
  const { crossChecks } = await import('../../daemon/core/inventory/checks.js');
  const machines = Array.from({ length: 6 }, (_, i) => ({ name: `n${i}`, mac: `52:54:00:00:00:0${i}` }));
  const inv = (discovery: unknown, percent?: number) => ({
    site: { interface: 'prov0', address: '10.20.0.1', discovery,
      dhcp: { mode: 'full', subnet: '10.20.0.0/24', pool: '10.20.0.100-10.20.0.109', ...(percent !== undefined && { discovered_pool_percent: percent }) } },
    machines,
  });
  const share = (raw: unknown) => crossChecks(raw, '/nonexistent').filter((f) => f.path.includes('discovered_pool_percent')).map((f) => f.message);
  assert.deepEqual(share(inv(true)), ['with discovery on, 50% of the pools may go to discovered machines, leaving 5 addresses for 6 inventory machines without a reservation: lower it or grow the pools']);
  assert.deepEqual(share(inv(true, 40)), []);
  assert.deepEqual(share(inv(false)), [], 'discovery off: no outsiders to make room for');
  assert.deepEqual(share(inv({ enabled: false })), []);
});
