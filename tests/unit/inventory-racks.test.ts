// Racks in inventory.yaml: each rack names its segments, its standby and the other racks'
// segments it answers as secondary; each machine lands in one rack; a daemon serves one rack.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatError, loadInventory, machineSpecs } from '../../daemon/core/inventory/load.js';
import { machineRack, standingInFor } from '../../daemon/core/inventory/racks.js';
import { tempDir } from '../lib/tmp.js';

const RACKED = `site:
  http_port: 8080
  rack_silent_after: 20
racks:
  rack-a:
    interface: rha0
    address: 10.20.0.1
    dhcp: { mode: full, subnet: 10.20.0.0/24, pool: 10.20.0.100-10.20.0.199,
            relayed: [ { subnet: 10.30.0.0/24, pool: 10.30.0.100-10.30.0.199 } ] }
    standby: rack-b
    secondary: [ { rack: rack-b, interface: rha1, address: 10.21.0.2 } ]
  rack-b:
    interface: rhb0
    address: 10.21.0.1
    http_port: 8081
    dhcp: { mode: full, subnet: 10.21.0.0/24 }
    standby: rack-a
machines:
  - { name: a1, mac: "52:54:00:00:0a:01", ip: 10.20.0.11 }
  - { name: a2, mac: "52:54:00:00:0a:02", ip: 10.30.0.12 }
  - { name: b1, mac: "52:54:00:00:0b:01", ip: 10.21.0.11 }
  - { name: b2, mac: "52:54:00:00:0b:02", rack: rack-b }
`;

function file(text: string): string {
  const f = join(tempDir('inv-racks'), 'inventory.yaml');
  writeFileSync(f, text);
  return f;
}

function errorsOf(text: string, opts: { rack?: string; anyRack?: boolean } = { anyRack: true }): string[] {
  const f = file(text);
  const r = loadInventory(f, opts);
  return r.ok ? [] : r.errors.map((e) => formatError(e).slice(f.length + 1));
}

test('a rack daemon serves its own rack: the site with its interface, address, HTTP port and DHCP', () => {
  const r = loadInventory(file(RACKED), { rack: 'rack-b' });
  assert.ok(r.ok, r.ok ? '' : r.errors.map(formatError).join('\n'));
  assert.equal(r.value.rack, 'rack-b');
  const site = r.value.inventory.site;
  assert.deepEqual([site.interface, site.address, site.http_port, site.dhcp.subnet, site.rack_silent_after], ['rhb0', '10.21.0.1', 8081, '10.21.0.0/24', 20]);
  const a = loadInventory(file(RACKED), { rack: 'rack-a' });
  assert.ok(a.ok);
  assert.equal(a.value.inventory.site.http_port, 8080, 'the site\'s port where the rack names none');
  assert.deepEqual(standingInFor(a.value.inventory, 'rack-a'), ['rack-b']);
});

test('each machine lands in a rack: named, by its address (local or relayed subnet), or the only rack', () => {
  const r = loadInventory(file(RACKED), { anyRack: true });
  assert.ok(r.ok);
  assert.deepEqual(machineSpecs(r.value.inventory).map((m) => [m.name, m.rack]), [['a1', 'rack-a'], ['a2', 'rack-a'], ['b1', 'rack-b'], ['b2', 'rack-b']]);
  assert.equal(machineRack({ racks: {} }, { ip: '10.20.0.11' }), null, 'no racks: no rack');
});

test('a racked inventory needs --rack to serve, and the rack must exist', () => {
  assert.deepEqual(errorsOf(RACKED, {}), ['5:3 racks: this inventory names racks (rack-a, rack-b): start each daemon with --rack NAME']);
  assert.deepEqual(errorsOf(RACKED, { rack: 'rack-z' }), ['5:3 racks: no rack rack-z here (racks: rack-a, rack-b)']);
  assert.match(errorsOf(RACKED.replace(/racks:[\s\S]*?machines:/, 'machines:').replace('site:\n', 'site:\n  interface: p0\n  address: 10.20.0.1\n  dhcp: { mode: full, subnet: 10.20.0.0/16 }\n'), { rack: 'rack-a' })[0] ?? '',
    /--rack rack-a: this inventory names no racks/);
});

test('rack mistakes are errors at their line', () => {
  const cases: [string, string, string][] = [
    ['    standby: rack-b', '    standby: rack-c', '10:14 racks.rack-a.standby: no rack rack-c (racks: rack-a, rack-b)'],
    ['    standby: rack-a', '    standby: rack-b', '17:14 racks.rack-b.standby: a rack cannot stand in for itself'],
    ['    secondary: [ { rack: rack-b, interface: rha1, address: 10.21.0.2 } ]', '    secondary: [ { rack: rack-b, interface: rha1, address: 10.99.0.2 } ]',
      '11:60 racks.rack-a.secondary[0].address: 10.99.0.2 is outside rack rack-b\'s subnet 10.21.0.0/24'],
    ['    dhcp: { mode: full, subnet: 10.21.0.0/24 }', '    dhcp: { mode: full, subnet: 10.20.0.0/23 }', '16:33 racks.rack-b.dhcp.subnet: overlaps 10.20.0.0/24 (rack rack-a)'],
    ['  - { name: b2, mac: "52:54:00:00:0b:02", rack: rack-b }', '  - { name: b2, mac: "52:54:00:00:0b:02" }', '22:5 machines[3]: which rack? give rack (rack-a, rack-b) or an ip in one of their subnets'],
    ['  - { name: b1, mac: "52:54:00:00:0b:01", ip: 10.21.0.11 }', '  - { name: b1, mac: "52:54:00:00:0b:01", ip: 10.21.0.11, rack: rack-a }',
      '21:65 machines[2].rack: 10.21.0.11 is in rack rack-b\'s subnets, not rack rack-a\'s'],
    ['  http_port: 8080', '  interface: eth9', '2:3 site.interface: with racks, each rack names its own interface: remove it here'],
  ];
  for (const [from, to, want] of cases) {
    assert.ok(RACKED.includes(from), from);
    const errors = errorsOf(RACKED.replace(from, to));
    assert.ok(errors.includes(want), `${to}: ${errors.join(' | ')}`);
  }
});

test('the documented two-rack example validates', () => {
  const f = new URL('../../docs/inventory-racks.yaml', import.meta.url).pathname;
  const r = loadInventory(f, { anyRack: true });
  assert.ok(r.ok, r.ok ? '' : r.errors.map(formatError).join('\n'));
  assert.deepEqual(Object.keys(r.value.inventory.racks), ['rack-a', 'rack-b']);
});

test('duties: a rack serves itself; it stands in for a rack naming it standby once that rack is silent or never heard; secondary segments follow', async () => {
  const { rackDuties, isSilent } = await import('../../daemon/core/inventory/racks.js');
  const r = loadInventory(file(RACKED), { rack: 'rack-a' });
  assert.ok(r.ok);
  const inv = r.value.inventory;
  const heardB = (silentFor: number) => [{ name: 'rack-a', silentFor: 0 }, { name: 'rack-b', silentFor }];
  assert.deepEqual(rackDuties(inv, 'rack-a', heardB(19.9), 20), { serves: ['rack-a'], standingIn: [], secondary: [] });
  assert.deepEqual(rackDuties(inv, 'rack-a', heardB(20), 20).serves, ['rack-a', 'rack-b']);
  assert.deepEqual(rackDuties(inv, 'rack-a', heardB(20), 20).secondary.map((s) => s.address), ['10.21.0.2']);
  assert.deepEqual(rackDuties(inv, 'rack-a', [], 20).standingIn, ['rack-b'], 'never heard counts as silent');
  assert.equal(isSilent(undefined, 20), true);
  assert.equal(isSilent({ name: 'x', silentFor: 3 }, 20), false);
});
