// Proxy mode beside a real dnsmasq that assigns addresses, three namespaces on one bridge: the PXE
// client ends with dnsmasq's address and Rackhand's boot file (ProxyDHCP offer on 67, boot service
// ACK on 4011). Rackhand never offers an address.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Netns } from '../lib/netns.js';
import { SITE, startServer } from '../lib/dhcp-server.js';
import { removableTempDir } from '../lib/tmp.js';

const CLIENT = join(import.meta.dirname, 'dhcp-pxe-client.ts');
const MAC = '52:54:00:00:07:07';

test('proxy mode: dnsmasq gives the address, Rackhand the boot file', async () => {
  const tmp = removableTempDir('proxy');
  const srv = await Netns.create('dpxs');
  const peer = await Netns.create('dpxp');
  const cli = await Netns.create('dpxc');
  try {
    await srv.ip('link', 'add', 'prov0', 'type', 'bridge');
    await srv.ip('addr', 'add', '10.20.0.1/24', 'dev', 'prov0');
    await srv.ip('link', 'set', 'prov0', 'up');
    for (const [end, ns] of [['vpeer', peer], ['vcli', cli]] as const) {
      await srv.ip('link', 'add', end, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.name);
      await srv.ip('link', 'set', end, 'master', 'prov0');
      await srv.ip('link', 'set', end, 'up');
    }
    await peer.ip('addr', 'add', '10.20.0.2/24', 'dev', 'eth0');
    await peer.ip('link', 'set', 'eth0', 'up');
    await cli.ip('link', 'set', 'eth0', 'address', MAC);
    await cli.ip('link', 'set', 'eth0', 'up');

    const dnsmasq = peer.spawn('dnsmasq', ['--no-daemon', '--port=0', '--conf-file=/dev/null', '--interface=eth0', '--bind-interfaces',
      '--dhcp-range=10.20.0.50,10.20.0.60,255.255.255.0,1h', `--dhcp-leasefile=${tmp.dir}/dnsmasq.leases`, `--pid-file=${tmp.dir}/dnsmasq.pid`,
      '--no-ping', '--log-dhcp']);
    let dnsmasqLog = '';
    dnsmasq.stderr!.on('data', (d: Buffer) => { dnsmasqLog += d.toString(); });
    const server = await startServer(srv, tmp.dir, {
      site: { ...SITE, dhcp: { mode: 'proxy' } }, machines: [{ name: 'node-07', mac: MAC }],
    });
    try {
      await new Promise((r) => setTimeout(r, 300));
      const out = await cli.exec(process.execPath, ['--import', 'tsx', CLIENT, 'eth0', MAC, '7']);
      const r = JSON.parse(out.trim().split('\n').pop()!) as Record<string, unknown>;
      assert.equal(r.error, undefined, `${JSON.stringify(r)}\ndnsmasq: ${dnsmasqLog.slice(-1500)}\nrackhand: ${server.stderr().slice(-1500)}`);
      assert.equal(r.addressServer, '10.20.0.2');
      assert.match(String(r.ip), /^10\.20\.0\.(5\d|60)$/);
      assert.equal(r.proxyServer, '10.20.0.1');
      assert.equal(r.proxyOfferFile, 'ipxe.efi');
      assert.deepEqual(r.proxyOfferOption43, [6, 1, 8, 255]);
      assert.equal(r.bootFile, 'ipxe.efi');
      assert.equal(r.bootNextServer, '10.20.0.1');
      const m = await server.metrics();
      assert.equal(m['rackhand_dhcp_replies_total{type=OFFER}'], 1);
      assert.equal(m['rackhand_dhcp_replies_total{type=ACK}'], 1, 'one ACK, from port 4011');
    } finally {
      await server.stop();
      if (dnsmasq.pid && dnsmasq.exitCode === null) process.kill(dnsmasq.pid, 'SIGTERM');
    }
  } finally {
    await cli.delete();
    await peer.delete();
    await srv.delete();
    tmp.remove();
  }
});
