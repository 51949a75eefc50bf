// The racked lab (`lab up --racks 2`), pure parts: how machines are split across the two racks,
// the bridges' addresses, and an inventory each rack's daemon accepts (checked by the real loader).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { labConfig, labInventory } from '../../daemon/lab/lab.js';
import { rackBridges } from '../../daemon/lab/lab-racks.js';
import { formatError, loadInventory, machineSpecs } from '../../daemon/core/inventory/load.js';
import { REPO } from '../lib/daemon.js';
import { tempDir } from '../lib/tmp.js';

test('machines alternate racks; each rack gets both BIOS/IPMI and UEFI/Redfish from 4 machines', () => {
  const c = labConfig('/lab', 4, { racks: 2 });
  assert.deepEqual(c.machines.map((m) => [m.name, m.rack, m.bridge, m.ip, m.firmware, m.bmc]), [
    ['node-01', 'rack-a', 'prov0', '10.20.0.11', 'bios', 'ipmi'],
    ['node-02', 'rack-b', 'prov1', '10.21.0.12', 'bios', 'ipmi'],
    ['node-03', 'rack-a', 'prov0', '10.20.0.13', 'uefi', 'redfish'],
    ['node-04', 'rack-b', 'prov1', '10.21.0.14', 'uefi', 'redfish'],
  ]);
  assert.deepEqual(rackBridges(c.racks!), [
    { name: 'prov0', addresses: ['10.20.0.1', '10.20.0.2'] },
    { name: 'prov1', addresses: ['10.21.0.1', '10.21.0.2'] },
  ]);
  assert.equal(labConfig('/lab', 2).racks, undefined, 'one rack: the lab as before');
  assert.equal(labConfig('/lab', 2).machines[1]!.bridge, 'prov0');
});

test('the racked inventory: each daemon serves its own segment, stands by for the other, answers on its segment as secondary', () => {
  const dir = tempDir('lab-racks');
  const c = labConfig(dir, 4, { racks: 2 });
  const file = join(dir, 'inventory.yaml');
  writeFileSync(file, labInventory(c, join(REPO, 'boot-images'), join(REPO, 'templates')));
  const expect = { 'rack-a': ['prov0', '10.20.0.1', 8080, '10.20.0.0/24'], 'rack-b': ['prov1', '10.21.0.1', 8081, '10.21.0.0/24'] };
  for (const [rack, want] of Object.entries(expect)) {
    const r = loadInventory(file, { rack });
    assert.ok(r.ok, r.ok ? '' : r.errors.map(formatError).join('\n'));
    const site = r.value.inventory.site;
    assert.deepEqual([site.interface, site.address, site.http_port, site.dhcp.subnet], want);
    assert.equal(site.rack_silent_after, 10);
    const other = rack === 'rack-a' ? 'rack-b' : 'rack-a';
    assert.equal(r.value.inventory.racks[rack]!.standby, other);
    assert.deepEqual(r.value.inventory.racks[rack]!.secondary, [{ rack: other, interface: expect[other][0], address: (expect[other][1] as string).replace(/1$/, '2') }]);
    assert.deepEqual(machineSpecs(r.value.inventory).map((m) => m.rack), ['rack-a', 'rack-b', 'rack-a', 'rack-b']);
  }
});

test('the one-rack lab inventory has the Debian cloud profile with the keys given to lab up', () => {
  const dir = tempDir('lab-keys');
  const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG9vZ29vZ29vZ29vZ29vZ29vZ29vZ29vZ29vZ29vZ29v test "quoted"';
  const file = join(dir, 'inventory.yaml');
  writeFileSync(file, labInventory(labConfig(dir, 2, { sshKeys: [key] }), join(REPO, 'boot-images'), join(REPO, 'templates')));
  const r = loadInventory(file);
  assert.ok(r.ok, r.ok ? '' : r.errors.map(formatError).join('\n'));
  const profile = r.value.inventory.profiles['debian-12-cloud']!;
  assert.equal(profile.kind, 'image');
  assert.deepEqual((profile as { ssh_authorized_keys?: string[] }).ssh_authorized_keys, [key]);
  assert.equal(r.value.inventory.machines[0]!.profile, 'lab-image', 'machines keep the lab image; deploy --profile picks Debian');
});
