// Two DHCP servers answering one segment on one store (a rack's primary and its secondary, for the
// heartbeat or two in which both answer): the store keeps a live lease with its holder
// (core/store/lease-guard.ts), so the second server's REQUEST for that address gets a NAK, its
// client starts over and gets another address, and no address is ever bound to two clients.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { DhcpServer } from '../../daemon/dhcp/server.js';
import { memoryBackend, type DhcpBackend, type DhcpMachine } from '../../daemon/dhcp/backend.js';
import { dhcpSettingsFromSite, type SiteLike } from '../../daemon/dhcp/settings.js';
import { Options, Opt, MessageType } from '../../daemon/dhcp/options.js';
import { chaddrFromMac, decode, encode, type Packet } from '../../daemon/dhcp/packet.js';

const site = (address: string): SiteLike => ({
  interface: 'prov0', address, http_port: 8080,
  dhcp: { mode: 'full', subnet: '10.20.0.0/24', pool: '10.20.0.100-10.20.0.101', lease_time: 3600 },
});
const ONE: DhcpMachine = { name: 'one', mac: '52:54:00:00:06:01', ip: null, hostname: 'one', state: 'enrolled' };
const TWO: DhcpMachine = { name: 'two', mac: '52:54:00:00:06:02', ip: null, hostname: 'two', state: 'enrolled' };

async function server(backend: DhcpBackend, address: string) {
  const sent: Packet[] = [];
  const s = new DhcpServer({
    settings: dhcpSettingsFromSite(site(address)), backend, registry: new Registry(),
    openSocket: async ({ port }) => ({ port, onMessage() {}, async close() {}, async send(msg) { sent.push(decode(msg)); } }),
  });
  await s.start();
  const exchange = async (m: DhcpMachine, type: number, requested?: string) => {
    sent.length = 0;
    const options = new Options().setU8(Opt.MESSAGE_TYPE, type);
    if (requested) options.setIp(Opt.REQUESTED_IP, requested).setIp(Opt.SERVER_ID, address);
    await s.receive(encode({ op: 1, htype: 1, hlen: 6, hops: 0, xid: 9, secs: 0, flags: 0, ciaddr: '0.0.0.0', yiaddr: '0.0.0.0',
      siaddr: '0.0.0.0', giaddr: '0.0.0.0', chaddr: chaddrFromMac(m.mac), sname: '', file: '', options }), 67, { address: '0.0.0.0', port: 68 });
    return sent[0];
  };
  return { s, exchange };
}

const type = (p: Packet | undefined) => p?.options.u8(Opt.MESSAGE_TYPE);

test('a live lease another server wrote is kept: the second server NAKs, its client gets another address', async () => {
  const mem = memoryBackend([ONE, TWO].map((m) => ({ ...m })));
  // Both servers start with what the store holds: nothing yet.
  const primary = await server(mem.backend, '10.20.0.1');
  const secondary = await server(mem.backend, '10.20.0.2');

  const offer1 = await primary.exchange(ONE, MessageType.DISCOVER);
  assert.equal(offer1?.yiaddr, '10.20.0.100');
  assert.equal(type(await primary.exchange(ONE, MessageType.REQUEST, '10.20.0.100')), MessageType.ACK);

  // The secondary has not read the store since: it offers the same first pool address …
  const offer2 = await secondary.exchange(TWO, MessageType.DISCOVER);
  assert.equal(offer2?.yiaddr, '10.20.0.100');
  // … but the store keeps ONE's live lease: NAK, and TWO's lease is not written.
  const nak = await secondary.exchange(TWO, MessageType.REQUEST, '10.20.0.100');
  assert.equal(type(nak), MessageType.NAK);
  assert.match(nak!.options.string(Opt.MESSAGE) ?? '', /^10\.20\.0\.100 is leased to another client$/);
  assert.equal(mem.leases.get(ONE.mac)?.ip, '10.20.0.100', 'the first holder keeps its lease');
  assert.equal(mem.leases.get(TWO.mac), undefined);

  // TWO starts over: the secondary now knows the holder and hands out the next address.
  const again = await secondary.exchange(TWO, MessageType.DISCOVER);
  assert.equal(again?.yiaddr, '10.20.0.101');
  assert.equal(type(await secondary.exchange(TWO, MessageType.REQUEST, '10.20.0.101')), MessageType.ACK);
  const bound = [...mem.leases.values()].filter((l) => l.state === 'bound').map((l) => l.ip);
  assert.equal(new Set(bound).size, bound.length, 'no address bound twice');
  await primary.s.close();
  await secondary.s.close();
});
