// The listener and both modes driven through a fake socket and the in-memory backend.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { DhcpServer } from '../../daemon/dhcp/server.js';
import { memoryBackend, type DhcpMachine } from '../../daemon/dhcp/backend.js';
import { dhcpSettingsFromSite, type SiteLike } from '../../daemon/dhcp/settings.js';
import { Options, Opt, MessageType } from '../../daemon/dhcp/options.js';
import { chaddrFromMac, decode, encode, type Packet } from '../../daemon/dhcp/packet.js';
import type { DhcpSocket, Remote } from '../../daemon/dhcp/socket.js';

const SITE: SiteLike = {
  interface: 'prov0', address: '10.20.0.1', http_port: 8080,
  dhcp: { mode: 'full', subnet: '10.20.0.0/24', router: '10.20.0.1', dns: ['10.20.0.1'], pool: '10.20.0.100-10.20.0.102', lease_time: 3600,
    relayed: [{ subnet: '10.30.0.0/24', router: '10.30.0.1', pool: '10.30.0.100-10.30.0.199' }] },
};
const RESERVED: DhcpMachine = { name: 'node-01', mac: '52:54:00:00:01:01', ip: '10.20.0.11', hostname: 'node-01', state: 'enrolled' };
const POOLED: DhcpMachine = { name: 'node-02', mac: '52:54:00:00:01:02', ip: null, hostname: 'node-02', state: 'enrolled' };
const PXE = 'PXEClient:Arch:00000:UNDI:002001';

interface Sent { packet: Packet; port: number; address: string; via: number }

async function setup(site: SiteLike = SITE, machines: DhcpMachine[] = [RESERVED, POOLED]) {
  const mem = memoryBackend(machines.map((m) => ({ ...m })));
  const sent: Sent[] = [];
  const registry = new Registry();
  const server = new DhcpServer({
    settings: dhcpSettingsFromSite(site), backend: mem.backend, registry,
    openSocket: async ({ port }): Promise<DhcpSocket> => ({
      port, onMessage() {}, async close() {},
      async send(msg, toPort, address) { sent.push({ packet: decode(msg), port: toPort, address, via: port }); },
    }),
  });
  await server.start();
  const send = async (p: Packet, port = 67, from: Remote = { address: '0.0.0.0', port: 68 }) => {
    sent.length = 0;
    await server.receive(encode(p), port, from);
    return [...sent];
  };
  const drops = async (): Promise<Record<string, number>> => Object.fromEntries((await server.metrics.drops.get()).values.map((v) => [v.labels.reason, v.value]));
  return { server, mem, send, drops };
}

function req(mac: string, type: number, o: { vc?: string; arch?: number; requested?: string; serverId?: string; ciaddr?: string; giaddr?: string; o82?: Buffer; uc?: string } = {}): Packet {
  const options = new Options().setU8(Opt.MESSAGE_TYPE, type);
  if (o.requested) options.setIp(Opt.REQUESTED_IP, o.requested);
  if (o.serverId) options.setIp(Opt.SERVER_ID, o.serverId);
  if (o.vc) options.setString(Opt.VENDOR_CLASS, o.vc);
  if (o.arch !== undefined) options.setU16(Opt.CLIENT_ARCH, o.arch);
  if (o.uc) options.setString(Opt.USER_CLASS, o.uc);
  options.set(Opt.PARAM_REQUEST, Buffer.from([1, 3, 6, 12, 66, 67]));
  if (o.o82) options.set(Opt.RELAY_AGENT, o.o82);
  return { op: 1, htype: 1, hlen: 6, hops: o.giaddr ? 1 : 0, xid: 0x1234, secs: 0, flags: 0, ciaddr: o.ciaddr ?? '0.0.0.0', yiaddr: '0.0.0.0',
    siaddr: '0.0.0.0', giaddr: o.giaddr ?? '0.0.0.0', chaddr: chaddrFromMac(mac), sname: '', file: '', options };
}

test('reserved PXE machine: OFFER and ACK with its IP, loader and next-server; lease persisted', async () => {
  const { send, mem, server } = await setup();
  const [offer] = await send(req(RESERVED.mac, MessageType.DISCOVER, { vc: PXE, arch: 0 }));
  assert.ok(offer);
  assert.equal(offer.packet.options.u8(Opt.MESSAGE_TYPE), MessageType.OFFER);
  assert.equal(offer.packet.yiaddr, '10.20.0.11');
  assert.equal(offer.packet.siaddr, '10.20.0.1');
  assert.equal(offer.packet.file, 'undionly.kpxe');
  assert.equal(offer.packet.options.string(Opt.BOOTFILE), 'undionly.kpxe');
  assert.equal(offer.packet.options.ip(Opt.SERVER_ID), '10.20.0.1');
  assert.equal(offer.address, '255.255.255.255');
  assert.equal(offer.port, 68);
  const [ack] = await send(req(RESERVED.mac, MessageType.REQUEST, { vc: PXE, arch: 0, requested: '10.20.0.11', serverId: '10.20.0.1' }));
  assert.equal(ack!.packet.options.u8(Opt.MESSAGE_TYPE), MessageType.ACK);
  // What is left of the lease on disk when the ACK leaves: never more than was written.
  const promised = ack!.packet.options.u32(Opt.LEASE_TIME)!;
  assert.ok(promised >= 3599 && promised <= 3600, `lease time ${promised}`);
  assert.ok(Date.now() + promised * 1000 <= mem.leases.get(RESERVED.mac)!.expiresAt, 'the ACK promises no time past the written expiry');
  assert.equal(mem.leases.get(RESERVED.mac)?.ip, '10.20.0.11');
  assert.equal(mem.leases.get(RESERVED.mac)?.state, 'bound');
  assert.equal(mem.bootFacts.get('node-01')?.arch, 0);
  await server.close();
});

test('pool: distinct addresses, reserved and declined ones skipped, exhaustion counted', async () => {
  const inPool: DhcpMachine = { name: 'squatter', mac: '52:54:00:00:09:09', ip: '10.20.0.100', hostname: 'squatter', state: 'ready' };
  const macs = ['52:54:00:00:02:01', '52:54:00:00:02:02', '52:54:00:00:02:03'];
  const { send, drops } = await setup(SITE, [inPool, ...macs.map((mac, i) => ({ name: `p${i}`, mac, ip: null, hostname: `p${i}`, state: 'ready' as const }))]);
  const [a] = await send(req(macs[0]!, MessageType.DISCOVER));
  assert.equal(a!.packet.yiaddr, '10.20.0.101', 'reserved .100 skipped');
  assert.equal(a!.packet.file, '', 'a non-PXE client gets no loader');
  const [b] = await send(req(macs[1]!, MessageType.DISCOVER));
  assert.equal(b!.packet.yiaddr, '10.20.0.102');
  assert.deepEqual(await send(req(macs[2]!, MessageType.DISCOVER)), []);
  assert.equal((await drops()).no_address, 1);
  // The first client finds .101 in use and declines it; it is not offered again.
  await send(req(macs[0]!, MessageType.DECLINE, { requested: '10.20.0.101', serverId: '10.20.0.1' }));
  assert.deepEqual(await send(req(macs[0]!, MessageType.DISCOVER)), []);
});

test('REQUEST: another server id is silence, a wrong address is a NAK, RENEW is ACKed to ciaddr', async () => {
  const { send, drops } = await setup();
  assert.deepEqual(await send(req(RESERVED.mac, MessageType.REQUEST, { requested: '10.20.0.11', serverId: '10.20.0.9' })), []);
  assert.equal((await drops()).not_for_us, 1);
  const [nak] = await send(req(RESERVED.mac, MessageType.REQUEST, { requested: '10.20.0.12' }));
  assert.equal(nak!.packet.options.u8(Opt.MESSAGE_TYPE), MessageType.NAK);
  assert.equal(nak!.address, '255.255.255.255');
  const [ack] = await send(req(RESERVED.mac, MessageType.REQUEST, { ciaddr: '10.20.0.11' }));
  assert.equal(ack!.packet.options.u8(Opt.MESSAGE_TYPE), MessageType.ACK);
  assert.equal(ack!.address, '10.20.0.11');
});

test('unknown MAC gets nothing unless discovery is on, then it is enrolled', async () => {
  const stranger = '52:54:00:ff:ff:01';
  const off = await setup();
  assert.deepEqual(await off.send(req(stranger, MessageType.DISCOVER, { vc: PXE, arch: 0 })), []);
  assert.equal((await off.drops()).unmanaged, 1);
  const on = await setup({ ...SITE, discovery: true });
  const [offer] = await on.send(req(stranger, MessageType.DISCOVER, { vc: PXE, arch: 0 }));
  assert.equal(offer!.packet.file, 'undionly.kpxe');
  assert.equal(on.mem.machines.get(stranger)?.name, 'discovered-525400ffff01');
  // A stranger that is not a PXE client is still not answered.
  assert.deepEqual(await on.send(req('52:54:00:ff:ff:02', MessageType.DISCOVER)), []);
});

test('relayed: answered to giaddr:67 from the relayed pool, option 82 echoed last', async () => {
  const { send, drops } = await setup();
  const o82 = Buffer.from([1, 4, 0, 0, 0, 7, 2, 2, 0xaa, 0xbb]);
  const [offer] = await send(req(POOLED.mac, MessageType.DISCOVER, { giaddr: '10.30.0.1', o82 }));
  assert.equal(offer!.address, '10.30.0.1');
  assert.equal(offer!.port, 67);
  assert.equal(offer!.packet.giaddr, '10.30.0.1');
  assert.equal(offer!.packet.yiaddr, '10.30.0.100');
  assert.equal(offer!.packet.options.ip(Opt.ROUTER), '10.30.0.1');
  assert.deepEqual(offer!.packet.options.raw(Opt.RELAY_AGENT), o82);
  assert.equal(offer!.packet.options.codes().at(-1), Opt.RELAY_AGENT);
  assert.deepEqual(await send(req(POOLED.mac, MessageType.DISCOVER, { giaddr: '192.0.2.1' })), []);
  assert.equal((await drops()).unknown_relay, 1);
  // The reservation of node-01 is on 10.20.0.0/24, not on the relay's subnet.
  assert.deepEqual(await send(req(RESERVED.mac, MessageType.DISCOVER, { giaddr: '10.30.0.1' })), []);
});

test('iPXE gets its script URL; HTTP boot gets a URL and HTTPClient echoed', async () => {
  const { send } = await setup();
  const [ipxe] = await send(req(RESERVED.mac, MessageType.DISCOVER, { vc: PXE, arch: 0, uc: 'iPXE' }));
  assert.equal(ipxe!.packet.file, `http://10.20.0.1:8080/boot/${RESERVED.mac}.ipxe`);
  const [http] = await send(req(RESERVED.mac, MessageType.DISCOVER, { vc: 'HTTPClient:Arch:00016:UNDI:003000', arch: 16 }));
  assert.equal(http!.packet.file, 'http://10.20.0.1:8080/boot/ipxe.efi');
  assert.equal(http!.packet.options.string(Opt.VENDOR_CLASS), 'HTTPClient');
});

test('proxy mode: OFFER without address on 67, ACK on 4011, silence for REQUEST on 67', async () => {
  const { send } = await setup({ ...SITE, dhcp: { mode: 'proxy' } });
  const [offer] = await send(req(RESERVED.mac, MessageType.DISCOVER, { vc: 'PXEClient:Arch:00007:UNDI:003000', arch: 7 }));
  assert.equal(offer!.packet.yiaddr, '0.0.0.0');
  assert.equal(offer!.packet.file, 'ipxe.efi');
  assert.equal(offer!.packet.options.string(Opt.VENDOR_CLASS), 'PXEClient');
  assert.deepEqual([...offer!.packet.options.raw(Opt.VENDOR_SPECIFIC)!], [6, 1, 8, 255]);
  assert.deepEqual(await send(req(RESERVED.mac, MessageType.REQUEST, { vc: PXE, arch: 7, requested: '10.20.0.50', serverId: '10.20.0.2' })), []);
  const [ack] = await send(req(RESERVED.mac, MessageType.REQUEST, { vc: PXE, arch: 7, ciaddr: '10.20.0.50' }), 4011, { address: '10.20.0.50', port: 68 });
  assert.equal(ack!.packet.options.u8(Opt.MESSAGE_TYPE), MessageType.ACK);
  assert.equal(ack!.address, '10.20.0.50');
  assert.equal(ack!.via, 4011);
  assert.equal(ack!.packet.file, 'ipxe.efi');
});

test('malformed packets are counted by reason and never throw', async () => {
  const { server, drops } = await setup();
  const good = encode(req(RESERVED.mac, MessageType.DISCOVER));
  const bad = [Buffer.alloc(0), good.subarray(0, 100), Buffer.from(good).fill(0xff, 240), Buffer.concat([good.subarray(0, 240), Buffer.from([53, 9])])];
  const wrongOp = Buffer.from(good); wrongOp[0] = 2;
  for (const b of [...bad, wrongOp]) await server.receive(b, 67, { address: '0.0.0.0', port: 68 });
  const d = await drops();
  assert.equal(d.truncated, 2);
  assert.equal(d.bad_op, 1);
  assert.equal(Object.values(d).reduce((a, b) => a + b, 0), 5);
});

test('RELEASE marks the lease released; INFORM gets configuration without an address', async () => {
  const { send, mem } = await setup();
  await send(req(POOLED.mac, MessageType.DISCOVER));
  const [ack] = await send(req(POOLED.mac, MessageType.REQUEST, { requested: '10.20.0.100', serverId: '10.20.0.1' }));
  assert.equal(ack!.packet.yiaddr, '10.20.0.100');
  assert.deepEqual(await send(req(POOLED.mac, MessageType.RELEASE, { ciaddr: '10.20.0.100', serverId: '10.20.0.1' })), []);
  assert.equal(mem.leases.get(POOLED.mac)?.state, 'released');
  const [inf] = await send(req(RESERVED.mac, MessageType.INFORM, { ciaddr: '10.20.0.11' }));
  assert.equal(inf!.packet.options.u8(Opt.MESSAGE_TYPE), MessageType.ACK);
  assert.equal(inf!.packet.yiaddr, '0.0.0.0');
  assert.equal(inf!.packet.options.has(Opt.LEASE_TIME), false, 'RFC 2131 §4.3.5: no lease time in an INFORM ACK');
  assert.equal(inf!.address, '10.20.0.11');
  // The released client comes back to the same address.
  const [again] = await send(req(POOLED.mac, MessageType.DISCOVER));
  assert.equal(again!.packet.yiaddr, '10.20.0.100');
});

test('a relayed client renewing directly (giaddr 0, ciaddr set) is ACKed on its own subnet; relayed NAKs broadcast', async () => {
  const { send } = await setup();
  await send(req(POOLED.mac, MessageType.DISCOVER, { giaddr: '10.30.0.1' }));
  const [ack] = await send(req(POOLED.mac, MessageType.REQUEST, { giaddr: '10.30.0.1', requested: '10.30.0.100', serverId: '10.20.0.1' }));
  assert.equal(ack!.packet.yiaddr, '10.30.0.100');
  const [renew] = await send(req(POOLED.mac, MessageType.REQUEST, { ciaddr: '10.30.0.100' }));
  assert.equal(renew!.packet.options.u8(Opt.MESSAGE_TYPE), MessageType.ACK);
  assert.equal(renew!.address, '10.30.0.100');
  const [nak] = await send(req(POOLED.mac, MessageType.REQUEST, { giaddr: '10.30.0.1', requested: '10.30.0.150' }));
  assert.equal(nak!.packet.options.u8(Opt.MESSAGE_TYPE), MessageType.NAK);
  assert.equal(nak!.address, '10.30.0.1');
  assert.equal(nak!.packet.flags & 0x8000, 0x8000);
});
