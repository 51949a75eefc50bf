// Attack (issue 11, item 3, what the enrolment cap left open): a flood of spoofed PXE MACs fills
// site.discovery.max_pending with junk machines that nobody will ever accept, and from then on
// discovery refuses every real new machine, forever. Against the real daemon, from an attacker
// namespace on the provisioning link: the flood fills the cap; a real PXE client (busybox udhcpc)
// is refused; `rackhand forget --pending` retires the junk (one event each, leases freed); the
// same real client is then discovered and booted, and a forgotten MAC that PXE-boots again is
// discovered afresh under its old name (no clash with its retired row).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { perfdhcp } from '../lib/perfdhcp.js';
import { setMac, udhcpc } from '../lib/dhcp-clients.js';
import { tempDir } from '../lib/tmp.js';
import { metric, startRig, type Rig } from './discovery-rig.js';

const MAX_PENDING = 3;
// Generous, so that the cap (not the rate) is what refuses the real client after the flood.
const PER_MINUTE = 120;
const PXE = { vendor: 'PXEClient:Arch:00007:UNDI:003000', arch: 7 };
const REAL = '52:54:00:5e:a1:01';
let rig: Rig;

before(async () => {
  // Six addresses, half of them open to discovered machines (the default 50%): the junk holds that
  // whole share, so the real client gets an address only if forgetting freed the DHCP server's
  // in-memory leases too, not only the store's rows.
  rig = await startRig({ pool: '10.20.0.100-10.20.0.105', discovery: `{ per_minute: ${PER_MINUTE}, max_pending: ${MAX_PENDING} }` });
});
after(async () => { await rig?.close(); });

type Listed = { name: string; mac: string; source: string; state: string; accepted: boolean };
const discovered = async () => ((await rig.api('GET', '/api/v1/machines')).body.machines as Listed[]).filter((m) => m.source === 'discovered');

test('after a spoofed-MAC flood fills max_pending, forget --pending lets a real new PXE client be discovered again', { timeout: 90_000 }, async () => {
  const flood = await perfdhcp(rig.link.client, { local: '10.20.0.2', server: '10.20.0.1', clients: 2000, rate: 500, seconds: 2, pxe: true });
  assert.ok(flood.discoverSent >= 800, flood.output.slice(-1500));
  const junk = await discovered();
  assert.equal(junk.length, MAX_PENDING, `the flood filled max_pending: ${junk.map((m) => m.name).join(', ')}`);
  const store = await rig.store();
  const junkLeases = (await store.listLeases()).filter((l) => junk.some((m) => m.mac === l.mac));
  assert.equal(junkLeases.filter((l) => l.state === 'bound').length, MAX_PENDING, 'the junk holds the whole share of discovered machines');

  // Discovery is now shut for everyone: a real PXE client gets nothing and is not enrolled.
  const tmp = tempDir('forget-client');
  const capBefore = metric(await rig.metrics(), 'rackhand_dhcp_drops_total', 'discovery_cap');
  await setMac(rig.link.client, 'eth0', REAL);
  assert.equal(await udhcpc(rig.link.client, tmp, { ...PXE, tries: 2 }), undefined, 'refused while the junk is pending');
  assert.ok(metric(await rig.metrics(), 'rackhand_dhcp_drops_total', 'discovery_cap') > capBefore, 'refused by max_pending');
  assert.equal((await discovered()).some((m) => m.mac === REAL), false);

  // The operator forgets the junk in one command.
  const out = await rig.cli(['forget', '--pending', '--reason', 'spoofed MAC flood']);
  assert.match(out, new RegExp(`^${MAX_PENDING} discovered machines awaiting acceptance forgotten$`, 'm'), out);
  for (const m of junk) assert.match(out, new RegExp(`^${m.name} \\(${m.mac}, was \\w+\\): forgotten`, 'm'), out);
  assert.deepEqual(await discovered(), [], 'no junk left live');
  assert.equal(await store.countPendingDiscovered(), 0);
  assert.deepEqual((await store.listLeases()).filter((l) => junk.some((m) => m.mac === l.mac)), [], 'their leases are freed');
  for (const m of junk) {
    const events = await store.listEvents({ machine: m.name });
    const forgotten = events.filter((e) => e.event === 'forgotten');
    assert.equal(forgotten.length, 1, `one event for ${m.name}`);
    assert.equal(forgotten[0]!.actor, 'operator:admin');
    assert.ok(events.some((e) => e.event === 'enrol'), 'its history stays');
    const op = await store.latestOperation(m.name);
    assert.notEqual(op?.state, 'running', `${m.name}'s inspection is cancelled`);
  }

  // The real client PXE-boots again: discovered, given an address and a loader, inspecting, not accepted.
  const lease = await udhcpc(rig.link.client, tmp, PXE);
  assert.ok(lease, rig.log().slice(-2000));
  assert.equal(lease.boot_file, 'ipxe.efi');
  assert.match(lease.ip ?? '', /^10\.20\.0\.10[0-5]$/);
  const real = (await discovered()).find((m) => m.mac === REAL);
  assert.equal(real?.state, 'inspecting');
  assert.equal(real?.accepted, false);

  // A forgotten MAC that PXE-boots again is discovered afresh, under its old name.
  const back = junk[0]!;
  await setMac(rig.link.client, 'eth0', back.mac);
  assert.ok(await udhcpc(rig.link.client, tmp, PXE), rig.log().slice(-2000));
  const again = (await discovered()).find((m) => m.mac === back.mac);
  assert.equal(again?.name, back.name);
  assert.equal(again?.state, 'inspecting');
  assert.equal(again?.accepted, false);
  assert.deepEqual((await store.listEvents({ machine: back.name })).map((e) => e.event).filter((e) => e === 'enrol' || e === 'forgotten'),
    ['enrol', 'forgotten', 'enrol']);
});
