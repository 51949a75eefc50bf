// Attack (issue 11, item 3): spoofed PXE MACs take the whole pool, and an inventory machine without
// a reservation then gets no address. Here the attacker namespace floods the real daemon with
// DISCOVER/REQUEST exchanges from thousands of MACs (perfdhcp -R, a relay agent inside the
// provisioning subnet, PXE options set), with discovery on and its enrolment limits wide open, so
// that only the pool share of machines outside the inventory stands between the flood and the
// pool. Then an inventory machine with no reservation, a real DHCP client (busybox udhcpc as PXE
// firmware), still gets a pool address and its loader; discovered machines and their leases stay
// within the caps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { perfdhcp } from '../lib/perfdhcp.js';
import { setMac, udhcpc } from '../lib/dhcp-clients.js';
import { metric, startRig } from './discovery-rig.js';

const VICTIM_MAC = '52:54:00:0f:00:01';
const POOL_SIZE = 20;
const MAX_PENDING = 200;

test('a flood of thousands of spoofed PXE MACs never starves an inventory machine without a reservation', { timeout: 120_000 }, async () => {
  const rig = await startRig({
    pool: '10.20.0.100-10.20.0.119', discovery: `{ per_minute: 10000, max_pending: ${MAX_PENDING} }`,
    machines: [`{ name: victim-01, mac: "${VICTIM_MAC}", profile: lab-image }`],
  });
  try {
    const flood = await perfdhcp(rig.link.client, { local: '10.20.0.2', server: '10.20.0.1', clients: 5000, rate: 1500, seconds: 3, pxe: true });
    assert.ok(flood.discoverSent >= 3000, `the flood sent ${flood.discoverSent} DISCOVERs:\n${flood.output.slice(-1500)}`);

    // The inventory machine, booting after the flood, is served from the part of the pool the
    // flood could not take.
    await rig.link.client.ip('addr', 'flush', 'dev', 'eth0');
    await setMac(rig.link.client, 'eth0', VICTIM_MAC);
    const lease = await udhcpc(rig.link.client, rig.dir, { vendor: 'PXEClient:Arch:00007:UNDI:003000', arch: 7, tries: 4 });
    assert.ok(lease, `the inventory machine got no address; daemon log:\n${rig.log().slice(-2000)}`);
    assert.match(lease.ip ?? '', /^10\.20\.0\.1[01]\d$/);
    assert.equal(lease.boot_file, 'ipxe.efi');
    assert.equal(lease.siaddr, '10.20.0.1');

    const m = await rig.metrics();
    const store = await rig.store();
    const discovered = (await store.listMachines()).filter((x) => x.source === 'discovered');
    assert.ok(discovered.length > 0 && discovered.length <= MAX_PENDING, `${discovered.length} discovered`);
    assert.ok(discovered.every((x) => !x.accepted), 'nobody accepted them');
    const now = Date.now();
    const bound = (await store.listLeases()).filter((l) => l.state === 'bound' && l.expiresAt > now);
    const outsiders = bound.filter((l) => l.machine?.startsWith('discovered-'));
    assert.ok(outsiders.length <= POOL_SIZE / 2, `${outsiders.length} leases of discovered machines, over half the pool`);
    assert.ok(bound.some((l) => l.mac === VICTIM_MAC), 'the inventory machine holds its lease');
    assert.ok(metric(m, 'rackhand_dhcp_drops_total', 'discovered_share') > 0, 'the share was reached (the test exercised the cap)');
    assert.ok(metric(m, 'rackhand_dhcp_drops_total', 'discovery_cap') > 0, 'max_pending was reached');
    // Refusals are summed, not logged or recorded per packet.
    const refusedEvents = (await store.listEvents({ limit: 10_000 })).filter((e) => e.event === 'discovery_refused');
    assert.ok(refusedEvents.length <= 2, `${refusedEvents.length} refusal events`);
    assert.ok((rig.log().match(/discovery refused to enrol/g) ?? []).length <= 2);
  } finally {
    await rig.close();
  }
});
