// DHCP while the store is away (durable-answer.ts): renewals of leases already durable are ACKed
// for the time they have left and never longer, new leases get no answer (a counted drop), and the
// lease writer neither loses nor reorders writes across a failed batch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { DhcpServer } from '../../daemon/dhcp/server.js';
import { memoryBackend, type DhcpMachine } from '../../daemon/dhcp/backend.js';
import { answerFromDurable, DURABLE_FLOOR_S } from '../../daemon/dhcp/durable-answer.js';
import { LeaseWriter } from '../../daemon/dhcp/persist.js';
import { dhcpSettingsFromSite, type SiteLike } from '../../daemon/dhcp/settings.js';
import { Options, Opt, MessageType } from '../../daemon/dhcp/options.js';
import { chaddrFromMac, decode, encode, type Packet } from '../../daemon/dhcp/packet.js';
import { StoreUnavailable } from '../../daemon/core/store/availability.js';
import type { LeaseRecord } from '../../daemon/core/store/types.js';

const SITE: SiteLike = {
  interface: 'prov0', address: '10.20.0.1', http_port: 8080,
  dhcp: { mode: 'full', subnet: '10.20.0.0/24', router: '10.20.0.1', pool: '10.20.0.100-10.20.0.150', lease_time: 3600 },
};
const OLD: DhcpMachine = { name: 'old', mac: '52:54:00:00:05:01', ip: null, hostname: 'old', state: 'enrolled' };
const FIXED: DhcpMachine = { name: 'fixed', mac: '52:54:00:00:05:02', ip: '10.20.0.12', hostname: 'fixed', state: 'enrolled' };
const NEW: DhcpMachine = { name: 'new', mac: '52:54:00:00:05:03', ip: null, hostname: 'new', state: 'enrolled' };

const lease = (over: Partial<LeaseRecord> = {}): LeaseRecord => ({
  mac: OLD.mac, ip: '10.20.0.100', state: 'bound', expiresAt: 1_000_000 + 3600_000, hostname: null, machine: 'old', updatedAt: 1_000_000, ...over,
});

test('answerFromDurable: the same address for the whole seconds left, or silence with the reason', () => {
  const now = 1_000_000;
  assert.deepEqual(answerFromDurable(lease(), OLD.mac, '10.20.0.100', now), { answer: true, seconds: 3600 });
  // Rounded down: 1799.999 s left is promised as 1799, never 1800.
  assert.deepEqual(answerFromDurable(lease(), OLD.mac, '10.20.0.100', now + 1800_001), { answer: true, seconds: 1799 });
  assert.deepEqual(answerFromDurable(lease(), OLD.mac, '10.20.0.100', now + 3600_000 - DURABLE_FLOOR_S * 1000), { answer: true, seconds: DURABLE_FLOOR_S });
  const refused = (d: LeaseRecord | undefined, ip = '10.20.0.100', at = now) => {
    const a = answerFromDurable(d, OLD.mac, ip, at);
    assert.equal(a.answer, false);
    return a.answer ? '' : a.why;
  };
  assert.match(refused(undefined), /no lease of 52:54:00:00:05:01 is durable/);
  assert.match(refused(lease({ mac: NEW.mac })), /no lease of 52:54:00:00:05:01 is durable/);
  assert.match(refused(lease({ state: 'released' })), /is released/);
  assert.match(refused(lease(), '10.20.0.101'), /is for 10\.20\.0\.100, not 10\.20\.0\.101/);
  assert.match(refused(lease(), '10.20.0.100', now + 3600_000 - 59_001), /has 59 s left, under the 60 s floor/);
  assert.match(refused(lease(), '10.20.0.100', now + 3600_000 + 5000), /has 0 s left/);
});

async function setup() {
  const mem = memoryBackend([OLD, FIXED, NEW].map((m) => ({ ...m })));
  let clock = 1_000_000;
  const store = { up: true, failWrites: false, writes: 0 };
  const backend = {
    ...mem.backend,
    storeAvailable: () => store.up,
    async putLeases(l: LeaseRecord[]) {
      store.writes++;
      if (!store.up || store.failWrites) throw new StoreUnavailable('connect ECONNREFUSED');
      return mem.backend.putLeases(l);
    },
  };
  const sent: Packet[] = [];
  const registry = new Registry();
  const server = new DhcpServer({
    settings: dhcpSettingsFromSite(SITE), backend, registry, now: () => clock,
    openSocket: async ({ port }) => ({ port, onMessage() {}, async close() {}, async send(msg) { sent.push(decode(msg)); } }),
  });
  await server.start();
  const exchange = async (m: DhcpMachine, type: number, requested?: string) => {
    sent.length = 0;
    const options = new Options().setU8(Opt.MESSAGE_TYPE, type);
    if (requested) options.setIp(Opt.REQUESTED_IP, requested).setIp(Opt.SERVER_ID, '10.20.0.1');
    await server.receive(encode({ op: 1, htype: 1, hlen: 6, hops: 0, xid: 7, secs: 0, flags: 0, ciaddr: '0.0.0.0', yiaddr: '0.0.0.0',
      siaddr: '0.0.0.0', giaddr: '0.0.0.0', chaddr: chaddrFromMac(m.mac), sname: '', file: '', options }), 67, { address: '0.0.0.0', port: 68 });
    return sent[0];
  };
  const dora = async (m: DhcpMachine) => {
    const offer = await exchange(m, MessageType.DISCOVER);
    if (!offer) return { offer };
    return { offer, ack: await exchange(m, MessageType.REQUEST, offer.yiaddr) };
  };
  const metric = async (name: string, label: string) => Object.fromEntries(((await registry.getSingleMetric(name)?.get())?.values ?? [])
    .map((v) => [v.labels[label], v.value]));
  return { server, mem, store, dora, exchange, metric, tick: (ms: number) => { clock += ms; } };
}

const leaseTimes = (p: Packet | undefined) => [p?.options.u32(Opt.LEASE_TIME), p?.options.u32(Opt.RENEWAL_TIME), p?.options.u32(Opt.REBINDING_TIME)];

test('store known to be away: durable leases are renewed for the time they have left, new ones are not answered', async () => {
  const { server, mem, store, dora, exchange, metric, tick } = await setup();
  const old = await dora(OLD);
  const fixed = await dora(FIXED);
  assert.deepEqual(leaseTimes(old.ack), [3600, 1800, 3150]);
  assert.equal(fixed.ack?.yiaddr, '10.20.0.12');
  const writesBefore = store.writes;

  store.up = false;
  tick(1000_000);
  const renewed = await dora(OLD);
  assert.equal(renewed.offer?.options.u32(Opt.LEASE_TIME), 2600, 'the OFFER promises no more than the ACK will');
  assert.equal(renewed.ack?.options.u8(Opt.MESSAGE_TYPE), MessageType.ACK);
  assert.equal(renewed.ack?.yiaddr, old.ack?.yiaddr);
  assert.deepEqual(leaseTimes(renewed.ack), [2600, 1300, 2275]);
  assert.deepEqual(leaseTimes((await dora(FIXED)).ack), [2600, 1300, 2275], 'a reservation too');
  assert.equal(store.writes, writesBefore, 'no write is tried while the store is known to be away');

  const fresh = await dora(NEW);
  assert.equal(fresh.offer, undefined, 'no OFFER of a lease that cannot be written');
  // A REQUEST for an address it was never given durably (INIT-REBOOT after a lost OFFER): silence.
  assert.equal(await exchange(NEW, MessageType.REQUEST, '10.20.0.140'), undefined);

  // Under the floor, silence too: the client rebinds later, when the store may be back.
  tick(2600_000 - 59_000);
  assert.equal((await dora(OLD)).offer, undefined);
  assert.deepEqual(await metric('rackhand_dhcp_drops_total', 'reason'), { store_unavailable: 3 }, 'the new MAC, its REQUEST, and the lease under the floor');
  assert.deepEqual(await metric('rackhand_store_refused_requests_total', 'server'), { dhcp: 3 });

  // Back: full leases again, written first.
  store.up = true;
  const back = await dora(NEW);
  assert.deepEqual(leaseTimes(back.ack), [3600, 1800, 3150]);
  assert.equal(mem.leases.get(NEW.mac)?.ip, back.ack?.yiaddr);
  await server.close();
});

test('a write failing under a REQUEST (the outage just began) ACKs only the durable time; the store back, the next one is written', async () => {
  const { server, mem, store, dora, tick } = await setup();
  const first = await dora(OLD);
  const durableExpiry = mem.leases.get(OLD.mac)!.expiresAt;
  tick(600_000);
  store.failWrites = true;
  const during = await dora(OLD);
  assert.equal(during.ack?.options.u32(Opt.LEASE_TIME), 3000, '3600 s written, 600 s gone');
  assert.equal(during.ack?.yiaddr, first.ack?.yiaddr);
  assert.equal((await dora(NEW)).ack, undefined, 'a new lease whose write failed is not ACKed');
  assert.equal(mem.leases.get(NEW.mac), undefined);

  // The failed write promised nothing: another outage later still counts from the old durable lease.
  tick(600_000);
  assert.equal((await dora(OLD)).ack?.options.u32(Opt.LEASE_TIME), 2400);
  assert.equal(mem.leases.get(OLD.mac)!.expiresAt, durableExpiry);

  store.failWrites = false;
  const after = await dora(OLD);
  assert.equal(after.ack?.options.u32(Opt.LEASE_TIME), 3600);
  assert.ok(mem.leases.get(OLD.mac)!.expiresAt > durableExpiry);
  await server.close();
});

test('LeaseWriter: a failed batch fails its waiters only; later batches are written in order once the store is back', async () => {
  const written: string[][] = [];
  const durable: string[] = [];
  let fail = true;
  const backend = {
    ...memoryBackend().backend,
    async putLeases(l: LeaseRecord[]) {
      if (fail) throw new StoreUnavailable('Connection terminated unexpectedly');
      written.push(l.map((x) => x.ip));
      return [];
    },
  };
  // No group commit here: each turn's leases are their own batch, so the order of batches shows.
  const writer = new LeaseWriter(backend, (l) => durable.push(...l.map((x) => x.ip)), 0);
  const first = [writer.persist(lease({ ip: '10.20.0.100' })), writer.persist(lease({ mac: NEW.mac, ip: '10.20.0.101' }))];
  const outcomes = await Promise.allSettled(first);
  assert.deepEqual(outcomes.map((o) => o.status), ['rejected', 'rejected']);
  assert.ok((outcomes[0] as PromiseRejectedResult).reason instanceof StoreUnavailable);
  fail = false;
  const second = writer.persist(lease({ ip: '10.20.0.102' }));
  await new Promise((r) => setImmediate(r));
  const third = writer.persist(lease({ mac: NEW.mac, ip: '10.20.0.103' }));
  await Promise.all([second, third]);
  await writer.drain();
  assert.deepEqual(written, [['10.20.0.102'], ['10.20.0.103']]);
  assert.deepEqual(durable, ['10.20.0.102', '10.20.0.103'], 'only what was written is durable');
});

test('LeaseWriter group commit: leases within the interval after a commit share the next one; after a quiet spell a lease commits at once', async () => {
  const written: string[][] = [];
  let clock = 1000;
  const backend = { ...memoryBackend().backend, async putLeases(l: LeaseRecord[]) { written.push(l.map((x) => x.ip)); return []; } };
  const writer = new LeaseWriter(backend, () => undefined, 5, () => clock);
  const turn = () => new Promise((r) => setImmediate(r));
  // Quiet until now: the first lease goes in the next turn, alone.
  const a = writer.persist(lease({ ip: '10.20.0.100' }));
  await turn(); await turn();
  assert.deepEqual(written, [['10.20.0.100']]);
  await a;
  // 1 ms after that commit, three REQUESTs in three turns: they wait out the interval together.
  clock += 1;
  let acked = 0;
  const rest: Promise<void>[] = [];
  for (const [i, ip] of ['10.20.0.101', '10.20.0.102', '10.20.0.103'].entries()) {
    rest.push(writer.persist(lease({ mac: `52:54:00:00:09:0${i}`, ip })).then(() => { acked++; }));
    await turn();
  }
  assert.deepEqual(written.length, 1, 'nothing committed before the interval ends');
  assert.equal(acked, 0, 'no lease is reported durable before its commit');
  await Promise.all(rest);
  assert.deepEqual(written, [['10.20.0.100'], ['10.20.0.101', '10.20.0.102', '10.20.0.103']]);
  // Long after: at once again.
  clock += 1000;
  const late = writer.persist(lease({ mac: '52:54:00:00:09:09', ip: '10.20.0.109' }));
  await turn(); await turn();
  assert.deepEqual(written.at(-1), ['10.20.0.109']);
  await late;
});
