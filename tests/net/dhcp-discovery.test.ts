// site.discovery on: an unknown PXE client gets a pool address and a loader, and is enrolled in the
// SQLite store as a discovered machine with its boot facts; an unknown non-PXE client gets nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { twoHostLink } from '../lib/netns.js';
import { openSqliteStore } from '../../daemon/core/store/sqlite.js';
import { SITE, startServer } from '../lib/dhcp-server.js';
import { setMac, udhcpc } from '../lib/dhcp-clients.js';
import { removableTempDir } from '../lib/tmp.js';

test('discovery enrols an unknown PXE client and boots it', async () => {
  const tmp = removableTempDir('disc');
  const link = await twoHostLink({ tag: 'dhcpd', serverIf: 'prov0', serverAddress: '10.20.0.1' });
  try {
    const server = await startServer(link.server, tmp.dir, { site: { ...SITE, discovery: true }, machines: [] });
    try {
      await setMac(link.client, 'eth0', '52:54:00:d1:5c:01');
      const lease = await udhcpc(link.client, tmp.dir, { vendor: 'PXEClient:Arch:00007:UNDI:003000', arch: 7 });
      assert.ok(lease, server.stderr().slice(-1000));
      assert.equal(lease.boot_file, 'ipxe.efi');
      assert.match(lease.ip ?? '', /^10\.20\.0\.1\d\d$/);
      await setMac(link.client, 'eth0', '52:54:00:d1:5c:02');
      assert.equal(await udhcpc(link.client, tmp.dir, { tries: 2 }), undefined, 'a stranger that is not PXE is not answered');
    } finally {
      await server.stop();
    }
    const store = await openSqliteStore(`${tmp.dir}/rackhand.db`);
    try {
      const m = await store.machineByMac('52:54:00:d1:5c:01');
      assert.equal(m?.name, 'discovered-525400d15c01');
      assert.equal(m?.source, 'discovered');
      assert.equal(m?.accepted, false, 'not allocatable until an operator accepts it');
      assert.equal(m?.bootFacts?.arch, 7);
      assert.equal(m?.bootFacts?.vendorClass, 'PXEClient:Arch:00007:UNDI:003000');
      assert.equal(m?.bootFacts?.interface, 'prov0');
      assert.equal(await store.machineByMac('52:54:00:d1:5c:02'), undefined);
    } finally {
      await store.close();
    }
  } finally {
    await link.close();
    tmp.remove();
  }
});
