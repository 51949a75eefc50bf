// kill -9 of the server in the middle of a perfdhcp run, plus a client that records every ACK it
// gets: after the kill, every ACKed lease is in the SQLite file, and a restarted server keeps it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { twoHostLink } from '../lib/netns.js';
import { openSqliteStore } from '../../daemon/core/store/sqlite.js';
import { startServer } from '../lib/dhcp-server.js';
import { udhcpc } from '../lib/dhcp-clients.js';
import { removableTempDir } from '../lib/tmp.js';
import { perfdhcp, perfdhcpMacs } from '../lib/perfdhcp.js';

const LOADER = join(import.meta.dirname, 'dhcp-load-client.ts');
const LOAD_CLIENTS = 3000;
const loadMac = (n: number) => `02:00:00:00:${((n >> 8) & 255).toString(16).padStart(2, '0')}:${(n & 255).toString(16).padStart(2, '0')}`;
const SITE = {
  interface: 'prov0', address: '10.20.0.1', http_port: 8080,
  dhcp: { mode: 'full', subnet: '10.20.0.0/16', router: '10.20.0.1', pool: '10.20.1.0-10.20.255.254', lease_time: 3600 },
};

test('kill -9 during a perfdhcp run loses no ACKed lease', async () => {
  const tmp = removableTempDir('crash');
  const link = await twoHostLink({ tag: 'dhcpk', serverIf: 'prov0', serverAddress: '10.20.0.1', prefixLength: 16, clientAddress: '10.20.0.2', clientMac: '52:54:00:00:0c:01' });
  try {
    await link.client.ip('addr', 'add', '10.20.0.3/16', 'dev', 'eth0');
    const machines = [
      ...perfdhcpMacs(2000).map((mac, i) => ({ name: `perf-${i}`, mac })),
      ...Array.from({ length: LOAD_CLIENTS }, (_, i) => ({ name: `load-${i}`, mac: loadMac(i) })),
      { name: 'after', mac: '52:54:00:00:0c:01', ip: '10.20.0.50' },
    ];
    const config = { site: SITE, machines };
    const server = await startServer(link.server, tmp.dir, config);

    // The recording client, then perfdhcp for load; kill -9 the server two seconds in.
    const loader = link.client.spawn(process.execPath, ['--import', 'tsx', LOADER, '10.20.0.1', '10.20.0.3', String(LOAD_CLIENTS), '800']);
    const acked = new Map<string, string>();
    let ackLines = 0;
    let loaderErr = '';
    loader.stderr!.on('data', (d: Buffer) => { loaderErr += d.toString(); });
    const lines = createInterface({ input: loader.stdout! });
    let started!: () => void;
    const isStarted = new Promise<void>((r) => { started = r; });
    lines.on('line', (l) => {
      const [kind, mac, ip] = l.split(' ');
      if (kind === 'ACK') { acked.set(mac!, ip!); ackLines++; }
      if (kind === 'started') started();
    });
    await isStarted;
    const run = perfdhcp(link.client, { local: '10.20.0.2', server: '10.20.0.1', clients: 2000, rate: 2000, seconds: 6 });
    // Kill in full flow: both clients busy, well before perfdhcp ends.
    const t0 = Date.now();
    while ((Date.now() - t0 < 1500 || ackLines < 300) && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 50));
    process.kill(server.pid, 'SIGKILL');
    await new Promise((r) => server.child.once('exit', r));
    const perf = await run;
    await new Promise((r) => setTimeout(r, 200));
    if (loader.pid) process.kill(loader.pid, 'SIGTERM');
    assert.ok(perf.acksReceived > 100, `perfdhcp saw only ${perf.acksReceived} ACKs before the kill`);
    assert.ok(ackLines > 100, `the recorder saw only ${ackLines} ACKs; ${loaderErr.slice(-1500)}`);

    const store = await openSqliteStore(join(tmp.dir, 'rackhand.db'));
    let perfLeases = 0;
    try {
      const leases = new Map((await store.listLeases()).map((l) => [l.mac, l]));
      const missing = [...acked].filter(([mac, ip]) => leases.get(mac)?.ip !== ip || leases.get(mac)?.state !== 'bound');
      assert.deepEqual(missing, [], `${missing.length} of ${acked.size} ACKed leases are not in the file`);
      const perfMacs = new Set(perfdhcpMacs(2000));
      perfLeases = [...leases.keys()].filter((m) => perfMacs.has(m)).length;
    } finally {
      await store.close();
    }
    // perfdhcp's ACKs name no MAC (the recorder's do): its leases are only checked to be there.
    assert.ok(perfLeases > 0, 'no perfdhcp lease in the file');

    // Restarted on the same file, the server answers again, and keeps the recorded leases.
    const again = await startServer(link.server, tmp.dir, config);
    try {
      const lease = await udhcpc(link.client, tmp.dir, { vendor: 'PXEClient:Arch:00000:UNDI:002001', arch: 0 });
      assert.equal(lease?.ip, '10.20.0.50');
    } finally {
      await again.stop();
    }
  } finally {
    await link.close();
    tmp.remove();
  }
});
