// perfdhcp acting as a relay agent on another subnet (giaddr 10.30.0.1): the server answers it
// unicast on port 67 from the relayed subnet's pool, and every ACKed lease is in the SQLite file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { twoHostLink } from '../lib/netns.js';
import { openSqliteStore } from '../../daemon/core/store/sqlite.js';
import { inCidr, parseCidr, parseIPv4 } from '../../daemon/core/net.js';
import { SITE, startServer } from '../lib/dhcp-server.js';
import { removableTempDir } from '../lib/tmp.js';
import { perfdhcp, perfdhcpMacs } from '../lib/perfdhcp.js';

test('perfdhcp as a relay gets every answer at the relay address', async () => {
  const tmp = removableTempDir('relay');
  const link = await twoHostLink({ tag: 'dhcpr', serverIf: 'prov0', serverAddress: '10.20.0.1', clientAddress: '10.20.0.2' });
  try {
    // The relay sits on 10.30.0.0/24 and reaches the server over the provisioning link.
    await link.client.ip('addr', 'add', '10.30.0.1/24', 'dev', 'eth0');
    await link.server.ip('route', 'add', '10.30.0.0/24', 'via', '10.20.0.2', 'dev', 'prov0');
    const site = { ...SITE, dhcp: { ...SITE.dhcp, relayed: [{ subnet: '10.30.0.0/24', router: '10.30.0.1', pool: '10.30.0.100-10.30.0.250' }] } };
    const machines = perfdhcpMacs(100).map((mac, i) => ({ name: `perf-${i}`, mac }));
    const server = await startServer(link.server, tmp.dir, { site, machines });
    try {
      const r = await perfdhcp(link.client, { local: '10.30.0.1', server: '10.20.0.1', clients: 100, rate: 100, seconds: 3 });
      assert.equal(r.exitCode, 0, r.output);
      assert.ok(r.discoverSent >= 250, r.output);
      assert.equal(r.offersReceived, r.discoverSent, r.output);
      assert.equal(r.acksReceived, r.requestSent, r.output);
      const m = await server.metrics();
      assert.equal(m['rackhand_dhcp_replies_total{type=ACK}'], r.acksReceived);
    } finally {
      await server.stop();
    }
    const store = await openSqliteStore(`${tmp.dir}/rackhand.db`);
    try {
      const leases = await store.listLeases();
      const relayed = parseCidr('10.30.0.0/24')!;
      assert.ok(leases.length > 0 && leases.length <= 100, `${leases.length} leases`);
      for (const l of leases) assert.ok(inCidr(parseIPv4(l.ip)!, relayed), `${l.mac} got ${l.ip}`);
      assert.equal(new Set(leases.map((l) => l.ip)).size, leases.length, 'two clients share an address');
    } finally {
      await store.close();
    }
  } finally {
    await link.close();
    tmp.remove();
  }
});
