// Settings mapped from the inventory's site section: defaults, and every problem reported at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dhcpSettingsFromSite, DhcpSettingsError } from '../../daemon/dhcp/settings.js';
import type { Site } from '../../daemon/core/inventory/schema.js';

test('the SPEC §9 example maps to settings with defaults filled in', () => {
  const s = dhcpSettingsFromSite({
    interface: 'prov0', address: '10.20.0.1', http_port: 8080,
    dhcp: { mode: 'full', subnet: '10.20.0.0/24', router: '10.20.0.1', dns: ['10.20.0.1'], pool: '10.20.0.100-10.20.0.199', lease_time: 3600,
      relayed: [{ subnet: '10.30.0.0/24', router: '10.30.0.1', pool: '10.30.0.100-10.30.0.199' }] },
    discovery: false, boot_files: { '11': 'grubnetaa64.efi' },
  });
  assert.equal(s.mode, 'full');
  assert.equal(s.subnet?.mask, '255.255.255.0');
  assert.equal(s.relayed[0]?.router, '10.30.0.1');
  assert.deepEqual(s.bootFiles, { 11: 'grubnetaa64.efi' });
  assert.equal(s.offerHold, 60);
  const proxy = dhcpSettingsFromSite({ interface: 'prov0', address: '10.20.0.1', dhcp: { mode: 'proxy' } });
  assert.equal(proxy.subnet, undefined);
  assert.equal(proxy.httpPort, 8080);
  assert.equal(proxy.leaseTime, 3600);
});

test('every problem is reported at once', () => {
  try {
    dhcpSettingsFromSite({
      address: '10.20.0.300', http_port: 0,
      dhcp: { mode: 'relay', subnet: '10.20.0.1/24', lease_time: 5, relayed: [{ subnet: '10.30.0.0/24', pool: '10.31.0.1-10.31.0.9', router: '10.40.0.1' }] },
      boot_files: { x86: 'a.efi', '7': '' },
    });
    assert.fail('accepted');
  } catch (err) {
    assert.ok(err instanceof DhcpSettingsError);
    assert.deepEqual(err.problems, [
      'site.dhcp.mode: "relay" is not full or proxy',
      'site.interface: missing',
      'site.address: "10.20.0.300" is not an IPv4 address',
      'site.http_port: 0 is not a port',
      'site.dhcp.lease_time: 5 must be a whole number of seconds, at least 60',
      'site.dhcp.subnet: "10.20.0.1/24" is not a subnet like 10.20.0.0/24',
      'site.dhcp.relayed[0].pool: 10.31.0.1-10.31.0.9 is not inside 10.30.0.0/24',
      'site.dhcp.relayed[0].router: 10.40.0.1 is not an address in 10.30.0.0/24',
      'site.boot_files.7: must be a file name or URL of 1..127 characters',
      'site.boot_files: key "x86" is not a client arch number (RFC 4578)',
    ]);
  }
});

test('the inventory schema\'s Site is accepted as it is', () => {
  // A compile-time check: serve.ts passes loaded.inventory.site straight in.
  const accepts: (s: Site) => unknown = dhcpSettingsFromSite;
  assert.equal(typeof accepts, 'function');
});
